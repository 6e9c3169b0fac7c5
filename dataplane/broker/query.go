package broker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// MessageQuery selects messages of one topic: by MessageID, by Key, or by
// store time in [Start, End). Exactly one way must be given.
type MessageQuery struct {
	Topic      string
	MessageID  string
	Key        string
	Start, End time.Time
	Cursor     string // from the previous page's NextCursor
	Limit      int    // messages per page (default 20, at most 100)
}

// MessageState is where a message is in its life before consumption.
type MessageState string

const (
	MessageStored    MessageState = "STORED"    // visible in its topic
	MessageScheduled MessageState = "SCHEDULED" // a delay message waiting for its time
	MessageHalf      MessageState = "HALF"      // a transaction message not yet committed
)

// DeliveryState is one consumer group's progress on one message.
type DeliveryState string

const (
	DeliveryPending  DeliveryState = "NOT_DELIVERED"
	DeliveryInFlight DeliveryState = "IN_FLIGHT"
	DeliveryAcked    DeliveryState = "ACKED"    // acked, or skipped by the group's filter
	DeliveryRetrying DeliveryState = "RETRYING" // delivered, not acked, waiting for its next attempt
	DeliveryDLQ      DeliveryState = "DLQ"
	// DeliveryWaiting: an orderly group holds the message back behind an
	// earlier message of its message group.
	DeliveryWaiting DeliveryState = "WAITING"
)

// GroupDelivery is one group's state for a message.
type GroupDelivery struct {
	Group          string
	State          DeliveryState
	Attempt        int32     // deliveries so far (0: none or unknown); for DLQ, the deliveries before dead-lettering
	InvisibleUntil time.Time // IN_FLIGHT; RETRYING: when it became visible again
}

// MessageInfo is a found message with its delivery state per group.
type MessageInfo struct {
	Message *store.Message
	State   MessageState
	Groups  []GroupDelivery // one per consumer group that consumes the topic, by name
}

// MessagePage is one page of a query.
type MessagePage struct {
	Messages   []MessageInfo
	NextCursor string // empty: no more
}

const (
	defaultQueryLimit = 20
	maxQueryLimit     = 100
	// queryReadFactor bounds the messages one call reads: this many times
	// its limit. Reads that do not qualify (another topic's copy of an id)
	// and queue hops of a time query count too.
	queryReadFactor = 4
	// maxKeyMatches is how many of the newest messages carrying a key a key
	// query covers.
	maxKeyMatches = 1000
	// queryMaxBytes bounds the body bytes one time-range call reads.
	queryMaxBytes = 8 << 20
)

type queryMode byte

const (
	queryByID   queryMode = 'i'
	queryByKey  queryMode = 'k'
	queryByTime queryMode = 't'
)

