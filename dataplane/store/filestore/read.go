package filestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
)

const (
	// maxReadEntries bounds the entries one Read looks at.
	maxReadEntries = 1024
	// maxRun bounds one commit-log read: adjacent records (typical for a
	// queue written in batches or by itself) come in one pread.
	maxRun = 1 << 20
	// maxLookup bounds the offsets LookupID/LookupKey return.
	maxLookup = 10000
)

// Read returns up to max messages of one queue from offset, at most
// maxBytes of bodies but at least one message if there is one. Reading at or
// above Max returns nothing; below Min returns store.ErrOffsetRange.
func (s *Store) Read(ctx context.Context, topic string, queueID int32, offset int64, max int, maxBytes int) ([]*store.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.enter() {
		return nil, store.ErrClosed
	}
	defer s.leave()
	if offset < 0 {
		return nil, fmt.Errorf("read %s/%d at %d: %w", topic, queueID, offset, store.ErrOffsetRange)
	}
	q := s.lookup(topic, queueID)
	if q == nil {
		return nil, nil
	}
	lo := q.min.Load()
	hi := q.max.Load()
	if offset < lo {
		return nil, fmt.Errorf("read %s/%d at %d, oldest is %d: %w", topic, queueID, offset, lo, store.ErrOffsetRange)
	}
	if offset >= hi || max <= 0 {
		return nil, nil
	}
	n := int(min(int64(max), hi-offset, maxReadEntries))
	var stack [32]consumequeue.Entry
	ents := stack[:0]
	if n <= len(stack) {
		ents = stack[:n]
	} else {
		ents = make([]consumequeue.Entry, n)
	}
	if err := q.cq.Read(offset, ents); err != nil {
		switch {
		case q.removed.Load():
			return nil, nil
		case offset < q.min.Load():
			// Retention removed the file meanwhile.
			return nil, fmt.Errorf("read %s/%d at %d: %w", topic, queueID, offset, store.ErrOffsetRange)
		}
		s.corruptRecords.Add(1)
		s.cfg.Log.Error("consume queue damaged", "topic", topic, "queue", queueID, "offset", offset, "err", err)
		return nil, fmt.Errorf("read %s/%d at %d: %w (%v)", topic, queueID, offset, store.ErrCorrupt, err)
	}
	return s.readRecords(q, offset, ents, maxBytes)
}

// readRecords reads the records ents point to, coalescing adjacent ones.
// Bodies alias one buffer per run, so n messages cost a few allocations.
func (s *Store) readRecords(q *queue, offset int64, ents []consumequeue.Entry, maxBytes int) ([]*store.Message, error) {
	out := make([]*store.Message, 0, len(ents))
	slab := make([]store.Message, len(ents))
	used := 0
	for i := 0; i < len(ents); {
		j, total := i+1, int64(ents[i].Size)
		for j < len(ents) && ents[j].Offset == ents[j-1].Offset+int64(ents[j-1].Size) &&
			total+int64(ents[j].Size) <= maxRun && total < int64(maxBytes-used)+4096 {
			total += int64(ents[j].Size)
			j++
		}
		buf := make([]byte, total)
		if err := s.log.ReadAt(buf, ents[i].Offset); err != nil {
			if len(out) > 0 {
				return out, nil // the caller comes back for the rest and sees the error then
			}
			if errors.Is(err, commitlog.ErrGone) {
				return nil, fmt.Errorf("read %s/%d at %d: %w", q.topic, q.id, offset+int64(i), store.ErrOffsetRange)
			}
			return nil, fmt.Errorf("read %s/%d at %d: %w", q.topic, q.id, offset+int64(i), err)
		}
		at := int64(0)
		for k := i; k < j; k++ {
			e := ents[k]
			frame := buf[at : at+int64(e.Size) : at+int64(e.Size)]
			at += int64(e.Size)
			m := &slab[k]
			if err := s.decodeAt(frame, e.Offset, q, offset+int64(k), m); err != nil {
				if len(out) > 0 {
					return out, nil
				}
				return nil, err
			}
			if len(out) > 0 && used+len(m.Body) > maxBytes {
				return out, nil
			}
			used += len(m.Body)
			out = append(out, m)
		}
		i = j
	}
	return out, nil
}

// decodeAt verifies that frame is the record the consume queue promised
// (CRC, offset, topic, queue, queue offset) and decodes it.
func (s *Store) decodeAt(frame []byte, off int64, q *queue, qo int64, m *store.Message) error {
	err := commitlog.Check(frame, off)
	if err == nil {
		err = decodeMessage(frame, m, q.topic)
	}
	if err == nil && (m.Topic != q.topic || m.QueueID != q.id || m.QueueOffset != qo) {
		err = fmt.Errorf("entry points at %s/%d offset %d", m.Topic, m.QueueID, m.QueueOffset)
	}
	if err != nil {
		s.corruptRecords.Add(1)
		s.cfg.Log.Error("damaged record", "topic", q.topic, "queue", q.id, "offset", qo, "commitlog_offset", off, "err", err)
		return fmt.Errorf("read %s/%d at %d: %w (%v)", q.topic, q.id, qo, store.ErrCorrupt, err)
	}
	return nil
}

