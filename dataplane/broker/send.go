package broker

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
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
// Send sets QueueID and the store-assigned fields on the messages it
// appends. A DELAY message due later than now is scheduled instead (see
// timer.go): it gets a RecallHandle, and QueueID and QueueOffset stay zero
// until it fires; one due at or before now is delivered at once, as
// RocketMQ does, unless it was due more than Config.PastDeliveryTolerance
// ago (or has no delivery time); that and one due beyond Config.MaxDelay are
// refused with ErrIllegalDeliveryTime. A TRANSACTION message is stored as a half message,
// invisible until EndTransaction commits it, and gets a TransactionID.
//
// A request mixing due and scheduled delay messages that fails half way may
// have stored some of them; producers retry, so at-least-once holds.
func (b *Broker) Send(ctx context.Context, msgs []*store.Message) (res []SendResult, err error) {
	start := b.now()
	defer func() { b.traceSend(ctx, msgs, res, err, start) }()
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
	now := b.now()
	var visible, timers, halves []*store.Message
	for _, m := range msgs {
		if m.Type != want {
			return nil, fmt.Errorf("send %s message %s to %s topic %q: %w", messageTypeName(m.Type), m.MessageID, te.Type, topic, ErrTypeMismatch)
		}
		switch {
		case m.Type == store.TypeFIFO && m.Group == "":
			return nil, fmt.Errorf("%w: FIFO message %s has no message group", ErrInvalidArgument, m.MessageID)
		case m.Type == store.TypeTransaction:
			halves = append(halves, m)
		case m.Type == store.TypeDelay && m.DeliveryTime.IsZero():
			return nil, fmt.Errorf("%w: delay message %s has no delivery time", ErrIllegalDeliveryTime, m.MessageID)
		case m.Type == store.TypeDelay && m.DeliveryTime.Before(now.Add(-b.cfg.PastDeliveryTolerance)):
			return nil, fmt.Errorf("%w: message %s was due at %s, more than %s ago (the limit)",
				ErrIllegalDeliveryTime, m.MessageID, m.DeliveryTime.UTC().Format(time.RFC3339), b.cfg.PastDeliveryTolerance)
		case m.Type == store.TypeDelay && m.DeliveryTime.After(now):
			if limit := now.Add(b.cfg.MaxDelay); m.DeliveryTime.After(limit) {
				return nil, fmt.Errorf("%w: message %s is due at %s, more than %s from now (the limit)",
					ErrIllegalDeliveryTime, m.MessageID, m.DeliveryTime.UTC().Format(time.RFC3339), b.cfg.MaxDelay)
			}
			timers = append(timers, m)
		default:
			visible = append(visible, m)
		}
	}
	n := uint64(te.Queues)
	for _, m := range visible {
		if m.Type == store.TypeFIFO {
			m.QueueID = int32(uint64(groupHash(m.Group)) % n)
		} else {
			m.QueueID = int32((te.rr.Add(1) - 1) % n)
		}
	}
	// Parked messages get a queue when they enter their topic; until then
	// StoreTime says when they were accepted.
	for _, ms := range [][]*store.Message{timers, halves} {
		for _, m := range ms {
			m.QueueID, m.QueueOffset, m.CommitLogOffset, m.StoreSize, m.StoreTime = 0, 0, 0, 0, now
		}
	}
	if len(visible) > 0 {
		if err := b.st.Append(ctx, visible); err != nil {
			return nil, fmt.Errorf("append %d messages to %q: %w", len(visible), topic, err)
		}
	}
	var keys []park.TimerKey
	if len(timers) > 0 {
		if keys, err = b.schedule(ctx, timers); err != nil {
			return nil, fmt.Errorf("schedule %d messages of %q: %w", len(timers), topic, err)
		}
	}
	var txns []park.TxnID
	if len(halves) > 0 {
		if txns, err = b.park.Begin(ctx, halves, now, now.Add(b.cfg.TxnCheckDelay)); err != nil {
			return nil, fmt.Errorf("store %d transaction messages of %q: %w", len(halves), topic, err)
		}
	}
	out := make([]SendResult, len(msgs))
	var bytes int
	for i, m := range msgs {
		out[i] = SendResult{MessageID: m.MessageID, QueueID: m.QueueID, QueueOffset: m.QueueOffset}
		switch {
		case len(halves) > 0:
			out[i].TransactionID, txns = txns[0].String(), txns[1:]
		case len(timers) > 0 && m == timers[0]:
			out[i].RecallHandle = encodeRecallHandle(topic, keys[0], m.MessageID)
			timers, keys = timers[1:], keys[1:]
		}
		bytes += len(m.Body)
	}
	b.metrics.sent(topic, len(msgs), bytes)
	return out, nil
}

// traceSend records a SEND event per message (with the error text when the
// request failed) and, for parked ones, TIMER_SCHEDULE or TXN_HALF.
func (b *Broker) traceSend(ctx context.Context, msgs []*store.Message, res []SendResult, err error, start time.Time) {
	if b.cfg.Tracer == nil {
		return
	}
	c := CallerFrom(ctx)
	now := b.now()
	for i, m := range msgs {
		if m == nil {
			continue
		}
		ev := trace.Event{
			Kind: trace.KindSend, Time: now, MessageID: m.MessageID, Topic: m.Topic,
			ClientID: c.ClientID, Host: c.Addr, Cost: now.Sub(start),
		}
		if err != nil || i >= len(res) {
			if err != nil {
				ev.Status = err.Error()
			}
			b.trace(ev)
			continue
		}
		r := res[i]
		ev.QueueID, ev.QueueOffset = r.QueueID, r.QueueOffset
		b.trace(ev)
		switch {
		case r.RecallHandle != "":
			b.trace(trace.Event{
				Kind: trace.KindTimerSchedule, Time: now, MessageID: m.MessageID, Topic: m.Topic,
				ClientID: c.ClientID, Host: c.Addr, DeliverAt: m.DeliveryTime,
			})
		case r.TransactionID != "":
			b.trace(trace.Event{
				Kind: trace.KindTxnHalf, Time: now, MessageID: m.MessageID, Topic: m.Topic,
				ClientID: c.ClientID, Host: c.Addr, Detail: r.TransactionID,
			})
		}
	}
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
