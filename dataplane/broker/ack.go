package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// target resolves a receipt handle to its queue state. The group and topic
// must exist; a handle that cannot belong to them is ErrInvalidHandle.
func (b *Broker) target(group, topic, handle string) (*subscription, *queueState, int64, uint64, error) {
	qid, off, gen, err := parseHandle(handle)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	b.mu.RLock()
	closed := b.closed
	_, gok := b.groups[group]
	_, tok := b.topics[topic]
	sub := b.subs[subKey{group, topic}]
	b.mu.RUnlock()
	switch {
	case closed:
		return nil, nil, 0, 0, ErrClosed
	case !gok:
		return nil, nil, 0, 0, fmt.Errorf("group %q: %w", group, ErrGroupNotFound)
	case !tok:
		return nil, nil, 0, 0, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
	case sub == nil:
		return nil, nil, 0, 0, fmt.Errorf("%w: group %q has no deliveries from %q", ErrInvalidHandle, group, topic)
	}
	q := sub.queue(qid)
	if q == nil {
		return nil, nil, 0, 0, fmt.Errorf("%w: no queue %d", ErrInvalidHandle, qid)
	}
	return sub, q, off, gen, nil
}

// current returns the in-flight record a handle names, or an error saying
// why the handle is stale. Callers hold q.mu.
func current(q *queueState, off int64, gen uint64, messageID string) (*delivery, error) {
	d := q.inflight[off]
	switch {
	case d == nil:
		return nil, fmt.Errorf("%w: offset %d is not in flight", ErrInvalidHandle, off)
	case d.gen != gen:
		return nil, fmt.Errorf("%w: offset %d was redelivered since", ErrInvalidHandle, off)
	case d.forwarding:
		return nil, fmt.Errorf("%w: offset %d is being dead-lettered", ErrInvalidHandle, off)
	case messageID != "" && d.msgID != messageID:
		return nil, fmt.Errorf("%w: handle is for another message", ErrInvalidHandle)
	}
	return d, nil
}

// Ack completes a delivery. A stale or unknown handle is ErrInvalidHandle.
func (b *Broker) Ack(ctx context.Context, group, topic, messageID, handle string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sub, q, off, gen, err := b.target(group, topic, handle)
	if err != nil {
		return err
	}
	q.mu.Lock()
	d, err := current(q, off, gen, messageID)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	attempt, msgID := d.attempt, d.msgID
	readied := q.markDone(off)
	q.mu.Unlock()
	if readied {
		// The next message of an orderly message group is ready: receivers
		// long-polling behind it must look again.
		sub.wakeAll()
	}
	b.metrics.acked(group, topic)
	if b.cfg.Tracer != nil {
		b.trace(trace.Event{
			Kind: trace.KindAck, MessageID: msgID, Topic: topic, Group: group,
			ClientID: CallerFrom(ctx).ClientID, Attempt: attempt, QueueID: q.id, QueueOffset: off,
		})
	}
	return nil
}

// ChangeInvisible makes a delivered message visible again after d and
// returns the delivery's new handle (the old one stops working). It also
// ends auto-renewal: this is how push consumers nack.
func (b *Broker) ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if d < 0 {
		return "", fmt.Errorf("%w: invisible duration %s is negative", ErrInvalidArgument, d)
	}
	sub, q, off, gen, err := b.target(group, topic, handle)
	if err != nil {
		return "", err
	}
	q.mu.Lock()
	rec, err := current(q, off, gen, messageID)
	if err != nil {
		q.mu.Unlock()
		return "", err
	}
	rec.gen = b.newGen()
	rec.autoRenew = false
	rec.nacked = true
	until := b.now().Add(d)
	q.schedule(rec, until)
	newHandle := encodeHandle(q.id, off, rec.gen)
	attempt, msgID := rec.attempt, rec.msgID
	q.mu.Unlock()
	// The message may now be ready sooner than long-pollers planned for.
	sub.wakeAll()
	if b.cfg.Tracer != nil {
		b.trace(trace.Event{
			Kind: trace.KindNack, MessageID: msgID, Topic: topic, Group: group,
			ClientID: CallerFrom(ctx).ClientID, Attempt: attempt, InvisibleUntil: until,
			QueueID: q.id, QueueOffset: off,
		})
	}
	return newHandle, nil
}

// ForwardToDLQ moves a delivered message to %DLQ%<group> and acks it; an
// orderly message group moves on to its next message. Idempotent: a handle
// whose message is already done (acked, forwarded, filtered) is accepted
// again.
func (b *Broker) ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sub, q, off, gen, err := b.target(group, topic, handle)
	if err != nil {
		return err
	}
	q.mu.Lock()
	if q.isDone(off) {
		q.mu.Unlock()
		return nil
	}
	if rec := q.inflight[off]; rec != nil && rec.gen == gen && rec.forwarding {
		q.mu.Unlock()
		return nil // a concurrent forward of the same delivery is under way
	}
	rec, err := current(q, off, gen, messageID)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	rec.forwarding = true
	q.unschedule(rec)
	attempts, msgID := rec.attempt, rec.msgID
	q.mu.Unlock()

	// Outside the queue lock: the read may touch disk and appendDLQ may
	// create the DLQ topic under Broker.mu.
	msgs, err := b.st.Read(ctx, topic, q.id, off, 1, 1)
	gone := errors.Is(err, store.ErrOffsetRange) || (err == nil && (len(msgs) == 0 || msgs[0].QueueOffset != off))
	if err == nil && !gone {
		err = b.appendDLQ(ctx, group, msgs[0], attempts)
	}
	if err == nil && !gone && b.cfg.Tracer != nil {
		b.trace(trace.Event{
			Kind: trace.KindDLQ, MessageID: msgID, Topic: topic, Group: group,
			ClientID: CallerFrom(ctx).ClientID, Attempt: attempts, Detail: DLQTopic(group),
			QueueID: q.id, QueueOffset: off,
		})
	}
	q.mu.Lock()
	if q.inflight[off] != rec || !rec.forwarding {
		q.mu.Unlock()
		return err // reset or deleted meanwhile; nothing to settle
	}
	rec.forwarding = false
	if gone || err == nil {
		readied := q.markDone(off)
		q.mu.Unlock()
		if readied {
			sub.wakeAll()
		}
		return nil
	}
	q.schedule(rec, rec.deadline) // keep the delivery as it was; the client retries
	q.mu.Unlock()
	return fmt.Errorf("forward %s/%d@%d to DLQ: %w", topic, q.id, off, err)
}

// ClientGone releases the auto-renewed deliveries of a client that terminated
// or went silent: they become visible again after ClientGoneDelay.
func (b *Broker) ClientGone(clientID string) {
	if clientID == "" {
		return
	}
	b.mu.RLock()
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.RUnlock()
	at := b.now().Add(b.cfg.ClientGoneDelay)
	released := 0
	for _, s := range subs {
		queues, _ := s.snapshot()
		n := 0
		for _, q := range queues {
			q.mu.Lock()
			for _, d := range q.inflight {
				if d.autoRenew && d.owner == clientID && !d.forwarding {
					d.autoRenew = false
					q.schedule(d, at)
					n++
				}
			}
			q.mu.Unlock()
		}
		if n > 0 {
			s.wakeAll()
			released += n
		}
	}
	if released > 0 {
		b.log.Debug("released deliveries of departed client", "client_id", clientID, "messages", released)
	}
}
