package broker

// maxWaiting bounds how many offsets one orderly queue holds back behind
// busy message groups. At the bound the queue stops scanning ahead until a
// group moves on, so one stuck group with a long backlog costs bounded
// memory (and, past the bound, delays the other groups of its queue).
const maxWaiting = 10_000

// fifoState is the orderly-consumption state of one queue (doc.go,
// "Orderly consumption"). Every offset it holds lies in [offset, scan) and is
// neither in flight nor done: that is what "waiting" means.
type fifoState struct {
	// busy maps each message group that has a head to that head's offset:
	// the head is in flight (delivered, awaiting redelivery or being
	// dead-lettered) or ready (released but not delivered yet).
	busy map[string]int64
	// held lists, per busy group, the offsets scanned behind its head, in
	// offset order.
	held map[string][]int64
	// ready lists heads to deliver before scanning further, in the order
	// their groups were released.
	ready []fifoRef
	// waiting counts held and ready offsets (bounded by maxWaiting).
	waiting int
}

// fifoRef is a waiting offset and the message group it belongs to; key ""
// means the offset no longer keeps a group busy (after the group stopped
// being orderly).
type fifoRef struct {
	off int64
	key string
}

func newFIFO() *fifoState {
	return &fifoState{busy: make(map[string]int64), held: make(map[string][]int64)}
}

func (f *fifoState) full() bool { return f.waiting >= maxWaiting }

// claim makes off the head of group key when the group is free and reports
// true; when the group is busy it holds off behind the head and reports false.
func (f *fifoState) claim(key string, off int64) bool {
	if _, busy := f.busy[key]; !busy {
		f.busy[key] = off
		return true
	}
	f.held[key] = append(f.held[key], off)
	f.waiting++
	return false
}

// release ends the head off of group key (acked, dead-lettered, filtered out
// or gone). The group's next held offset becomes its head and is queued as
// ready; with none the group is free. It reports whether an offset became
// ready. A key or offset that is not the group's head is ignored, which
// keeps stale records (from before a reset or a mode change) harmless.
func (f *fifoState) release(key string, off int64) bool {
	if head, ok := f.busy[key]; key == "" || !ok || head != off {
		return false
	}
	h := f.held[key]
	if len(h) == 0 {
		delete(f.busy, key)
		return false
	}
	next := h[0]
	if len(h) == 1 {
		delete(f.held, key)
	} else {
		f.held[key] = h[1:]
	}
	f.busy[key] = next
	f.ready = append(f.ready, fifoRef{off: next, key: key})
	return true
}

// popReady takes the first ready offset.
func (f *fifoState) popReady() fifoRef {
	r := f.ready[0]
	f.ready[0] = fifoRef{}
	f.ready = f.ready[1:]
	if len(f.ready) == 0 {
		f.ready = nil // let the backing array go
	}
	f.waiting--
	return r
}

// releaseAll frees every group for a subscription that is no longer
// orderly: every waiting offset becomes ready, unordered, and in-flight
// heads no longer block anything.
func (f *fifoState) releaseAll() {
	for i := range f.ready {
		f.ready[i].key = ""
	}
	for _, h := range f.held {
		for _, off := range h {
			f.ready = append(f.ready, fifoRef{off: off})
		}
	}
	clear(f.busy)
	clear(f.held)
}

// finishWaiting settles a ready offset that will never be delivered
// (filtered out, or removed by retention): its group moves on. Callers hold
// q.mu and have taken r off the ready list.
func (q *queueState) finishWaiting(r fifoRef) bool {
	readied := q.fifo.release(r.key, r.off)
	q.markDone(r.off)
	return readied
}

// stateOf reports where one offset stands for this queue's group: in flight
// (delivered and not settled, including awaiting redelivery), waiting
// (orderly groups: scanned but held back behind an earlier message of its
// message group, or released and not yet delivered) or done (acked,
// filtered out or dead-lettered). All false: not delivered yet. Callers
// hold q.mu.
func (q *queueState) stateOf(off int64) (inflight *delivery, waiting bool, done bool) {
	if d := q.inflight[off]; d != nil {
		return d, false, false
	}
	if q.isDone(off) {
		return nil, false, true
	}
	// Every offset in [offset, scan) is in flight, done or waiting (doc.go).
	return nil, off >= q.offset && off < q.scan, false
}
