package broker

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
)

var storeTypeOf = map[TopicType]store.MessageType{
	TopicNormal:      store.TypeNormal,
	TopicFIFO:        store.TypeFIFO,
	TopicDelay:       store.TypeDelay,
	TopicTransaction: store.TypeTransaction,
}

var typeName = map[store.MessageType]string{
	store.TypeNormal: "NORMAL", store.TypeFIFO: "FIFO", store.TypeDelay: "DELAY", store.TypeTransaction: "TRANSACTION",
}

func messageTypeName(t store.MessageType) string {
	if n, ok := typeName[t]; ok {
		return n
	}
	return fmt.Sprintf("UNSPECIFIED(%d)", t)
}

// Send validates and stores messages of one topic, choosing queues (round
// robin; FIFO messages by a stable hash of their group). The result has one
// entry per message; err is for the whole request (unknown topic, type mismatch...).
//
// Send sets QueueID and the store-assigned fields on msgs. Until the timer
// and transaction services exist, transaction messages and delay messages
// due in the future are refused with ErrUnsupported: delivering a half
// message before its commit, or a delay message early, would be wrong
// silently. A delay message already due is delivered at once, as RocketMQ does.
func (b *Broker) Send(ctx context.Context, msgs []*store.Message) ([]SendResult, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages to send", ErrInvalidArgument)
	}
	topic := ""
	if msgs[0] != nil {
		topic = msgs[0].Topic
	}
	for i, m := range msgs {
		switch {
		case m == nil:
			return nil, fmt.Errorf("%w: message %d is nil", ErrInvalidArgument, i)
		case m.Topic != topic:
			return nil, fmt.Errorf("%w: message %d is for topic %q, not %q: one request carries one topic", ErrInvalidArgument, i, m.Topic, topic)
		case m.MessageID == "":
			return nil, fmt.Errorf("%w: message %d has no message id", ErrInvalidArgument, i)
		case len(m.Body) == 0:
			return nil, fmt.Errorf("%w: message %s: %w", ErrInvalidArgument, m.MessageID, ErrBodyEmpty)
		case len(m.Body) > b.cfg.MaxBodyBytes:
			return nil, fmt.Errorf("%w: message %s body is %d bytes, limit %d: %w", ErrInvalidArgument, m.MessageID, len(m.Body), b.cfg.MaxBodyBytes, ErrBodyTooLarge)
		}
	}
	if strings.HasPrefix(topic, dlqPrefix) || strings.HasPrefix(topic, retryPrefix) {
		return nil, fmt.Errorf("%w: topic %q is written by the broker only", ErrInvalidArgument, topic)
	}

	// Holding the read lock across the append keeps DeleteTopic from running
	// in the middle, which would leave messages in queues it just dropped.
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	te, ok := b.topics[topic]
	if !ok {
		return nil, fmt.Errorf("send to %q: %w", topic, ErrTopicNotFound)
	}
	want := storeTypeOf[te.Type]
	for _, m := range msgs {
		if m.Type != want {
			return nil, fmt.Errorf("send %s message %s to %s topic %q: %w", messageTypeName(m.Type), m.MessageID, te.Type, topic, ErrTypeMismatch)
		}
		if m.Type == store.TypeFIFO && m.Group == "" {
			return nil, fmt.Errorf("%w: FIFO message %s has no message group", ErrInvalidArgument, m.MessageID)
		}
		if m.Type == store.TypeTransaction {
			return nil, fmt.Errorf("%w: transaction messages (message %s)", ErrUnsupported, m.MessageID)
		}
		if m.Type == store.TypeDelay && m.DeliveryTime.After(b.now()) {
			return nil, fmt.Errorf("%w: scheduled delivery (message %s is due at %s)", ErrUnsupported, m.MessageID, m.DeliveryTime.UTC().Format(time.RFC3339))
		}
	}
	n := uint64(te.Queues)
	for _, m := range msgs {
		if m.Type == store.TypeFIFO {
			m.QueueID = int32(uint64(groupHash(m.Group)) % n)
		} else {
			m.QueueID = int32((te.rr.Add(1) - 1) % n)
		}
	}
	if err := b.st.Append(ctx, msgs); err != nil {
		return nil, fmt.Errorf("append %d messages to %q: %w", len(msgs), topic, err)
	}
	out := make([]SendResult, len(msgs))
	var bytes int
	for i, m := range msgs {
		out[i] = SendResult{MessageID: m.MessageID, QueueID: m.QueueID, QueueOffset: m.QueueOffset}
		bytes += len(m.Body)
	}
	b.metrics.sent(topic, len(msgs), bytes)
	return out, nil
}

// groupHash is stable across processes and versions, so a message group
// keeps landing in the same queue after restarts (FIFO order needs that).
func groupHash(group string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(group))
	return h.Sum32()
}

// appendDLQ writes a dead-letter copy of m for group, creating the group's
// DLQ topic on first use. attempts is how many deliveries m had. Callers
// hold no broker lock.
func (b *Broker) appendDLQ(ctx context.Context, group string, m *store.Message, attempts int32) error {
	topic := DLQTopic(group)
	if err := b.ensureDLQTopic(topic); err != nil {
		return err
	}
	origin, originID := m.Topic, m.MessageID
	if m.OriginTopic != "" { // dead-lettering a copy keeps the first origin
		origin, originID = m.OriginTopic, m.OriginMessageID
	}
	c := &store.Message{
		Topic:           topic,
		MessageID:       m.MessageID,
		Type:            store.TypeNormal,
		Tag:             m.Tag,
		Keys:            m.Keys,
		Group:           m.Group,
		Properties:      m.Properties,
		Body:            m.Body,
		BornTime:        m.BornTime,
		BornHost:        m.BornHost,
		DeliveryAttempt: attempts,
		OriginTopic:     origin,
		OriginMessageID: originID,
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	if _, ok := b.topics[topic]; !ok {
		return fmt.Errorf("dead-letter to %q: %w", topic, ErrTopicNotFound) // deleted just now
	}
	if err := b.st.Append(ctx, []*store.Message{c}); err != nil {
		return fmt.Errorf("append to %q: %w", topic, err)
	}
	b.metrics.deadLettered(group, m.Topic)
	b.log.Debug("message dead-lettered", "group", group, "topic", m.Topic, "message_id", m.MessageID, "attempts", attempts)
	return nil
}

func (b *Broker) ensureDLQTopic(topic string) error {
	b.mu.RLock()
	_, ok := b.topics[topic]
	b.mu.RUnlock()
	if ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if _, ok := b.topics[topic]; ok {
		return nil
	}
	_, err := b.createTopicLocked(Topic{Name: topic, Type: TopicNormal, Queues: 1})
	return err
}
