package filestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
)

// appendReq is one Append (or DeleteQueues) handed to the writer. They are
// pooled so an append allocates nothing of its own.
type appendReq struct {
	msgs []*store.Message
	buf  []byte // the messages' frames, back to back
	tomb bool   // buf is one tombstone frame
	err  error
	done chan struct{} // capacity 1: the writer never blocks on it
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan struct{}, 1)} }}

func releaseReq(r *appendReq) {
	r.msgs, r.err, r.tomb = nil, nil, false
	if cap(r.buf) > 1<<20 {
		r.buf = nil // keep the pool from pinning one huge message's buffer
	}
	r.buf = r.buf[:0]
	reqPool.Put(r)
}

// dispatch is a record written in the current batch, to be made visible.
type dispatch struct {
	q    *queue
	m    *store.Message
	off  int64
	size int32
}

// Append stores msgs in order and assigns their offsets and store time.
// Frames are encoded here, on the caller's goroutine, so encoding runs in
// parallel; the single writer only stamps, checksums, writes and dispatches
// them. ctx is honoured until the messages reach the writer; after that
// Append waits for the outcome (bounded by the disk), so a caller never has
// to guess whether its messages were stored. The messages of one call are
// written together but are not atomic across a crash: a prefix may survive.
func (s *Store) Append(ctx context.Context, msgs []*store.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	r := reqPool.Get().(*appendReq)
	for i, m := range msgs {
		size, err := s.check(i, m)
		if err != nil {
			releaseReq(r)
			return err
		}
		r.buf = appendMessage(r.buf, m, size)
	}
	r.msgs = msgs
	err := s.submit(r)
	if err == nil {
		<-r.done
		err = r.err
	}
	releaseReq(r)
	return err
}

// check validates message i and returns its frame size.
func (s *Store) check(i int, m *store.Message) (int, error) {
	switch {
	case m == nil:
		return 0, fmt.Errorf("append: message %d is nil: %w", i, store.ErrInvalidMessage)
	case m.Topic == "":
		return 0, fmt.Errorf("append: message %d has no topic: %w", i, store.ErrInvalidMessage)
	case m.QueueID < 0:
		return 0, fmt.Errorf("append: message %d has queue id %d: %w", i, m.QueueID, store.ErrInvalidMessage)
	}
	n := frameSize(m)
	if n > s.maxRecord {
		return 0, fmt.Errorf("append: message %d takes %d bytes, the limit is %d: %w", i, n, s.maxRecord, store.ErrTooLarge)
	}
	return n, nil
}

func (s *Store) submit(r *appendReq) error {
	s.pmu.Lock()
	if s.closing {
		s.pmu.Unlock()
		return store.ErrClosed
	}
	s.pending = append(s.pending, r)
	s.pmu.Unlock()
	s.signal()
	return nil
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// DeleteQueues forgets the consume queues of topic. It is recorded in the
// commit log (a tombstone frame) so that replaying the log after a crash or
// a rebuild forgets them again; the topic's records stay until retention.
// A later append to the topic starts its queues at offset 0.
func (s *Store) DeleteQueues(topic string) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	s.qmu.RLock()
	found := false
	for k := range s.queues {
		if k.topic == topic {
			found = true
			break
		}
	}
	s.qmu.RUnlock()
	if !found {
		return nil
	}
	r := reqPool.Get().(*appendReq)
	r.buf = appendTombstone(r.buf, topic)
	r.tomb = true
	err := s.submit(r)
	if err == nil {
		<-r.done
		err = r.err
	}
	releaseReq(r)
	if err != nil {
		return fmt.Errorf("delete queues of %s: %w", topic, err)
	}
	return nil
}

// writer is the one goroutine that writes the commit log. Whatever queued up
// while it was busy (in sync mode: during the last fsync) becomes the next
// batch, so concurrent appends share one write and one fsync.
func (s *Store) writer() {
	defer close(s.writerDone)
	var batch []*appendReq
	for range s.wake {
		for {
			s.pmu.Lock()
			batch, s.pending = s.pending, batch[:0]
			closing := s.closing
			s.pmu.Unlock()
			if len(batch) == 0 {
				if closing {
					return
				}
				break
			}
			s.process(batch)
			clear(batch)
		}
	}
}

// process commits a batch; a tombstone is committed on its own so that the
// messages after it in the batch see the topic's queues already forgotten.
func (s *Store) process(batch []*appendReq) {
	start := 0
	for i, r := range batch {
		if r.tomb {
			if i > start {
				s.commit(batch[start:i])
			}
			s.commit(batch[i : i+1])
			start = i + 1
		}
	}
	if start < len(batch) {
		s.commit(batch[start:])
	}
}

func (s *Store) commit(reqs []*appendReq) {
	s.wmu.Lock()
	err := s.failed
	if err != nil {
		err = fmt.Errorf("store stopped accepting writes after an earlier error: %w", err)
	} else if err = s.writeBatch(reqs); err != nil {
		// After a failed write or fsync the kernel may have dropped the
		// dirty pages, and what is on disk is unknown: stop writing and
		// let the next Open's recovery establish the truth.
		s.failed = err
		s.cfg.Log.Error("store write failed; refusing further appends until restart", "err", err)
		err = fmt.Errorf("append: %w", err)
	}
	s.wmu.Unlock()
	for _, r := range reqs {
		r.err = err
		r.done <- struct{}{}
	}
}

