package broker

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker/filter"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// maxScanPerPop bounds how many filtered-out messages one pop of one queue
// skips, so a selective filter over a long backlog cannot hold the queue
// lock for long; the receive loop simply pops again.
const maxScanPerPop = 1024

// minPasses is how many passes a receive makes over skipped messages even
// with no poll time left, so a short backlog of non-matching messages does
// not turn a PollTimeout-0 receive into an empty answer.
const minPasses = 8

// receivePlan is a validated ReceiveRequest.
type receivePlan struct {
	req           ReceiveRequest
	sub           *subscription
	f             filter.Filter
	want          int
	maxDeliveries int32
	orderly       bool // one message per message group in flight (doc.go)
}

// Receive pops ready messages, long-polling up to PollTimeout when none are
// ready. Nothing ready by then (or ctx ending) is an empty result, not an
// error.
func (b *Broker) Receive(ctx context.Context, req ReceiveRequest) ([]Delivery, error) {
	plan, err := b.planReceive(req)
	if err != nil {
		return nil, err
	}
	pollUntil := time.Now().Add(max(req.PollTimeout, 0))
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// armed: take the wake-up channels before looking, so an append or nack
	// that lands between the look and the wait is not missed. The first look
	// skips that, since a busy consumer usually finds messages at once.
	armed := false
	for pass := 0; ; pass++ {
		if pass > 0 && !b.current(plan.sub) {
			return nil, nil // topic or group deleted while we waited
		}
		queues, wake := plan.sub.snapshot()
		var notify []<-chan struct{}
		if armed {
			for _, q := range b.pickQueues(plan, queues) {
				notify = append(notify, b.st.Notify(plan.sub.topic, q.id))
			}
		}

		out, next, progressed, err := b.popOnce(ctx, plan, queues)
		if len(out) > 0 {
			if err != nil {
				b.log.Warn("receive: partial batch", "group", req.Group, "topic", req.Topic, "err", err)
			}
			return out, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
		wait := time.Until(pollUntil)
		if progressed && (wait > 0 || pass < minPasses) {
			continue // skipped or dead-lettered some: look again at once
		}
		if wait <= 0 || ctx.Err() != nil {
			return nil, nil
		}
		if !armed {
			armed = true
			continue
		}
		if !next.IsZero() {
			// Deadlines follow the injected clock; sleep in real time for the
			// same span and re-check.
			wait = min(wait, max(next.Sub(b.now()), time.Millisecond))
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		if b.onPollWait != nil {
			b.onPollWait()
		}
		if b.waitAny(ctx, timer.C, wake, notify) {
			return nil, ErrClosed
		}
	}
}

// current reports whether sub is still the registered subscription of its
// group and topic (deletions drop it).
func (b *Broker) current(sub *subscription) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return !b.closed && b.subs[subKey{sub.group, sub.topic}] == sub
}

// waitAny blocks until one channel fires; it reports whether the broker is
// closing. The queue count is dynamic, hence reflect.Select.
func (b *Broker) waitAny(ctx context.Context, timer <-chan time.Time, wake chan struct{}, notify []<-chan struct{}) bool {
	cases := make([]reflect.SelectCase, 0, len(notify)+4)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.closing)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wake)},
	)
	for _, ch := range notify {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	// No timer draining needed: since Go 1.23 Reset discards a stale tick.
	return chosen == 0
}

func (b *Broker) planReceive(req ReceiveRequest) (*receivePlan, error) {
	switch {
	case req.MaxMessages < 1:
		return nil, fmt.Errorf("%w: max messages %d must be at least 1", ErrInvalidArgument, req.MaxMessages)
	case !req.AutoRenew && req.InvisibleDuration < b.cfg.MinInvisible:
		return nil, fmt.Errorf("%w: invisible duration %s is below %s", ErrInvalidArgument, req.InvisibleDuration, b.cfg.MinInvisible)
	case req.AutoRenew && req.ClientID == "":
		return nil, fmt.Errorf("%w: auto-renewed receives need a client id", ErrInvalidArgument)
	}
	f, err := b.filters.parse(req.FilterType, req.Filter)
	if err != nil {
		return nil, err
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	g, gok := b.groups[req.Group]
	te, tok := b.topics[req.Topic]
	sub := b.subs[subKey{req.Group, req.Topic}]
	b.mu.RUnlock()
	switch {
	case !gok:
		return nil, fmt.Errorf("receive for group %q: %w", req.Group, ErrGroupNotFound)
	case !tok:
		return nil, fmt.Errorf("receive from %q: %w", req.Topic, ErrTopicNotFound)
	case req.QueueID < -1 || req.QueueID >= te.Queues:
		return nil, fmt.Errorf("%w: queue %d of topic %q (it has %d)", ErrInvalidArgument, req.QueueID, req.Topic, te.Queues)
	}
	if sub == nil {
		if sub, err = b.subscribe(req.Group, req.Topic); err != nil {
			return nil, err
		}
	}
	return &receivePlan{
		req:           req,
		sub:           sub,
		f:             f,
		want:          min(req.MaxMessages, b.cfg.MaxBatch),
		maxDeliveries: g.maxDeliveries(),
		orderly:       g.Orderly,
	}, nil
}

// subscribe returns the (group, topic) subscription, creating it.
func (b *Broker) subscribe(group, topic string) (*subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if _, ok := b.groups[group]; !ok {
		return nil, fmt.Errorf("group %q: %w", group, ErrGroupNotFound)
	}
	te, ok := b.topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
	}
	k := subKey{group, topic}
	if s := b.subs[k]; s != nil {
		return s, nil
	}
	s := b.newSubscription(group, topic, te.Queues)
	b.subs[k] = s
	return s, nil
}