// QueryMessages finds messages; see MessageQuery. The work per call is
// bounded, so a page may be short (even empty) with a NextCursor.
//
// By id, it returns the copies stored in the topic, newest first, after
// a scheduled or unresolved transaction message with that id (the message
// is held outside its topic until then). By key, the newest messages of
// the topic carrying it (the newest 1,000 at most), newest first. By time,
// the messages stored in [Start, End), queue by queue, each in offset order.
//
// Each message carries the state of every consumer group that consumes the
// topic. A message of a topic that was deleted and created again may be
// reported against the new topic's queues while retention keeps it.
func (b *Broker) QueryMessages(ctx context.Context, q MessageQuery) (MessagePage, error) {
	if err := ctx.Err(); err != nil {
		return MessagePage{}, err
	}
	mode, err := checkQuery(&q)
	if err != nil {
		return MessagePage{}, err
	}
	b.mu.RLock()
	closed := b.closed
	te, ok := b.topics[q.Topic]
	var queues int32
	if ok {
		queues = te.Queues
	}
	b.mu.RUnlock()
	switch {
	case closed:
		return MessagePage{}, ErrClosed
	case !ok:
		return MessagePage{}, fmt.Errorf("query messages of %q: %w", q.Topic, ErrTopicNotFound)
	}
	cur, err := decodeCursor(q, mode)
	if err != nil {
		return MessagePage{}, err
	}

	var msgs []*store.Message
	var parked []parkedMessage
	var next *cursor
	switch mode {
	case queryByID:
		if cur == nil {
			m, state, err := b.findParked(ctx, q.Topic, q.MessageID)
			if err != nil {
				return MessagePage{}, err
			}
			if m != nil {
				parked = append(parked, parkedMessage{m, state})
			}
		}
		offs, err := b.st.LookupID(ctx, q.MessageID)
		if err != nil {
			return MessagePage{}, fmt.Errorf("look up message %q: %w", q.MessageID, err)
		}
		msgs, next, err = b.readOffsets(ctx, q, mode, offs, cur, q.Limit-len(parked))
		if err != nil {
			return MessagePage{}, err
		}
	case queryByKey:
		offs, err := b.st.LookupKey(ctx, q.Topic, q.Key, maxKeyMatches)
		if err != nil {
			return MessagePage{}, fmt.Errorf("look up key %q of %q: %w", q.Key, q.Topic, err)
		}
		msgs, next, err = b.readOffsets(ctx, q, mode, offs, cur, q.Limit)
		if err != nil {
			return MessagePage{}, err
		}
	case queryByTime:
		msgs, next, err = b.readTimeRange(ctx, q, queues, cur)
		if err != nil {
			return MessagePage{}, err
		}
	}

	page := MessagePage{Messages: make([]MessageInfo, 0, len(parked)+len(msgs))}
	if next != nil {
		page.NextCursor = next.encode(q, mode)
	}
	groups := b.topicSubscriptions(q.Topic)
	now := b.now()
	dlq := dlqFinder{b: b, topic: q.Topic}
	for _, p := range parked {
		info := MessageInfo{Message: p.m, State: p.state, Groups: make([]GroupDelivery, len(groups))}
		for i, g := range groups {
			info.Groups[i] = GroupDelivery{Group: g.group, State: DeliveryPending}
		}
		page.Messages = append(page.Messages, info)
	}
	for _, m := range msgs {
		info := MessageInfo{Message: m, State: MessageStored, Groups: make([]GroupDelivery, len(groups))}
		for i, g := range groups {
			gd, err := b.groupDelivery(ctx, g, m, now, &dlq)
			if err != nil {
				return MessagePage{}, err
			}
			info.Groups[i] = gd
		}
		page.Messages = append(page.Messages, info)
	}
	return page, nil
}

type parkedMessage struct {
	m     *store.Message
	state MessageState
}

// checkQuery validates q and applies the default limit.
func checkQuery(q *MessageQuery) (queryMode, error) {
	if q.Topic == "" {
		return 0, fmt.Errorf("%w: topic is required", ErrInvalidArgument)
	}
	var modes []queryMode
	if q.MessageID != "" {
		modes = append(modes, queryByID)
	}
	if q.Key != "" {
		modes = append(modes, queryByKey)
	}
	if !q.Start.IsZero() || !q.End.IsZero() {
		modes = append(modes, queryByTime)
	}
	if len(modes) != 1 {
		return 0, fmt.Errorf("%w: give exactly one of a message id, a key or a time range", ErrInvalidArgument)
	}
	if modes[0] == queryByTime {
		switch {
		case q.Start.IsZero() || q.End.IsZero():
			return 0, fmt.Errorf("%w: a time range needs both a start and an end", ErrInvalidArgument)
		case q.End.Before(q.Start):
			return 0, fmt.Errorf("%w: end %s is before start %s", ErrInvalidArgument,
				q.End.UTC().Format(time.RFC3339Nano), q.Start.UTC().Format(time.RFC3339Nano))
		}
	}
	switch {
	case q.Limit == 0:
		q.Limit = defaultQueryLimit
	case q.Limit < 1 || q.Limit > maxQueryLimit:
		return 0, fmt.Errorf("%w: limit %d is outside 1..%d", ErrInvalidArgument, q.Limit, maxQueryLimit)
	}
	return modes[0], nil
}

