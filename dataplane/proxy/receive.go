package proxy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/broker"
)

const (
	// pollMargin is kept between the end of a long poll and the client's
	// deadline so the answer arrives in time (Apache reserves ~100 ms).
	pollMargin = 200 * time.Millisecond
	// releaseDelay is when undeliverable popped messages become visible again
	// (Apache: 1 s, spec §7.5).
	releaseDelay = time.Second
	// emptyRetryPause keeps an early empty broker answer from turning the
	// long poll into a busy loop.
	emptyRetryPause = 50 * time.Millisecond
)

// pollTime is how long a receive may long-poll (spec §7.5): the request's
// long_polling_timeout, or else the time to the deadline minus half the
// client's request timeout; clamped to [minPoll, maxPoll]; and always
// finishing pollMargin before the client's deadline. A tolerant variant of
// Apache: a deadline shorter than minPoll still polls for what is left
// instead of failing (a Go simple consumer without an await duration has a
// 3 s deadline). Only a deadline that leaves no time at all is
// ILLEGAL_POLLING_TIME.
func pollTime(requested *durationpb.Duration, deadline time.Time, hasDeadline bool, now time.Time, reqTimeout, minPoll, maxPoll time.Duration) (time.Duration, error) {
	remaining := deadline.Sub(now)
	var want time.Duration
	switch {
	case requested != nil:
		want = requested.AsDuration()
	case hasDeadline:
		want = remaining - reqTimeout/2
	default:
		want = maxPoll
	}
	want = min(max(want, minPoll), maxPoll)
	if hasDeadline {
		want = min(want, remaining-pollMargin)
	}
	if want <= 0 {
		return 0, reject(v2.Code_ILLEGAL_POLLING_TIME, "the request deadline leaves no time to poll")
	}
	return want, nil
}

// ReceiveMessage pops messages for a consumer (spec §7.5). The stream is
// {status OK}, one {message} each, {delivery_timestamp}; or
// {status MESSAGE_NOT_FOUND} after the long poll; or {status <error>}; the
// last two also followed by {delivery_timestamp}. Go requires a status item
// and discards messages sent with a non-OK status.
func (s *Server) ReceiveMessage(req *v2.ReceiveMessageRequest, stream grpc.ServerStreamingServer[v2.ReceiveMessageResponse]) error {
	ctx := stream.Context()
	start := time.Now()
	clientID := clientIDOf(ctx)
	group, topic := req.GetGroup().GetName(), req.GetMessageQueue().GetTopic().GetName()
	attrs := []any{slog.String("client_id", clientID), slog.String("topic", topic), slog.String("group", group)}

	ds, err := s.receive(ctx, clientID, req)
	if err != nil {
		if ctx.Err() != nil {
			// The client is gone; nobody reads the answer.
			s.release(ctx, group, topic, ds, attrs)
			s.metrics.recvLatency.WithLabelValues("error").Observe(time.Since(start).Seconds())
			return ctx.Err()
		}
		st := statusOf(err)
		logStatus(ctx, s.log, "ReceiveMessage", st, err, attrs...)
		s.metrics.recvLatency.WithLabelValues("error").Observe(time.Since(start).Seconds())
		return s.sendStatus(stream, st)
	}
	if len(ds) == 0 {
		s.metrics.recvLatency.WithLabelValues("empty").Observe(time.Since(start).Seconds())
		return s.sendStatus(stream, &v2.Status{Code: v2.Code_MESSAGE_NOT_FOUND, Message: "no new message"})
	}
	if err := s.sendDeliveries(ctx, stream, topic, ds); err != nil {
		s.log.DebugContext(ctx, "receive stream broken; releasing messages", append(attrs, slog.Any("err", err))...)
		s.release(ctx, group, topic, ds, attrs)
		s.metrics.recvLatency.WithLabelValues("error").Observe(time.Since(start).Seconds())
		return err
	}
	s.metrics.messagesOut.Add(float64(len(ds)))
	s.metrics.recvLatency.WithLabelValues("found").Observe(time.Since(start).Seconds())
	return nil
}

func (s *Server) sendStatus(stream grpc.ServerStreamingServer[v2.ReceiveMessageResponse], st *v2.Status) error {
	if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: st}}); err != nil {
		return err
	}
	return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_DeliveryTimestamp{
		DeliveryTimestamp: timestamppb.New(s.cfg.Now()),
	}})
}

func (s *Server) sendDeliveries(ctx context.Context, stream grpc.ServerStreamingServer[v2.ReceiveMessageResponse], topic string, ds []broker.Delivery) error {
	if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: okStatus()}}); err != nil {
		return err
	}
	host := s.storeHost(ctx)
	now := s.cfg.Now()
	for _, d := range ds {
		m := toWireMessage(d, topic, host, now)
		if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Message{Message: m}}); err != nil {
			return err
		}
	}
	return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_DeliveryTimestamp{
		DeliveryTimestamp: timestamppb.New(now),
	}})
}

// release makes popped messages that never reached the client visible again
// soon. Without it, auto-renewed deliveries would stay hidden for as long as
// the client lives.
func (s *Server) release(ctx context.Context, group, topic string, ds []broker.Delivery, attrs []any) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, d := range ds {
		if _, err := s.cfg.Broker.ChangeInvisible(ctx, group, topic, d.Message.MessageID, d.ReceiptHandle, releaseDelay); err != nil && !errors.Is(err, broker.ErrInvalidHandle) {
			s.log.WarnContext(ctx, "release undelivered message", append(attrs, slog.Any("err", err))...)
		}
	}
}