// pickQueues lists the queues a receive looks at, starting from a rotating
// position so concurrent receivers spread over the queues.
func (b *Broker) pickQueues(plan *receivePlan, queues []*queueState) []*queueState {
	if plan.req.QueueID >= 0 {
		if int(plan.req.QueueID) < len(queues) {
			return queues[plan.req.QueueID : plan.req.QueueID+1]
		}
		return nil
	}
	if len(queues) <= 1 {
		return queues
	}
	start := int(plan.sub.rr.Load()) % len(queues)
	return append(append([]*queueState(nil), queues[start:]...), queues[:start]...)
}

// popper carries one pass over the queues.
type popper struct {
	b          *Broker
	plan       *receivePlan
	now        time.Time
	budget     int // body bytes left
	out        []Delivery
	nacked     []bool // per out entry: its previous attempt ended in a nack
	dlq        []dlqItem
	progressed bool
}

type dlqItem struct {
	q        *queueState
	d        *delivery
	msg      *store.Message
	attempts int32
}

// popOnce pops every picked queue once. next is the earliest in-flight
// deadline left (zero if none); progressed reports skipped or dead-lettered
// messages.
func (b *Broker) popOnce(ctx context.Context, plan *receivePlan, queues []*queueState) (out []Delivery, next time.Time, progressed bool, err error) {
	p := &popper{b: b, plan: plan, now: b.now(), budget: b.cfg.MaxReceiveBytes}
	picked := b.pickQueues(plan, queues)
	plan.sub.rr.Add(1)
	for _, q := range picked {
		if len(p.out) >= plan.want || (len(p.out) > 0 && p.budget <= 0) {
			break
		}
		if err = p.popQueue(ctx, q); err != nil {
			err = fmt.Errorf("pop %s/%d for %s: %w", plan.sub.topic, q.id, plan.sub.group, err)
			break
		}
	}
	p.forwardDead(ctx)
	p.traceDeliveries()
	if len(p.out) > 0 {
		return p.out, time.Time{}, p.progressed, err // next only matters when waiting
	}
	for _, q := range picked {
		q.mu.Lock()
		if at, ok := q.nextDeadline(); ok && (next.IsZero() || at.Before(next)) {
			next = at
		}
		q.mu.Unlock()
	}
	return p.out, next, p.progressed, err
}

func (p *popper) popQueue(ctx context.Context, q *queueState) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case p.plan.orderly && q.fifo == nil:
		q.fifo = newFIFO()
	case !p.plan.orderly && q.fifo != nil:
		q.fifo.releaseAll() // the group stopped being orderly
	}
	// Expired deliveries first: they are the oldest work. Then messages
	// whose message group just moved on, then messages never seen.
	if err := p.popExpired(ctx, q); err != nil {
		return err
	}
	if q.fifo != nil {
		if err := p.popReady(ctx, q); err != nil {
			return err
		}
		if !p.plan.orderly && len(q.fifo.ready) == 0 {
			q.fifo = nil
		}
	}
	return p.scan(ctx, q)
}

// popExpired redelivers (or dead-letters) deliveries whose invisible time
// passed, in place; callers hold q.mu. An orderly head keeps its message
// group busy throughout, so the group waits for it.
func (p *popper) popExpired(ctx context.Context, q *queueState) error {
	st, topic := p.b.st, p.plan.sub.topic
	for len(p.out) < p.plan.want {
		d := q.popExpired(p.now)
		if d == nil {
			return nil
		}
		msgs, err := st.Read(ctx, topic, q.id, d.offset, 1, 1)
		switch {
		case errors.Is(err, store.ErrOffsetRange), err == nil && (len(msgs) == 0 || msgs[0].QueueOffset != d.offset):
			q.markDone(d.offset) // retention removed it: nothing left to deliver
			p.progressed = true
			continue
		case err != nil:
			q.schedule(d, p.now) // leave it ready for the next receive
			return err
		}
		m := msgs[0]
		if !p.plan.f.Match(m.Tag, m.Properties) {
			q.markDone(d.offset)
			p.progressed = true
			continue
		}
		if d.attempt+1 > p.plan.maxDeliveries {
			d.forwarding = true
			p.dlq = append(p.dlq, dlqItem{q: q, d: d, msg: m, attempts: d.attempt})
			p.progressed = true
			continue
		}
		p.deliver(q, d, m, d.attempt+1)
		p.b.metrics.redelivered(p.plan.sub.group, topic)
	}
	return nil
}