// writeBatch stamps, checksums and writes the frames of reqs, fsyncs in sync
// mode, and dispatches them into the consume queues and the index. Held: wmu.
func (s *Store) writeBatch(reqs []*appendReq) error {
	stamp := s.cfg.Now().UnixNano()
	if stamp < s.lastStamp {
		stamp = s.lastStamp // store times never go backwards along the log
	}
	storeTime := time.Unix(0, stamp)
	buf := s.wbuf[:0]
	frames := 0
	lastOff := int64(-1)
	tomb := ""
	for _, r := range reqs {
		p := r.buf
		for i := 0; len(p) > 0; i++ {
			n, _ := commitlog.Length(p)
			frame := p[:n:n]
			p = p[n:]
			if !s.log.Fits(len(buf) + n) {
				if len(buf) > 0 {
					if err := s.log.Write(buf, frames, stamp); err != nil {
						return err
					}
					buf, frames = buf[:0], 0
				}
				if err := s.log.Roll(); err != nil {
					return err
				}
			}
			off := s.log.Pos() + int64(len(buf))
			if r.tomb {
				t, err := tombstoneTopic(frame)
				if err != nil {
					return err
				}
				tomb = t
			} else {
				m := r.msgs[i]
				q := s.getQueue(m.Topic, m.QueueID)
				qo := q.next
				q.next++
				binary.LittleEndian.PutUint64(frame[qoPos:], uint64(qo))
				m.QueueOffset, m.CommitLogOffset, m.StoreTime, m.StoreSize = qo, off, storeTime, int32(n)
				s.disp = append(s.disp, dispatch{q: q, m: m, off: off, size: int32(n)})
			}
			commitlog.Finish(frame, off, stamp)
			buf = append(buf, frame...)
			frames++
			lastOff = off
		}
	}
	if len(buf) > 0 {
		if err := s.log.Write(buf, frames, stamp); err != nil {
			return err
		}
	}
	if cap(buf) <= 8<<20 {
		s.wbuf = buf[:0]
	} else {
		s.wbuf = nil
	}
	if s.sync {
		if err := s.log.Sync(); err != nil {
			return err
		}
	}
	s.lastStamp = stamp
	return s.dispatchBatch(stamp, lastOff, tomb)
}

// dispatchBatch makes the batch's records readable: consume-queue entries,
// index entries, then the new queue ends and wake-ups. In sync mode this
// runs after the fsync, so no reader ever sees a message a crash could
// still take back (RocketMQ dispatches only up to the flushed position in
// SYNC_FLUSH for the same reason).
func (s *Store) dispatchBatch(stamp, lastOff int64, tomb string) error {
	n := len(s.disp)
	for i := range s.disp {
		d := &s.disp[i]
		q := d.q
		e := consumequeue.Entry{Offset: d.off, Size: d.size, TagHash: tagHash(d.m.Tag), Stamp: stamp}
		if err := q.cq.Put(d.m.QueueOffset, e); err != nil {
			return err
		}
		q.started = true
		if err := s.indexMessage(d.m.Topic, d.m.MessageID, d.m.Keys, d.off); err != nil {
			return err
		}
		if !q.touched {
			q.touched = true
			s.touched = append(s.touched, q)
		}
		if !q.dirty {
			q.dirty = true
			s.dirty = append(s.dirty, q)
		}
	}
	clear(s.disp)
	s.disp = s.disp[:0]
	if tomb != "" {
		if err := s.removeTopic(tomb); err != nil {
			return err
		}
	}
	if lastOff >= 0 {
		s.lastFrame = lastOff
	}
	s.visible.Store(s.log.Pos())
	for _, q := range s.touched {
		q.max.Store(q.next)
		q.touched = false
		q.wake()
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	s.gen++
	s.appends.Add(int64(n))
	s.batches.Add(1)
	return nil
}

// indexMessage adds the message's id and keys to the index.
func (s *Store) indexMessage(topic, id string, keys []string, off int64) error {
	if id != "" {
		if err := s.idx.Add(hashID(s.digest, id), off); err != nil {
			return err
		}
	}
	for i, k := range keys {
		if k == "" || containsBefore(keys, i) {
			continue
		}
		if err := s.idx.Add(hashKey(s.digest, topic, k), off); err != nil {
			return err
		}
	}
	return nil
}

func containsBefore(keys []string, i int) bool {
	for _, k := range keys[:i] {
		if k == keys[i] {
			return true
		}
	}
	return false
}

// Index keys: a kind prefix keeps ids and topic keys apart; the NUL bytes
// keep ("ab","c") and ("a","bc") apart.
func hashID(d *xxhash.Digest, id string) uint64 {
	d.Reset()
	d.WriteString("i\x00")
	d.WriteString(id)
	return d.Sum64()
}

func hashKey(d *xxhash.Digest, topic, key string) uint64 {
	d.Reset()
	d.WriteString("k\x00")
	d.WriteString(topic)
	d.WriteString("\x00")
	d.WriteString(key)
	return d.Sum64()
}