// receive validates the request and long-polls the broker. On an error it
// may still return deliveries the caller must release.
func (s *Server) receive(ctx context.Context, clientID string, req *v2.ReceiveMessageRequest) ([]broker.Delivery, error) {
	if clientID == "" {
		return nil, reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	group, err := checkGroup(req.GetGroup())
	if err != nil {
		return nil, err
	}
	topic, err := checkReceiveTopic(req.GetMessageQueue().GetTopic())
	if err != nil {
		return nil, err
	}
	rr := broker.ReceiveRequest{
		Group:       group,
		Topic:       topic,
		QueueID:     -1, // Apache pops by broker, ignoring the queue id (spec §7.5)
		MaxMessages: min(max(int(req.GetBatchSize()), 1), s.cfg.MaxBatch),
		AutoRenew:   req.GetAutoRenew(),
		ClientID:    clientID,
		AttemptID:   req.GetAttemptId(),
	}
	rr.FilterType, rr.Filter, err = filterOf(req.GetFilterExpression())
	if err != nil {
		return nil, err
	}
	if !rr.AutoRenew {
		// With auto_renew the broker's default applies (spec §7.5).
		d := req.GetInvisibleDuration()
		if d == nil || !d.IsValid() || d.AsDuration() < s.cfg.MinInvisible || d.AsDuration() > s.cfg.MaxInvisible {
			return nil, reject(v2.Code_ILLEGAL_INVISIBLE_TIME, "invisible duration must be within [%s, %s]", s.cfg.MinInvisible, s.cfg.MaxInvisible)
		}
		rr.InvisibleDuration = d.AsDuration()
	}
	deadline, hasDeadline := ctx.Deadline()
	poll, err := pollTime(req.LongPollingTimeout, deadline, hasDeadline, time.Now(), s.clients.requestTimeout(clientID), s.cfg.MinPoll, s.cfg.MaxPoll)
	if err != nil {
		return nil, err
	}
	until := time.Now().Add(poll)
	// The instance's rate (Config.MaxTPS) and the group's receive cap.
	var buckets []*tpsBucket
	if s.tps != nil {
		buckets = append(buckets, s.tps)
	}
	if gb, _ := s.caps.groups.bucket(group); gb != nil {
		buckets = append(buckets, gb)
	}
	if len(buckets) == 0 {
		return s.longPoll(ctx, rr, until)
	}
	n, err := s.awaitTokens(ctx, until, buckets)
	if n == 0 {
		return nil, err
	}
	rr.MaxMessages = min(rr.MaxMessages, n)
	ds, err := s.longPoll(ctx, rr, until)
	for _, b := range buckets {
		b.charge(len(ds))
	}
	return ds, err
}

// awaitTokens waits, at most until the poll ends, for every bucket (the
// instance's rate limit, the group's receive cap) to allow at least one
// message, and returns how many they all allow now. A throttled receive is
// answered like an empty one: 0 and nil when the poll ran out or the server
// is stopping.
func (s *Server) awaitTokens(ctx context.Context, until time.Time, buckets []*tpsBucket) (int, error) {
	for {
		n, wait := buckets[0].available()
		for _, b := range buckets[1:] {
			bn, bw := b.available()
			n, wait = min(n, bn), max(wait, bw)
		}
		if n > 0 {
			return n, nil
		}
		left := time.Until(until)
		if left <= 0 {
			return 0, nil
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-s.stopping:
			t.Stop()
			return 0, nil
		}
	}
}

// longPoll asks the broker until it has messages or the poll ends. The broker
// itself waits for new messages; the loop only covers early empty answers.
func (s *Server) longPoll(ctx context.Context, rr broker.ReceiveRequest, until time.Time) ([]broker.Delivery, error) {
	stopCtx, cancel := s.withStop(ctx)
	defer cancel()
	// The broker gets a little longer than the poll so that it answers by
	// itself, but never past the margin before the client's deadline.
	pollCtx, cancelPoll := context.WithDeadline(stopCtx, until.Add(pollMargin/2))
	defer cancelPoll()
	for {
		began := time.Now()
		rr.PollTimeout = max(until.Sub(began), 0)
		ds, err := s.cfg.Broker.Receive(pollCtx, rr)
		switch {
		case len(ds) > 0:
			return ds, nil
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err() // the client is gone
		case err != nil && pollCtx.Err() != nil:
			return nil, nil // the poll ran out, or the server is stopping
		case err != nil:
			return nil, err
		case !time.Now().Before(until):
			return nil, nil
		}
		if time.Since(began) < emptyRetryPause/10 {
			t := time.NewTimer(min(emptyRetryPause, time.Until(until)))
			select {
			case <-t.C:
			case <-pollCtx.Done():
				t.Stop()
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, nil
			}
		}
	}
}

// checkReceiveTopic is checkTopic, but consumers may route and read the
// dead-letter topic of a group, as with Apache.
func checkReceiveTopic(r *v2.Resource) (string, error) {
	if strings.HasPrefix(r.GetName(), "%DLQ%") && validName(r.GetName(), maxTopicLen) {
		return r.GetName(), nil
	}
	return checkTopic(r)
}

// filterOf maps a wire filter; UNSPECIFIED is TAG like Apache (spec §10.4).
func filterOf(f *v2.FilterExpression) (broker.FilterType, string, error) {
	expr := strings.TrimSpace(f.GetExpression())
	switch f.GetType() {
	case v2.FilterType_SQL:
		if expr == "" {
			return "", "", reject(v2.Code_ILLEGAL_FILTER_EXPRESSION, "empty SQL92 filter")
		}
		return broker.FilterSQL, expr, nil
	case v2.FilterType_TAG, v2.FilterType_FILTER_TYPE_UNSPECIFIED:
		if expr == "" {
			expr = "*"
		}
		return broker.FilterTag, expr, nil
	default:
		return "", "", reject(v2.Code_ILLEGAL_FILTER_EXPRESSION, "unknown filter type %s", f.GetType())
	}
}