// readOffsets reads the messages of q.Topic at offs (commit-log offsets,
// newest first) below the cursor: up to limit of them, reading at most
// queryReadFactor × q.Limit records.
func (b *Broker) readOffsets(ctx context.Context, q MessageQuery, mode queryMode, offs []int64, cur *cursor, limit int) ([]*store.Message, *cursor, error) {
	if cur != nil {
		for len(offs) > 0 && offs[0] >= cur.a {
			offs = offs[1:]
		}
	}
	var out []*store.Message
	budget := queryReadFactor * q.Limit
	for _, off := range offs {
		if len(out) >= limit || budget == 0 {
			return out, &cursor{a: off + 1}, nil // the next page starts at off
		}
		budget--
		m, err := b.st.Get(ctx, off)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // removed by retention since the lookup
		case err != nil:
			return nil, nil, fmt.Errorf("read message at %d: %w", off, err)
		}
		if m.Topic != q.Topic || (mode == queryByID && m.MessageID != q.MessageID) {
			continue
		}
		out = append(out, m)
	}
	return out, nil, nil
}

// readTimeRange reads the messages stored in [q.Start, q.End), queue by
// queue, from the cursor's position.
func (b *Broker) readTimeRange(ctx context.Context, q MessageQuery, queues int32, cur *cursor) ([]*store.Message, *cursor, error) {
	qid, off := int32(0), int64(-1) // -1: look the start offset up
	if cur != nil {
		qid, off = int32(cur.a), cur.b
	}
	var out []*store.Message
	budget := queryReadFactor * q.Limit
	bytes := queryMaxBytes
	for qid < queues && len(out) < q.Limit && budget > 0 && bytes > 0 {
		if off < 0 {
			var err error
			if off, err = b.st.OffsetForTime(ctx, q.Topic, qid, q.Start); err != nil {
				return nil, nil, fmt.Errorf("find %s in %s/%d: %w", q.Start.UTC().Format(time.RFC3339Nano), q.Topic, qid, err)
			}
			budget-- // a queue hop costs like a read
		}
		r := b.st.Range(q.Topic, qid)
		off = max(off, r.Min)
		if off >= r.Max {
			qid, off = qid+1, -1
			continue
		}
		if budget == 0 {
			break // the hop used the last of it; the cursor keeps the offset found
		}
		msgs, err := b.st.Read(ctx, q.Topic, qid, off, min(q.Limit-len(out), budget), bytes)
		switch {
		case errors.Is(err, store.ErrOffsetRange):
			off = b.st.Range(q.Topic, qid).Min // retention moved the start meanwhile
			budget--
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("read %s/%d at %d: %w", q.Topic, qid, off, err)
		case len(msgs) == 0:
			qid, off = qid+1, -1
			continue
		}
		ended := false
		for _, m := range msgs {
			budget--
			bytes -= len(m.Body)
			off = m.QueueOffset + 1
			if !m.StoreTime.Before(q.End) {
				ended = true
				break
			}
			if !m.StoreTime.Before(q.Start) {
				out = append(out, m)
			}
		}
		if ended {
			qid, off = qid+1, -1
		}
	}
	if qid >= queues {
		return out, nil, nil
	}
	return out, &cursor{a: int64(qid), b: off}, nil
}

// subRef is a consumer group's subscription to the queried topic.
type subRef struct {
	group string
	sub   *subscription
}