// popReady delivers the heads of message groups that moved on since the
// last pop (and, after the group stopped being orderly, every held
// message); callers hold q.mu.
func (p *popper) popReady(ctx context.Context, q *queueState) error {
	st, topic, f := p.b.st, p.plan.sub.topic, q.fifo
	for len(p.out) < p.plan.want && len(f.ready) > 0 && (len(p.out) == 0 || p.budget > 0) {
		off := f.ready[0].off
		msgs, err := st.Read(ctx, topic, q.id, off, 1, 1)
		gone := errors.Is(err, store.ErrOffsetRange) || err == nil && (len(msgs) == 0 || msgs[0].QueueOffset != off)
		if err != nil && !gone {
			return err // it stays ready for the next receive
		}
		r := f.popReady()
		if gone || !p.plan.f.Match(msgs[0].Tag, msgs[0].Properties) {
			q.finishWaiting(r) // the next of its group (if any) is now ready
			p.progressed = true
			continue
		}
		m := msgs[0]
		d := &delivery{offset: off, msgID: m.MessageID, mgroup: r.key}
		q.inflight[off] = d
		p.deliver(q, d, m, 1)
		if !m.StoreTime.IsZero() {
			p.b.metrics.firstDelivery(p.now.Sub(m.StoreTime))
		}
	}
	return nil
}

// scan delivers messages this group has never seen, from q.scan on; callers
// hold q.mu. For an orderly group a message whose message group is busy is
// held back (waiting) instead, and scanning stops at maxWaiting of those.
func (p *popper) scan(ctx context.Context, q *queueState) error {
	st, topic := p.b.st, p.plan.sub.topic
	orderly := p.plan.orderly
	scanned, held := 0, 0
	for len(p.out) < p.plan.want && scanned < maxScanPerPop && (len(p.out) == 0 || p.budget > 0) {
		if orderly && q.fifo.full() {
			return nil // wait for busy groups to move on (acks wake receivers)
		}
		n := p.plan.want - len(p.out)
		if p.plan.f != filter.All || held > 0 {
			n = max(n, 64) // expect to skip some; read in useful chunks
		}
		msgs, err := st.Read(ctx, topic, q.id, q.scan, n, max(p.budget, 0))
		if errors.Is(err, store.ErrOffsetRange) {
			r := st.Range(topic, q.id)
			if r.Min <= q.scan {
				return err // the store contradicts itself; do not spin
			}
			p.b.log.Warn("retention removed messages before consumption", "group", p.plan.sub.group, "topic", topic, "queue", q.id, "from", q.scan, "to", r.Min)
			q.clamp(r.Min)
			p.progressed = true
			continue
		}
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			if r := st.Range(topic, q.id); q.scan > r.Max {
				// The store holds fewer messages than this group consumed
				// (it lost data or was replaced). Follow it down, or every
				// message appended from now on would sit below our cursor.
				p.b.log.Warn("consumer offset beyond the end of the queue; moving it back", "group", p.plan.sub.group, "topic", topic, "queue", q.id, "offset", q.scan, "max", r.Max)
				q.reset(r.Max)
				p.progressed = true
			}
			return nil
		}
		for _, m := range msgs {
			if len(p.out) >= p.plan.want || orderly && q.fifo.full() {
				break
			}
			off := m.QueueOffset
			if off < q.scan {
				continue
			}
			for q.scan < off { // a gap in the queue: nothing to deliver there
				q.scan++
				q.markDone(q.scan - 1)
			}
			q.scan = off + 1
			scanned++
			if !p.plan.f.Match(m.Tag, m.Properties) {
				q.markDone(off)
				p.progressed = true
				continue
			}
			d := &delivery{offset: off, msgID: m.MessageID}
			// A message without a message group is a group of its own:
			// nothing waits for it.
			if orderly && m.Group != "" {
				if !q.fifo.claim(m.Group, off) {
					held++ // an earlier message of its group is not done
					p.progressed = true
					continue
				}
				d.mgroup = m.Group
			}
			q.inflight[off] = d
			p.deliver(q, d, m, 1)
			if !m.StoreTime.IsZero() {
				p.b.metrics.firstDelivery(p.now.Sub(m.StoreTime))
			}
		}
	}
	return nil
}

