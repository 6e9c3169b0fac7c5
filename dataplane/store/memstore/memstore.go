// Package memstore is an in-memory store.Store for fast broker tests. It keeps
// the same offset, notification and lookup semantics as the file store but
// nothing survives Close. May import: store.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
)

// Config tunes a Store. The zero value is usable.
type Config struct {
	// Now stamps StoreTime; tests inject a fake clock so OffsetForTime is
	// deterministic. Nil means time.Now.
	Now func() time.Time
	// MaxMessageBytes refuses bodies larger than this with store.ErrTooLarge;
	// 0 means no limit.
	MaxMessageBytes int
}

// recordOverhead approximates the fixed part of a commit-log record so that
// CommitLogOffset and StoreSize look like the file store's (monotonic,
// size-proportional) without depending on its format.
const recordOverhead = 96

type queueKey struct {
	topic string
	id    int32
}

// queue is one consume queue: entries[i] has queue offset min+i.
type queue struct {
	min     int64
	entries []*store.Message
}

func (q *queue) max() int64 { return q.min + int64(len(q.entries)) }

// Store is an in-memory store.Store. All methods are safe for concurrent use.
type Store struct {
	cfg Config

	mu       sync.RWMutex
	closed   bool
	queues   map[queueKey]*queue
	byCL     map[int64]*store.Message // commit-log offset → record
	byID     map[string][]int64       // message id → commit-log offsets, oldest first
	byKey    map[string][]int64       // topic\x00key → commit-log offsets, oldest first
	nextCL   int64
	minCL    int64
	lastTime time.Time
	notify   map[queueKey]chan struct{}
	deleted  int64 // records removed by Trim
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New(cfg Config) *Store {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{
		cfg:    cfg,
		queues: make(map[queueKey]*queue),
		byCL:   make(map[int64]*store.Message),
		byID:   make(map[string][]int64),
		byKey:  make(map[string][]int64),
		notify: make(map[queueKey]chan struct{}),
	}
}

func recordSize(m *store.Message) int32 {
	n := recordOverhead + len(m.Topic) + len(m.MessageID) + len(m.Tag) + len(m.Group) +
		len(m.BornHost) + len(m.OriginTopic) + len(m.OriginMessageID) + len(m.Body)
	for _, k := range m.Keys {
		n += len(k) + 1
	}
	for k, v := range m.Properties {
		n += len(k) + len(v) + 2
	}
	return int32(n)
}

// clone deep-copies a message so neither the caller nor the store can see
// later changes made by the other.
func clone(m *store.Message) *store.Message {
	c := *m
	c.Keys = slices.Clone(m.Keys)
	if m.Properties != nil {
		c.Properties = make(map[string]string, len(m.Properties))
		for k, v := range m.Properties {
			c.Properties[k] = v
		}
	}
	c.Body = slices.Clone(m.Body)
	return &c
}

// Append stores msgs atomically: either all are stored or none.
func (s *Store) Append(ctx context.Context, msgs []*store.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, m := range msgs {
		switch {
		case m == nil:
			return fmt.Errorf("append: message %d is nil: %w", i, store.ErrInvalidMessage)
		case m.Topic == "":
			return fmt.Errorf("append: message %d has no topic: %w", i, store.ErrInvalidMessage)
		case m.QueueID < 0:
			return fmt.Errorf("append: message %d has queue id %d: %w", i, m.QueueID, store.ErrInvalidMessage)
		case s.cfg.MaxMessageBytes > 0 && len(m.Body) > s.cfg.MaxMessageBytes:
			return fmt.Errorf("append: message %d body of %d bytes: %w", i, len(m.Body), store.ErrTooLarge)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	// Store times never go backwards, even with an injected clock, so
	// OffsetForTime can binary-search a queue.
	now := s.cfg.Now()
	if now.Before(s.lastTime) {
		now = s.lastTime
	}
	s.lastTime = now
	touched := make(map[queueKey]struct{})
	for _, m := range msgs {
		k := queueKey{m.Topic, m.QueueID}
		q := s.queues[k]
		if q == nil {
			q = &queue{}
			s.queues[k] = q
		}
		m.QueueOffset = q.max()
		m.CommitLogOffset = s.nextCL
		m.StoreTime = now
		m.StoreSize = recordSize(m)
		s.nextCL += int64(m.StoreSize)
		c := clone(m)
		q.entries = append(q.entries, c)
		s.byCL[c.CommitLogOffset] = c
		if c.MessageID != "" {
			s.byID[c.MessageID] = append(s.byID[c.MessageID], c.CommitLogOffset)
		}
		for _, key := range c.Keys {
			ik := c.Topic + "\x00" + key
			s.byKey[ik] = append(s.byKey[ik], c.CommitLogOffset)
		}
		touched[k] = struct{}{}
	}
	for k := range touched {
		if ch, ok := s.notify[k]; ok {
			close(ch)
			delete(s.notify, k)
		}
	}
	return nil
}

// Read returns copies of up to max messages of one queue from offset.
func (s *Store) Read(ctx context.Context, topic string, queueID int32, offset int64, max int, maxBytes int) ([]*store.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	q := s.queues[queueKey{topic, queueID}]
	if q == nil {
		if offset < 0 {
			return nil, fmt.Errorf("read %s/%d at %d: %w", topic, queueID, offset, store.ErrOffsetRange)
		}
		return nil, nil
	}
	if offset < q.min {
		return nil, fmt.Errorf("read %s/%d at %d (min %d): %w", topic, queueID, offset, q.min, store.ErrOffsetRange)
	}
	var out []*store.Message
	bytes := 0
	for o := offset; o < q.max() && len(out) < max; o++ {
		m := q.entries[o-q.min]
		if len(out) > 0 && bytes+len(m.Body) > maxBytes {
			break
		}
		bytes += len(m.Body)
		out = append(out, clone(m))
	}
	return out, nil
}

// Range reports the offsets a queue holds.
func (s *Store) Range(topic string, queueID int32) store.QueueRange {
	s.mu.RLock()
	defer s.mu.RUnlock()
	q := s.queues[queueKey{topic, queueID}]
	if q == nil {
		return store.QueueRange{}
	}
	return store.QueueRange{Min: q.min, Max: q.max()}
}

// Get reads one message by its commit-log offset.
func (s *Store) Get(ctx context.Context, commitLogOffset int64) (*store.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	m, ok := s.byCL[commitLogOffset]
	if !ok {
		return nil, fmt.Errorf("get commit-log offset %d: %w", commitLogOffset, store.ErrNotFound)
	}
	return clone(m), nil
}

// newestLive returns the offsets still held, newest first, at most max (≤0: all).
func (s *Store) newestLive(offs []int64, max int) []int64 {
	var out []int64
	for i := len(offs) - 1; i >= 0; i-- {
		if _, ok := s.byCL[offs[i]]; !ok {
			continue
		}
		out = append(out, offs[i])
		if max > 0 && len(out) == max {
			break
		}
	}
	return out
}

// LookupID returns commit-log offsets of messages with this id, newest first.
func (s *Store) LookupID(ctx context.Context, messageID string) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	return s.newestLive(s.byID[messageID], 0), nil
}

// LookupKey returns commit-log offsets of topic's messages carrying key, newest first.
func (s *Store) LookupKey(ctx context.Context, topic, key string, max int) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	return s.newestLive(s.byKey[topic+"\x00"+key], max), nil
}

// OffsetForTime returns the first queue offset stored at or after t (Max if none).
func (s *Store) OffsetForTime(ctx context.Context, topic string, queueID int32, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	q := s.queues[queueKey{topic, queueID}]
	if q == nil {
		return 0, nil
	}
	i := sort.Search(len(q.entries), func(i int) bool { return !q.entries[i].StoreTime.Before(t) })
	return q.min + int64(i), nil
}

// Notify returns a channel closed at the next append to the queue (or at Close).
func (s *Store) Notify(topic string, queueID int32) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	k := queueKey{topic, queueID}
	ch, ok := s.notify[k]
	if !ok {
		ch = make(chan struct{})
		s.notify[k] = ch
	}
	return ch
}

