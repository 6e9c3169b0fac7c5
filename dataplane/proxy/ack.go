package proxy

import (
	"context"
	"log/slog"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/protobuf/types/known/durationpb"
)

// AckMessage completes deliveries (spec §7.6). Stale handles answer
// INVALID_RECEIPT_HANDLE: it is the only non-OK code after which Go push
// consumers stop retrying (spec §0.8).
func (s *Server) AckMessage(ctx context.Context, req *v2.AckMessageRequest) (*v2.AckMessageResponse, error) {
	clientID := clientIDOf(ctx)
	attrs := []any{slog.String("client_id", clientID), slog.String("topic", req.GetTopic().GetName()), slog.String("group", req.GetGroup().GetName())}
	group, topic, err := s.checkConsumerRequest(clientID, req.GetGroup(), req.GetTopic())
	if err == nil && len(req.GetEntries()) == 0 {
		err = reject(v2.Code_BAD_REQUEST, "no entries to acknowledge")
	}
	if err != nil {
		st := statusOf(err)
		logStatus(ctx, s.log, "AckMessage", st, err, attrs...)
		return &v2.AckMessageResponse{Status: st}, nil
	}
	entries := make([]*v2.AckMessageResultEntry, len(req.GetEntries()))
	sts := make([]*v2.Status, len(entries))
	for i, e := range req.GetEntries() {
		var err error
		if e.GetReceiptHandle() == "" {
			err = reject(v2.Code_INVALID_RECEIPT_HANDLE, "receipt handle is required")
		} else {
			err = s.cfg.Broker.Ack(ctx, group, topic, e.GetMessageId(), e.GetReceiptHandle())
		}
		st := statusOf(err)
		logStatus(ctx, s.log, "AckMessage", st, err, attrs...)
		sts[i] = st
		entries[i] = &v2.AckMessageResultEntry{MessageId: e.GetMessageId(), ReceiptHandle: e.GetReceiptHandle(), Status: st}
	}
	return &v2.AckMessageResponse{Status: commonStatus(sts), Entries: entries}, nil
}

// ChangeInvisibleDuration hides a delivered message for a new duration and
// returns its new handle (spec §7.7). On failure it returns the request's
// handle: the Go simple consumer stores whatever comes back.
func (s *Server) ChangeInvisibleDuration(ctx context.Context, req *v2.ChangeInvisibleDurationRequest) (*v2.ChangeInvisibleDurationResponse, error) {
	clientID := clientIDOf(ctx)
	handle, err := s.changeInvisible(ctx, clientID, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "ChangeInvisibleDuration", st, err, slog.String("client_id", clientID),
		slog.String("topic", req.GetTopic().GetName()), slog.String("group", req.GetGroup().GetName()))
	if err != nil {
		handle = req.GetReceiptHandle()
	}
	return &v2.ChangeInvisibleDurationResponse{Status: st, ReceiptHandle: handle}, nil
}

func (s *Server) changeInvisible(ctx context.Context, clientID string, req *v2.ChangeInvisibleDurationRequest) (string, error) {
	group, topic, err := s.checkConsumerRequest(clientID, req.GetGroup(), req.GetTopic())
	if err != nil {
		return "", err
	}
	if req.GetReceiptHandle() == "" {
		return "", reject(v2.Code_INVALID_RECEIPT_HANDLE, "receipt handle is required")
	}
	d, err := s.checkInvisible(req.GetInvisibleDuration())
	if err != nil {
		return "", err
	}
	return s.cfg.Broker.ChangeInvisible(ctx, group, topic, req.GetMessageId(), req.GetReceiptHandle(), d)
}

// checkInvisible validates a ChangeInvisibleDuration duration: 0..12 h
// (Apache checks only the maximum; Go push nacks with backoff delays such as
// 1 s).
func (s *Server) checkInvisible(d *durationpb.Duration) (time.Duration, error) {
	if d == nil || !d.IsValid() || d.AsDuration() < 0 || d.AsDuration() > s.cfg.MaxInvisible {
		return 0, reject(v2.Code_ILLEGAL_INVISIBLE_TIME, "invisible duration must be within [0s, %s]", s.cfg.MaxInvisible)
	}
	return d.AsDuration(), nil
}

// ForwardMessageToDeadLetterQueue moves a delivered message to the group's
// DLQ (spec §7.8). Go retries any non-OK answer forever, so the broker makes
// it idempotent and a stale handle of an already forwarded message is OK.
func (s *Server) ForwardMessageToDeadLetterQueue(ctx context.Context, req *v2.ForwardMessageToDeadLetterQueueRequest) (*v2.ForwardMessageToDeadLetterQueueResponse, error) {
	clientID := clientIDOf(ctx)
	err := s.forwardToDLQ(ctx, clientID, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "ForwardMessageToDeadLetterQueue", st, err, slog.String("client_id", clientID),
		slog.String("topic", req.GetTopic().GetName()), slog.String("group", req.GetGroup().GetName()))
	return &v2.ForwardMessageToDeadLetterQueueResponse{Status: st}, nil
}

func (s *Server) forwardToDLQ(ctx context.Context, clientID string, req *v2.ForwardMessageToDeadLetterQueueRequest) error {
	group, topic, err := s.checkConsumerRequest(clientID, req.GetGroup(), req.GetTopic())
	if err != nil {
		return err
	}
	if req.GetReceiptHandle() == "" {
		return reject(v2.Code_INVALID_RECEIPT_HANDLE, "receipt handle is required")
	}
	return s.cfg.Broker.ForwardToDLQ(ctx, group, topic, req.GetMessageId(), req.GetReceiptHandle())
}

func (s *Server) checkConsumerRequest(clientID string, group, topic *v2.Resource) (string, string, error) {
	if clientID == "" {
		return "", "", reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	g, err := checkGroup(group)
	if err != nil {
		return "", "", err
	}
	t, err := checkReceiveTopic(topic)
	if err != nil {
		return "", "", err
	}
	return g, t, nil
}

// Heartbeat keeps a client alive (spec §7.2); the interceptor already
// recorded the activity. It answers OK whenever possible: the Go client's
// stream-recovery heartbeat is empty and carries no headers at all (spec
// §5.6), and it drops its telemetry stream unless the answer is OK.
func (s *Server) Heartbeat(ctx context.Context, req *v2.HeartbeatRequest) (*v2.HeartbeatResponse, error) {
	return &v2.HeartbeatResponse{Status: okStatus()}, nil
}

// NotifyClientTermination forgets a client and releases its auto-renewed
// deliveries (spec §7.10).
func (s *Server) NotifyClientTermination(ctx context.Context, req *v2.NotifyClientTerminationRequest) (*v2.NotifyClientTerminationResponse, error) {
	clientID := clientIDOf(ctx)
	if clientID == "" {
		st := statusOf(reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required"))
		return &v2.NotifyClientTerminationResponse{Status: st}, nil
	}
	s.clients.remove(clientID)
	s.log.InfoContext(ctx, "client terminated", slog.String("client_id", clientID), slog.String("group", req.GetGroup().GetName()))
	s.cfg.Broker.ClientGone(clientID)
	return &v2.NotifyClientTerminationResponse{Status: okStatus()}, nil
}
