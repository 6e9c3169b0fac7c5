package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
)

type qkey struct {
	topic string
	id    int32
}

// queue is the in-memory state of one consume queue.
type queue struct {
	qkey
	cq *consumequeue.Queue

	// Owned by the writer (and by recovery before it starts); read by the
	// checkpoint under Store.wmu.
	next    int64 // offset the next message gets
	started bool  // has had an entry: the first may start anywhere only in a rebuild
	touched bool  // in Store.touched for the batch being dispatched
	dirty   bool  // in Store.dirty: written since the last checkpoint

	max     atomic.Int64 // published: entries below are readable
	min     atomic.Int64 // oldest entry whose record retention kept
	removed atomic.Bool  // DeleteQueues forgot it

	nmu    sync.Mutex
	notify chan struct{} // made by Notify, closed and cleared by the next append
}

// wake closes the notify channel, if anyone asked for one.
func (q *queue) wake() {
	q.nmu.Lock()
	if q.notify != nil {
		close(q.notify)
		q.notify = nil
	}
	q.nmu.Unlock()
}

// topicDir turns a topic name into a safe directory name: letters, digits,
// '-' and '_' are kept, everything else is %XX (RocketMQ's %RETRY%g becomes
// %25RETRY%25g), and very long names are shortened with a hash so they fit
// file-name limits. Recovery never needs to map names back: the checkpoint
// and the commit log carry the real topic names.
func topicDir(topic string) string {
	var b strings.Builder
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	name := b.String()
	if len(name) > 120 {
		name = fmt.Sprintf("%s~%016x", name[:100], xxhash.Sum64String(topic))
	}
	return name
}

func (s *Store) queueDir(k qkey) string {
	return filepath.Join(s.cqDir, topicDir(k.topic), strconv.Itoa(int(k.id)))
}

// lookup finds a queue without creating it.
func (s *Store) lookup(topic string, id int32) *queue {
	s.qmu.RLock()
	q := s.queues[qkey{topic, id}]
	s.qmu.RUnlock()
	return q
}

// getQueue finds or creates the in-memory state of a queue (no files yet).
func (s *Store) getQueue(topic string, id int32) *queue {
	if q := s.lookup(topic, id); q != nil {
		return q
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	k := qkey{topic, id}
	if q := s.queues[k]; q != nil {
		return q
	}
	q := &queue{qkey: k, cq: consumequeue.New(s.queueDir(k), int64(s.cfg.QueueFileEntries))}
	s.queues[k] = q
	return q
}

// allQueues snapshots the queue table.
func (s *Store) allQueues() []*queue {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	out := make([]*queue, 0, len(s.queues))
	for _, q := range s.queues {
		out = append(out, q)
	}
	return out
}

// removeTopic forgets every queue of topic and deletes their files; waiters
// are woken so long-polls notice at once. Writer (or recovery) only.
func (s *Store) removeTopic(topic string) error {
	s.qmu.Lock()
	var gone []*queue
	for k, q := range s.queues {
		if k.topic == topic {
			gone = append(gone, q)
			delete(s.queues, k)
		}
	}
	s.qmu.Unlock()
	var firstErr error
	for _, q := range gone {
		q.removed.Store(true)
		if err := q.cq.Remove(); err != nil && firstErr == nil {
			firstErr = err
		}
		q.wake()
	}
	if len(gone) > 0 {
		// Fails harmlessly if a queue of the topic is still being made.
		_ = os.Remove(filepath.Join(s.cqDir, topicDir(topic)))
	}
	return firstErr
}