// deliver hands d out with a fresh handle; callers hold q.mu.
func (p *popper) deliver(q *queueState, d *delivery, m *store.Message, attempt int32) {
	req := p.plan.req
	if p.b.cfg.Tracer != nil {
		p.nacked = append(p.nacked, d.nacked)
	}
	d.nacked = false
	d.gen = p.b.newGen()
	d.attempt = attempt
	d.autoRenew, d.owner = req.AutoRenew, req.ClientID
	until := p.now.Add(req.InvisibleDuration)
	if req.AutoRenew {
		until = p.now.Add(p.b.cfg.DefaultInvisible)
		q.schedule(d, p.now.Add(p.b.cfg.MaxAutoRenewHold))
	} else {
		q.schedule(d, until)
	}
	p.out = append(p.out, Delivery{
		Message:        m,
		ReceiptHandle:  encodeHandle(q.id, d.offset, d.gen),
		Attempt:        attempt,
		InvisibleUntil: until,
	})
	p.budget -= len(m.Body)
	p.b.metrics.delivered(p.plan.sub.group, p.plan.sub.topic)
}

// forwardDead dead-letters the messages popQueue found over their delivery
// limit. It runs without queue locks because creating the DLQ topic takes
// Broker.mu (lock order, doc.go); the records stay "forwarding" meanwhile.
func (p *popper) forwardDead(ctx context.Context) {
	readied := false
	for _, it := range p.dlq {
		err := p.b.appendDLQ(ctx, p.plan.sub.group, it.msg, it.attempts)
		it.q.mu.Lock()
		wasNacked := it.d.nacked
		if it.q.inflight[it.d.offset] == it.d && it.d.forwarding {
			it.d.forwarding = false
			if err == nil {
				// An orderly message group moves on to its next message.
				readied = it.q.markDone(it.d.offset) || readied
			} else {
				// Try again on a later receive; the attempt count is unchanged
				// so it will be dead-lettered then.
				it.q.schedule(it.d, p.now.Add(p.b.cfg.ClientGoneDelay))
			}
		}
		it.q.mu.Unlock()
		if err != nil {
			p.b.log.Warn("dead-letter message", "group", p.plan.sub.group, "topic", p.plan.sub.topic, "message_id", it.msg.MessageID, "err", err)
			continue
		}
		if p.b.cfg.Tracer != nil {
			// Recorded once the copy is stored, so a retried append does not
			// record the timeout twice.
			ev := trace.Event{
				Kind: trace.KindTimeout, Time: p.now, MessageID: it.msg.MessageID, Topic: it.msg.Topic,
				Group: p.plan.sub.group, Attempt: it.attempts, QueueID: it.q.id, QueueOffset: it.d.offset,
			}
			if !wasNacked { // a nack was recorded when it happened
				p.b.trace(ev)
			}
			ev.Kind, ev.Time, ev.Detail = trace.KindDLQ, time.Time{}, DLQTopic(p.plan.sub.group)
			p.b.trace(ev)
		}
	}
	if readied {
		// Receivers waiting behind those groups (this one re-pops anyway).
		p.plan.sub.wakeAll()
	}
}

// traceDeliveries records the batch once the queue locks are released.
// Only popExpired hands out attempts above 1, so a delivery with attempt
// n > 1 means attempt n-1 timed out (or its client left) just before,
// unless it was nacked, which was recorded then.
func (p *popper) traceDeliveries() {
	if p.b.cfg.Tracer == nil {
		return
	}
	for i := range p.out {
		d := &p.out[i]
		ev := trace.Event{
			Time: p.now, MessageID: d.Message.MessageID, Topic: d.Message.Topic, Group: p.plan.sub.group,
			QueueID: d.Message.QueueID, QueueOffset: d.Message.QueueOffset,
		}
		if d.Attempt > 1 && !p.nacked[i] {
			ev.Kind, ev.Attempt = trace.KindTimeout, d.Attempt-1
			p.b.trace(ev)
		}
		ev.Kind, ev.Attempt = trace.KindDeliver, d.Attempt
		ev.ClientID, ev.InvisibleUntil = p.plan.req.ClientID, d.InvisibleUntil
		p.b.trace(ev)
	}
}

// filterCache keeps parsed filters: push consumers send the same expression
// with every receive.
type filterCache struct {
	mu sync.Mutex
	m  map[filterKey]filter.Filter
}

type filterKey struct {
	typ  FilterType
	expr string
}

const maxCachedFilters = 1024

func (c *filterCache) parse(typ FilterType, expr string) (filter.Filter, error) {
	k := filterKey{typ, expr}
	c.mu.Lock()
	f, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := filter.Parse(filter.Type(typ), expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFilter, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedFilters {
		c.m = make(map[filterKey]filter.Filter) // crude, but bounded
	}
	c.m[k] = f
	c.mu.Unlock()
	return f, nil
}
