package broker

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
)

type subKey struct{ group, topic string }

// subscription is one group's consumption of one topic.
type subscription struct {
	group, topic string
	rr           atomic.Uint32 // rotates the first queue a QueueID -1 receive tries

	mu     sync.Mutex
	queues []*queueState // grows when the topic gains queues; never shrinks
	// wake is closed (and replaced) when in-flight state changes so that a
	// message may be ready sooner than long-pollers computed: nacks,
	// ClientGone, offset resets.
	wake chan struct{}
}

// newSubscription starts every queue at its oldest retained offset: a new
// group sees the topic's whole retained history (Apache instead starts a new
// pop group near the end unless message 0 is still in memory). Callers hold
// Broker.mu.
func (b *Broker) newSubscription(group, topic string, queues int32) *subscription {
	s := &subscription{group: group, topic: topic, wake: make(chan struct{})}
	s.grow(b.st, queues)
	return s
}

// grow adds queue states up to n; callers hold Broker.mu.
func (s *subscription) grow(st store.Store, n int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := int32(len(s.queues)); id < n; id++ {
		q := &queueState{id: id, persisted: -1}
		q.reset(st.Range(s.topic, id).Min)
		s.queues = append(s.queues, q)
	}
}

func (s *subscription) snapshot() ([]*queueState, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues, s.wake
}

func (s *subscription) queue(id int32) *queueState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 0 || int(id) >= len(s.queues) {
		return nil
	}
	return s.queues[id]
}

func (s *subscription) wakeAll() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// delivery is the in-flight record of one message for one group.
type delivery struct {
	offset    int64
	msgID     string
	gen       uint64 // names the current receipt handle
	seq       uint64 // matches the heap entry that is current for this record
	attempt   int32
	deadline  time.Time
	autoRenew bool
	owner     string
	// mgroup is the message group this delivery keeps busy (orderly
	// subscriptions); "" when it blocks nothing.
	mgroup string
	// forwarding: being appended to the DLQ outside the queue lock; neither
	// deliverable nor ackable until that finishes.
	forwarding bool
	// nacked: the current attempt was ended by ChangeInvisible, so its
	// expiry is the nack's doing, not a timeout (traces tell them apart).
	nacked bool
}

// queueState is one group's progress on one queue; see doc.go.
type queueState struct {
	id int32

	mu        sync.Mutex
	offset    int64
	scan      int64
	done      doneSet
	inflight  map[int64]*delivery
	expiry    deadlineHeap
	seq       uint64
	persisted int64 // offset last written to meta.db; -1: never
	// fifo: message groups and held-back offsets of an orderly
	// subscription (fifo.go); nil when the group consumes concurrently.
	fifo *fifoState
}

// reset drops all in-flight state and puts both cursors at off. Handles of
// dropped deliveries stop validating because their records are gone.
func (q *queueState) reset(off int64) {
	q.offset, q.scan = off, off
	q.done = doneSet{}
	q.inflight = make(map[int64]*delivery)
	q.expiry = nil
	if q.fifo != nil {
		q.fifo = newFIFO() // still orderly, with nothing busy
	}
}

// schedule sets d's deadline and makes it the record's only live heap entry.
func (q *queueState) schedule(d *delivery, at time.Time) {
	q.seq++
	d.seq = q.seq
	d.deadline = at
	heap.Push(&q.expiry, expiryEntry{at: at, offset: d.offset, seq: d.seq})
	// Entries of acked or rescheduled records are dropped lazily when they
	// reach the top; rebuild when they dominate so memory stays bounded.
	if len(q.expiry) > 2*len(q.inflight)+1024 {
		q.expiry = q.expiry[:0]
		for _, r := range q.inflight {
			if !r.forwarding {
				q.expiry = append(q.expiry, expiryEntry{at: r.deadline, offset: r.offset, seq: r.seq})
			}
		}
		heap.Init(&q.expiry)
	}
}

// unschedule invalidates d's heap entry (they are dropped lazily).
func (q *queueState) unschedule(d *delivery) {
	q.seq++
	d.seq = q.seq
}

func (q *queueState) live(e expiryEntry) *delivery {
	d := q.inflight[e.offset]
	if d == nil || d.seq != e.seq || d.forwarding {
		return nil
	}
	return d
}