// topicSubscriptions lists the groups consuming topic, by name.
func (b *Broker) topicSubscriptions(topic string) []subRef {
	b.mu.RLock()
	var out []subRef
	for k, s := range b.subs {
		if k.topic == topic {
			out = append(out, subRef{k.group, s})
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(a, b subRef) int { return strings.Compare(a.group, b.group) })
	return out
}

// groupDelivery is g's state for m, a message stored in its topic.
func (b *Broker) groupDelivery(ctx context.Context, g subRef, m *store.Message, now time.Time, dlq *dlqFinder) (GroupDelivery, error) {
	gd := GroupDelivery{Group: g.group, State: DeliveryPending}
	var done bool
	if q := g.sub.queue(m.QueueID); q != nil {
		q.mu.Lock()
		d, waiting, isDone := q.stateOf(m.QueueOffset)
		switch {
		case d != nil:
			gd.Attempt = d.attempt
			gd.InvisibleUntil = d.deadline
			gd.State = DeliveryRetrying
			if d.deadline.After(now) && !d.forwarding {
				gd.State = DeliveryInFlight
			}
		case waiting:
			gd.State = DeliveryWaiting
		case isDone:
			done = true
			gd.State = DeliveryAcked
		}
		q.mu.Unlock()
	}
	if !done {
		return gd, nil
	}
	// Dead-lettering marks the offset done like an ack; the copy in the
	// group's DLQ topic tells them apart.
	c, err := dlq.copyFor(ctx, m.MessageID, g.group)
	if err != nil {
		return gd, err
	}
	if c != nil {
		gd.State, gd.Attempt = DeliveryDLQ, c.DeliveryAttempt
	}
	return gd, nil
}

// dlqFinder finds dead-letter copies of the queried topic's messages,
// looking each message id up once per query.
type dlqFinder struct {
	b      *Broker
	topic  string
	copies map[string]map[string]*store.Message // message id → group → copy
}

func (f *dlqFinder) copyFor(ctx context.Context, messageID, group string) (*store.Message, error) {
	byGroup, ok := f.copies[messageID]
	if !ok {
		offs, err := f.b.st.LookupID(ctx, messageID)
		if err != nil {
			return nil, fmt.Errorf("look up dead-letter copies of %q: %w", messageID, err)
		}
		byGroup = map[string]*store.Message{}
		for _, off := range offs {
			m, err := f.b.st.Get(ctx, off)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return nil, fmt.Errorf("read message at %d: %w", off, err)
			}
			g, isDLQ := strings.CutPrefix(m.Topic, dlqPrefix)
			if !isDLQ || m.OriginTopic != f.topic {
				continue
			}
			if _, seen := byGroup[g]; !seen { // offsets come newest first
				byGroup[g] = m
			}
		}
		if f.copies == nil {
			f.copies = map[string]map[string]*store.Message{}
		}
		f.copies[messageID] = byGroup
	}
	return byGroup[group], nil
}

// cursor is a position in a query's results: for id and key queries a is
// the commit-log offset the next page starts below; for time queries a is
// the queue and b the queue offset (-1: where the queue reaches Start).
// Encoded, it carries a fingerprint of the query so it cannot be used with
// another one.
type cursor struct{ a, b int64 }

const cursorVersion = "1"

func fingerprint(q MessageQuery, mode queryMode) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%c\x00%s\x00%s\x00%s\x00%d\x00%d", mode, q.Topic, q.MessageID, q.Key, q.Start.UnixNano(), q.End.UnixNano())
	return strconv.FormatUint(h.Sum64(), 36)
}

func (c *cursor) encode(q MessageQuery, mode queryMode) string {
	s := fmt.Sprintf("%s.%c.%s.%d.%d", cursorVersion, mode, fingerprint(q, mode), c.a, c.b)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(q MessageQuery, mode queryMode) (*cursor, error) {
	if q.Cursor == "" {
		return nil, nil
	}
	bad := fmt.Errorf("%w: invalid cursor: pass the one the previous page of the same query returned, unchanged", ErrInvalidArgument)
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 5 || parts[0] != cursorVersion || parts[1] != string(rune(mode)) || parts[2] != fingerprint(q, mode) {
		return nil, bad
	}
	a, errA := strconv.ParseInt(parts[3], 10, 64)
	b, errB := strconv.ParseInt(parts[4], 10, 64)
	if errA != nil || errB != nil || a < 0 || (mode == queryByTime && (a > maxQueues || b < -1)) {
		return nil, bad
	}
	return &cursor{a: a, b: b}, nil
}

// Trace returns the recorded trace events of a message of topic, oldest
// first. It reads them from the store whatever Recorder Config.Tracer is:
// trace.Writer stores them there. Events still buffered by the writer show
// up after its next flush (within its FlushInterval).
func (b *Broker) Trace(ctx context.Context, topic, messageID string) ([]trace.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case topic == "":
		return nil, fmt.Errorf("%w: topic is required", ErrInvalidArgument)
	case messageID == "":
		return nil, fmt.Errorf("%w: message id is required", ErrInvalidArgument)
	}
	b.mu.RLock()
	closed := b.closed
	_, ok := b.topics[topic]
	b.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, fmt.Errorf("trace of %q: %w", topic, ErrTopicNotFound)
	}
	evs, err := trace.Read(ctx, b.st, messageID)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, ev := range evs {
		if ev.Topic == topic {
			out = append(out, ev)
		}
	}
	return out, nil
}
