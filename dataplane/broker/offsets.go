package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/store"
)

// Offsets reports a group's progress on every queue of every topic it consumed
// (topic "" = all). Naming a topic the group never consumed reports where it
// would start: the oldest retained offsets.
func (b *Broker) Offsets(group, topic string) ([]QueueOffset, error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	if _, ok := b.groups[group]; !ok {
		b.mu.RUnlock()
		return nil, fmt.Errorf("offsets of group %q: %w", group, ErrGroupNotFound)
	}
	var subs []*subscription
	var fresh *topicEntry
	if topic != "" {
		te, ok := b.topics[topic]
		if !ok {
			b.mu.RUnlock()
			return nil, fmt.Errorf("offsets on topic %q: %w", topic, ErrTopicNotFound)
		}
		if s := b.subs[subKey{group, topic}]; s != nil {
			subs = append(subs, s)
		} else {
			fresh = te
		}
	} else {
		for k, s := range b.subs {
			if k.group == group {
				subs = append(subs, s)
			}
		}
	}
	b.mu.RUnlock()

	var out []QueueOffset
	if fresh != nil {
		for id := range fresh.Queues {
			r := b.st.Range(fresh.Name, id)
			out = append(out, QueueOffset{Topic: fresh.Name, QueueID: id, MinOffset: r.Min, MaxOffset: r.Max, ConsumerOffset: r.Min, Lag: r.Max - r.Min})
		}
		return out, nil
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].topic < subs[j].topic })
	for _, s := range subs {
		queues, _ := s.snapshot()
		for _, q := range queues {
			out = append(out, b.queueOffset(s.topic, q))
		}
	}
	return out, nil
}

func (b *Broker) queueOffset(topic string, q *queueState) QueueOffset {
	r := b.st.Range(topic, q.id)
	q.mu.Lock()
	off, inflight := q.offset, len(q.inflight)
	q.mu.Unlock()
	// Below Min the messages are gone (retention): report what the next
	// receive will do, which is to move up to Min.
	off = max(off, r.Min)
	return QueueOffset{
		Topic:          topic,
		QueueID:        q.id,
		MinOffset:      r.Min,
		MaxOffset:      r.Max,
		ConsumerOffset: off,
		Inflight:       inflight,
		Lag:            max(r.Max-off, 0),
	}
}

// ResetOffset moves a group's consumer offset on every queue of topic and
// drops its in-flight deliveries there; their handles stop working. The new
// offsets are persisted before it returns.
func (b *Broker) ResetOffset(ctx context.Context, group, topic string, to ResetTarget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if to.Earliest && to.Latest || !to.Earliest && !to.Latest && to.Time.IsZero() {
		return fmt.Errorf("%w: reset needs exactly one of earliest, latest or a time", ErrInvalidArgument)
	}
	sub, err := b.subscribe(group, topic)
	if err != nil {
		return err
	}
	queues, _ := sub.snapshot()
	targets := make([]int64, len(queues))
	for i, q := range queues {
		t, err := b.resetTarget(ctx, topic, q.id, to)
		if err != nil {
			return err
		}
		targets[i] = t
	}
	for i, q := range queues {
		q.mu.Lock()
		q.reset(targets[i])
		q.mu.Unlock()
	}
	sub.wakeAll()
	b.log.Info("consumer offset reset", "group", group, "topic", topic, "earliest", to.Earliest, "latest", to.Latest, "time", to.Time)
	if err := b.checkpoint(); err != nil {
		return fmt.Errorf("persist reset offsets: %w", err)
	}
	return nil
}

// resetTarget is the offset a reset to `to` moves a queue's consumer offset to.
func (b *Broker) resetTarget(ctx context.Context, topic string, queueID int32, to ResetTarget) (int64, error) {
	r := b.st.Range(topic, queueID)
	switch {
	case to.Earliest:
		return r.Min, nil
	case to.Latest:
		return r.Max, nil
	}
	off, err := b.st.OffsetForTime(ctx, topic, queueID, to.Time)
	if err != nil {
		return 0, fmt.Errorf("find offset of %s/%d at %s: %w", topic, queueID, to.Time, err)
	}
	return max(off, r.Min), nil
}

// ResetPreview is what a reset would do to one queue.
type ResetPreview struct {
	QueueID       int32
	CurrentOffset int64
	NewOffset     int64
}