// popExpired removes and returns the in-flight record with the earliest
// deadline at or before now.
func (q *queueState) popExpired(now time.Time) *delivery {
	for len(q.expiry) > 0 {
		e := q.expiry[0]
		d := q.live(e)
		if d != nil && e.at.After(now) {
			return nil
		}
		heap.Pop(&q.expiry)
		if d != nil {
			q.unschedule(d)
			return d
		}
	}
	return nil
}

// nextDeadline is the earliest live deadline, dropping stale heap entries.
func (q *queueState) nextDeadline() (time.Time, bool) {
	for len(q.expiry) > 0 {
		e := q.expiry[0]
		if q.live(e) != nil {
			return e.at, true
		}
		heap.Pop(&q.expiry)
	}
	return time.Time{}, false
}

// markDone records that off needs no further delivery and advances the
// consumer offset over every done offset. When off was the head of an
// orderly message group, the group moves on; markDone reports whether that
// made a held message ready (long-pollers may want to hear of it).
func (q *queueState) markDone(off int64) (readied bool) {
	readied = q.forget(off)
	if off < q.offset || off >= q.scan {
		return readied
	}
	if off != q.offset {
		q.done.set(off, q.offset)
		return readied
	}
	q.offset++
	for q.offset < q.scan && q.done.has(q.offset) {
		q.offset++
	}
	q.done.trim(q.offset)
	return readied
}

// forget drops off's in-flight record, releasing the message group it kept
// busy; it reports whether a held message became ready.
func (q *queueState) forget(off int64) bool {
	d := q.inflight[off]
	if d == nil {
		return false
	}
	delete(q.inflight, off)
	return d.mgroup != "" && q.fifo != nil && q.fifo.release(d.mgroup, off)
}

// isDone reports whether off was acked, filtered or dead-lettered.
func (q *queueState) isDone(off int64) bool {
	return off < q.offset || (off < q.scan && q.done.has(off))
}

// clamp moves the cursors up to the store's oldest retained offset after
// retention deleted messages this group had not finished.
func (q *queueState) clamp(minOff int64) {
	if q.scan <= minOff {
		q.reset(minOff)
		return
	}
	for off := range q.inflight {
		if off < minOff {
			// Held offsets this releases that are gone too are settled when
			// the ready path fails to read them.
			q.forget(off)
		}
	}
	if q.offset < minOff {
		q.offset = minOff
		for q.offset < q.scan && q.done.has(q.offset) {
			q.offset++
		}
		q.done.trim(q.offset)
	}
}

// doneSet is a bitmap of done offsets at or above the consumer offset: one
// bit per message keeps out-of-order acks cheap even when a single stuck
// delivery holds the offset back behind many finished ones.
type doneSet struct {
	base  int64 // offset of bit 0 of words[0]; a multiple of 64
	words []uint64
}

func (s *doneSet) set(off, floor int64) {
	if len(s.words) == 0 {
		s.base = floor &^ 63
	}
	i := int((off - s.base) >> 6)
	for i >= len(s.words) {
		s.words = append(s.words, 0)
	}
	s.words[i] |= 1 << uint(off&63)
}

func (s *doneSet) has(off int64) bool {
	if off < s.base {
		return false
	}
	i := (off - s.base) >> 6
	if i >= int64(len(s.words)) {
		return false
	}
	return s.words[i]&(1<<uint(off&63)) != 0
}

// trim forgets words wholly below floor.
func (s *doneSet) trim(floor int64) {
	k := (floor - s.base) >> 6
	if k <= 0 {
		return
	}
	if k >= int64(len(s.words)) {
		*s = doneSet{}
		return
	}
	s.words = s.words[k:]
	s.base += k << 6
}

type expiryEntry struct {
	at     time.Time
	offset int64
	seq    uint64
}

// deadlineHeap orders in-flight deadlines, earliest first (ties by offset so
// redelivery follows queue order).
type deadlineHeap []expiryEntry

func (h deadlineHeap) Len() int { return len(h) }
func (h deadlineHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].offset < h[j].offset
	}
	return h[i].at.Before(h[j].at)
}
func (h deadlineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)   { *h = append(*h, x.(expiryEntry)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
