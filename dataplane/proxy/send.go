package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/peer"

	"github.com/orbitmq/orbit/dataplane/store"
)

// SendMessage stores the request's messages (spec §7.3). Clients send one
// message per request; every message gets its own entry with its own status
// (Node fails a send when any entry status is missing or not OK).
func (s *Server) SendMessage(ctx context.Context, req *v2.SendMessageRequest) (*v2.SendMessageResponse, error) {
	start := time.Now()
	defer func() { s.metrics.sendLatency.Observe(time.Since(start).Seconds()) }()

	clientID := clientIDOf(ctx)
	topic := ""
	if len(req.GetMessages()) > 0 {
		topic = req.GetMessages()[0].GetTopic().GetName()
	}
	entries, err := s.sendMessage(ctx, clientID, req.GetMessages())
	if err != nil {
		// A request-level failure: every entry carries the same status.
		st := statusOf(err)
		logStatus(ctx, s.log, "SendMessage", st, err, slog.String("client_id", clientID), slog.String("topic", topic))
		entries = make([]*v2.SendResultEntry, len(req.GetMessages()))
		for i, m := range req.GetMessages() {
			entries[i] = &v2.SendResultEntry{Status: st, MessageId: m.GetSystemProperties().GetMessageId()}
		}
		return &v2.SendMessageResponse{Status: st, Entries: entries}, nil
	}
	sts := make([]*v2.Status, len(entries))
	for i, e := range entries {
		sts[i] = e.GetStatus()
	}
	return &v2.SendMessageResponse{Status: commonStatus(sts), Entries: entries}, nil
}

func (s *Server) sendMessage(ctx context.Context, clientID string, msgs []*v2.Message) ([]*v2.SendResultEntry, error) {
	if clientID == "" {
		return nil, reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	if len(msgs) == 0 {
		return nil, reject(v2.Code_MESSAGE_CORRUPTED, "no messages")
	}
	now := s.cfg.Now()
	host := peerHost(ctx)
	topic := msgs[0].GetTopic().GetName()
	out := make([]*store.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.GetTopic().GetName() != topic {
			return nil, reject(v2.Code_MESSAGE_CORRUPTED, "messages of one request must share a topic")
		}
		sm, err := s.checkMessage(m, now, host)
		if err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	if err := s.takeSendTokens(topic, len(out)); err != nil {
		return nil, err
	}
	results, err := s.cfg.Broker.Send(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(results) != len(out) {
		return nil, fmt.Errorf("broker returned %d results for %d messages", len(results), len(out))
	}
	s.metrics.messagesIn.Add(float64(len(out)))
	entries := make([]*v2.SendResultEntry, len(results))
	for i, r := range results {
		// transaction_id (TRANSACTION) and recall_handle (scheduled DELAY)
		// are the broker's, opaque to clients (spec §7.3, §9.6).
		entries[i] = &v2.SendResultEntry{
			Status:        okStatus(),
			MessageId:     msgs[i].GetSystemProperties().GetMessageId(),
			Offset:        r.QueueOffset,
			TransactionId: r.TransactionID,
			RecallHandle:  r.RecallHandle,
		}
	}
	return entries, nil
}

// takeSendTokens charges n messages to topic's send cap and to the
// instance's rate, refusing with TOO_MANY_REQUESTS when either has too few
// tokens left; a refusal takes nothing from the other.
func (s *Server) takeSendTokens(topic string, n int) error {
	tb, limit := s.caps.topics.bucket(topic)
	if tb != nil && !tb.take(n) {
		return reject(v2.Code_TOO_MANY_REQUESTS, "topic %s allows %d messages per second; retry later", topic, limit)
	}
	if s.tps != nil && !s.tps.take(n) {
		if tb != nil {
			tb.refund(n)
		}
		return reject(v2.Code_TOO_MANY_REQUESTS, "instance allows %d messages per second (sends plus receives); retry later", s.cfg.MaxTPS)
	}
	return nil
}

// checkMessage validates one client message (spec §7.3) and converts it.
func (s *Server) checkMessage(m *v2.Message, now time.Time, bornHost string) (*store.Message, error) {
	if _, err := checkTopic(m.GetTopic()); err != nil {
		return nil, err
	}
	sp := m.GetSystemProperties()
	if sp.GetMessageId() == "" {
		return nil, reject(v2.Code_ILLEGAL_MESSAGE_ID, "message id is required")
	}
	if len(m.GetBody()) == 0 {
		return nil, reject(v2.Code_MESSAGE_BODY_EMPTY, "message body is empty")
	}
	if len(m.GetBody()) > s.cfg.MaxBodyBytes {
		return nil, reject(v2.Code_MESSAGE_BODY_TOO_LARGE, "message body exceeds %d bytes", s.cfg.MaxBodyBytes)
	}
	if sp.GetBodyEncoding() == v2.Encoding_GZIP {
		// Clients never compress (spec §7.3); storing a compressed body
		// would make it undecodable for Node consumers.
		return nil, reject(v2.Code_BAD_REQUEST, "compressed message bodies are not supported")
	}
	if err := checkMessageProperties(m); err != nil {
		return nil, err
	}
	typ, err := checkMessageType(sp)
	if err != nil {
		return nil, err
	}
	// A delivery time in the past means "deliver now" (spec §9.3). How far
	// ahead one may lie is the broker's Config.MaxDelay, not Apache's 24 h
	// proxy limit: the operator sets it (orbit node --max-delay), and the
	// broker answers ErrIllegalDeliveryTime beyond it.
	if ts := sp.GetDeliveryTimestamp(); ts != nil && !ts.IsValid() {
		return nil, reject(v2.Code_ILLEGAL_DELIVERY_TIME, "delivery timestamp is not a valid time")
	}
	return toStoreMessage(m, typ, now, bornHost), nil
}

// checkMessageType requires the declared type to agree with the fields that
// imply one (Apache derives the type from them; spec §7.3). Disagreement is
// MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, the code clients expect for type
// problems (spec §9).
func checkMessageType(sp *v2.SystemProperties) (store.MessageType, error) {
	typ, ok := toStoreType(sp.GetMessageType())
	if !ok {
		return 0, reject(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, "message type %s is not supported", sp.GetMessageType())
	}
	hasGroup := sp.MessageGroup != nil
	hasDelay := sp.GetDeliveryTimestamp() != nil
	var conflict bool
	switch typ {
	case store.TypeNormal, store.TypeTransaction:
		conflict = hasGroup || hasDelay
	case store.TypeFIFO:
		conflict = !hasGroup || hasDelay
	case store.TypeDelay:
		conflict = hasGroup || !hasDelay
	}
	if conflict || sp.LiteTopic != nil || sp.Priority != nil {
		return 0, reject(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, "message properties conflict with message type %s", sp.GetMessageType())
	}
	return typ, nil
}

// peerHost is the client's IP, the fallback born host.
func peerHost(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return h
	}
	return p.Addr.String()
}