// PreviewReset computes, per queue of topic, the group's current consumer
// offset and the one ResetOffset with the same target would set, without
// changing anything. Queues are sorted by id.
func (b *Broker) PreviewReset(ctx context.Context, group, topic string, to ResetTarget) ([]ResetPreview, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if to.Earliest && to.Latest || !to.Earliest && !to.Latest && to.Time.IsZero() {
		return nil, fmt.Errorf("%w: reset needs exactly one of earliest, latest or a time", ErrInvalidArgument)
	}
	if topic == "" {
		return nil, fmt.Errorf("%w: a topic is required", ErrInvalidArgument)
	}
	cur, err := b.Offsets(group, topic)
	if err != nil {
		return nil, err
	}
	sort.Slice(cur, func(i, j int) bool { return cur[i].QueueID < cur[j].QueueID })
	out := make([]ResetPreview, len(cur))
	for i, q := range cur {
		t, err := b.resetTarget(ctx, topic, q.QueueID, to)
		if err != nil {
			return nil, err
		}
		out[i] = ResetPreview{QueueID: q.QueueID, CurrentOffset: q.ConsumerOffset, NewOffset: t}
	}
	return out, nil
}

// StoreTimeAt returns the store time of the message at offset of a queue,
// reading one message; store.ErrOffsetRange when nothing is stored there.
func (b *Broker) StoreTimeAt(ctx context.Context, topic string, queueID int32, offset int64) (time.Time, error) {
	msgs, err := b.st.Read(ctx, topic, queueID, offset, 1, 1)
	if err != nil {
		return time.Time{}, err
	}
	if len(msgs) == 0 {
		return time.Time{}, fmt.Errorf("message %s/%d@%d: %w", topic, queueID, offset, store.ErrOffsetRange)
	}
	return msgs[0].StoreTime, nil
}

// TopicRange is one queue's retained offsets.
type TopicRange struct {
	QueueID int32
	Min     int64 // oldest retained offset
	Max     int64 // next offset to be written
}

// TopicRanges reports the retained offset range of every queue of topic,
// sorted by queue id.
func (b *Broker) TopicRanges(topic string) ([]TopicRange, error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	te, ok := b.topics[topic]
	b.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("ranges of topic %q: %w", topic, ErrTopicNotFound)
	}
	out := make([]TopicRange, 0, te.Queues)
	for id := range te.Queues {
		r := b.st.Range(te.Name, id)
		out = append(out, TopicRange{QueueID: id, Min: r.Min, Max: r.Max})
	}
	return out, nil
}

// checkpoint writes every consumer offset that changed since the last
// checkpoint to meta.db in one transaction.
func (b *Broker) checkpoint() error {
	b.ckMu.Lock()
	defer b.ckMu.Unlock()
	if b.dbClosed {
		return nil
	}
	b.mu.RLock()
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.RUnlock()

	type rec struct {
		q   *queueState
		key []byte
		off int64
	}
	var recs []rec
	mins := make(map[topicQueue]int64)
	for _, s := range subs {
		queues, _ := s.snapshot()
		for _, q := range queues {
			q.mu.Lock()
			if q.offset != q.persisted {
				recs = append(recs, rec{q, offsetKey(s.group, s.topic, q.id), q.offset})
			}
			k := topicQueue{s.topic, q.id}
			if m, ok := mins[k]; !ok || q.offset < m {
				mins[k] = q.offset
			}
			q.mu.Unlock()
		}
	}
	b.minConsumed.Store(&mins)
	if len(recs) == 0 {
		return nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bkt := tx.Bucket(bucketOffsets)
		for _, r := range recs {
			if err := bkt.Put(r.key, binary.BigEndian.AppendUint64(nil, uint64(r.off))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %d consumer offsets: %w", len(recs), err)
	}
	for _, r := range recs {
		r.q.mu.Lock()
		r.q.persisted = r.off
		r.q.mu.Unlock()
	}
	return nil
}

type topicQueue struct {
	topic string
	queue int32
}

// MinConsumed returns the lowest consumer offset any group has on a queue
// (math.MaxInt64 when no group consumes it), as of the last checkpoint. It
// reads a snapshot without taking broker locks, so the store may call it
// while holding its own (retention uses it to count deletions of messages a
// group had not consumed yet).
func (b *Broker) MinConsumed(topic string, queueID int32) int64 {
	if m := b.minConsumed.Load(); m != nil {
		if off, ok := (*m)[topicQueue{topic, queueID}]; ok {
			return off
		}
	}
	return math.MaxInt64
}