// Range reports the offsets a queue holds; an unknown queue is {0, 0}.
func (s *Store) Range(topic string, queueID int32) store.QueueRange {
	q := s.lookup(topic, queueID)
	if q == nil {
		return store.QueueRange{}
	}
	lo := q.min.Load() // min first: it never passes a max loaded after it
	return store.QueueRange{Min: lo, Max: q.max.Load()}
}

// Get reads one message by its commit-log offset.
func (s *Store) Get(ctx context.Context, commitLogOffset int64) (*store.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.enter() {
		return nil, store.ErrClosed
	}
	defer s.leave()
	return s.get(commitLogOffset, nil)
}

func (s *Store) get(off int64, buf []byte) (*store.Message, error) {
	if off < 0 || off >= s.visible.Load() {
		return nil, fmt.Errorf("get %d: %w", off, store.ErrNotFound)
	}
	frame, err := s.log.ReadFrame(off, buf)
	switch {
	case errors.Is(err, commitlog.ErrChecksum):
		s.corruptRecords.Add(1)
		s.cfg.Log.Error("damaged record", "commitlog_offset", off, "err", err)
		return nil, fmt.Errorf("get %d: %w (%v)", off, store.ErrCorrupt, err)
	case errors.Is(err, commitlog.ErrNoFrame), errors.Is(err, commitlog.ErrGone), errors.Is(err, commitlog.ErrBeyond):
		return nil, fmt.Errorf("get %d: %w (%v)", off, store.ErrNotFound, err)
	case err != nil:
		return nil, fmt.Errorf("get %d: %w", off, err)
	}
	if commitlog.Type(frame) != typeMessage {
		return nil, fmt.Errorf("get %d: not a message: %w", off, store.ErrNotFound)
	}
	m := new(store.Message)
	if err := decodeMessage(frame, m, ""); err != nil {
		s.corruptRecords.Add(1)
		return nil, fmt.Errorf("get %d: %w (%v)", off, store.ErrCorrupt, err)
	}
	if len(m.Body) > 0 && buf != nil {
		m.Body = slices.Clone(m.Body) // buf is reused by the caller
	}
	return m, nil
}

// LookupID returns the commit-log offsets of messages with this id, newest
// first (at most 10,000). Index hits are read back and compared, since the
// index holds hashes.
func (s *Store) LookupID(ctx context.Context, messageID string) ([]int64, error) {
	return s.lookupIndex(ctx, hashID(xxhash.New(), messageID), maxLookup, func(m *store.Message) bool {
		return m.MessageID == messageID
	})
}

// LookupKey returns the commit-log offsets of topic's messages carrying key,
// newest first, at most max (≤ 0: at most 10,000).
func (s *Store) LookupKey(ctx context.Context, topic, key string, max int) ([]int64, error) {
	if max <= 0 || max > maxLookup {
		max = maxLookup
	}
	return s.lookupIndex(ctx, hashKey(xxhash.New(), topic, key), max, func(m *store.Message) bool {
		return m.Topic == topic && slices.Contains(m.Keys, key)
	})
}

func (s *Store) lookupIndex(ctx context.Context, h uint64, max int, match func(*store.Message) bool) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.enter() {
		return nil, store.ErrClosed
	}
	defer s.leave()
	var out []int64
	var ferr error
	buf := make([]byte, 4096)
	err := s.idx.Lookup(h, func(off int64) bool {
		if off < s.log.Min() {
			return false // older entries point into deleted segments too
		}
		if ferr = ctx.Err(); ferr != nil {
			return false
		}
		m, err := s.get(off, buf)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
				return true
			}
			ferr = err
			return false
		}
		if match(m) {
			out = append(out, off)
		}
		return len(out) < max
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("index lookup: %w", err)
	}
	return out, nil
}

// OffsetForTime returns the first queue offset whose store time is ≥ t, by
// binary search over the store times kept in the consume-queue entries
// (Max if there is none, Min if t is before everything).
func (s *Store) OffsetForTime(ctx context.Context, topic string, queueID int32, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !s.enter() {
		return 0, store.ErrClosed
	}
	defer s.leave()
	q := s.lookup(topic, queueID)
	if q == nil {
		return 0, nil
	}
	lo := q.min.Load()
	hi := q.max.Load()
	switch {
	case t.IsZero() || t.Before(time.Unix(0, 0).AddDate(-200, 0, 0)):
		return lo, nil
	case t.After(time.Unix(0, 0).AddDate(200, 0, 0)):
		return hi, nil
	}
	ns := t.UnixNano()
	return q.cq.Search(lo, hi, func(e consumequeue.Entry) bool { return e.Stamp >= ns }), nil
}

// closedChan is what Notify returns once the store is closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Notify returns a channel closed at the next append to (topic, queueID),
// or at Close. A channel exists only while someone waits, so appends to
// queues nobody watches allocate nothing.
func (s *Store) Notify(topic string, queueID int32) <-chan struct{} {
	if s.closed.Load() {
		return closedChan
	}
	q := s.getQueue(topic, queueID)
	q.nmu.Lock()
	if q.notify == nil {
		q.notify = make(chan struct{})
	}
	ch := q.notify
	q.nmu.Unlock()
	// Close and DeleteQueues wake the queues they know; one that got a
	// channel after that would never fire, so the caller retries at once.
	if s.closed.Load() || q.removed.Load() {
		return closedChan
	}
	return ch
}