// DeleteQueues forgets a topic's consume queues; Get still finds the records.
func (s *Store) DeleteQueues(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	for k := range s.queues {
		if k.topic == topic {
			delete(s.queues, k)
		}
	}
	// Wake waiters so long-pollers on the deleted topic notice at once.
	for k, ch := range s.notify {
		if k.topic == topic {
			close(ch)
			delete(s.notify, k)
		}
	}
	return nil
}

// Trim drops a queue's entries below offset and their records, as retention
// would; tests use it to exercise ErrOffsetRange handling.
func (s *Store) Trim(topic string, queueID int32, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queueKey{topic, queueID}]
	if q == nil || offset <= q.min {
		return
	}
	n := min(offset-q.min, int64(len(q.entries)))
	for _, m := range q.entries[:n] {
		delete(s.byCL, m.CommitLogOffset)
		s.deleted++
	}
	q.entries = slices.Clone(q.entries[n:])
	q.min += n
	s.minCL = s.nextCL
	for cl := range s.byCL {
		s.minCL = min(s.minCL, cl)
	}
}

// Stats reports sizes.
func (s *Store) Stats() store.Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var size int64
	for _, m := range s.byCL {
		size += int64(m.StoreSize)
	}
	return store.Stats{
		CommitLogBytes:  size,
		DiskUsedBytes:   0,
		Segments:        1,
		MinCommitLog:    s.minCL,
		MaxCommitLog:    s.nextCL,
		DeletedSegments: 0,
	}
}

// Close releases waiters; later calls fail with store.ErrClosed. Closing
// twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for k, ch := range s.notify {
		close(ch)
		delete(s.notify, k)
	}
	return nil
}
