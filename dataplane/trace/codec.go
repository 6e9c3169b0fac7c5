package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// A batch of events is stored as one message whose Keys are the distinct
// message IDs of its events (so the store's key index finds the batch by
// message ID) and whose Body is the encoding below. The IDs are not repeated
// in the body: string references count the record's Keys first.
//
// Body, format version 1:
//
//	version   byte (1)
//	nStrings  uvarint, then nStrings × (uvarint length, bytes): the distinct
//	          non-empty strings of the batch other than message IDs (topics,
//	          groups, client ids, hosts, statuses, details)
//	nEvents   uvarint, then nEvents events:
//	  kind      byte (Kind; values this build does not know are kept)
//	  mask      uvarint: which optional fields follow (field* bits below)
//	  time      zigzag varint: Unix µs minus the previous event's (the first
//	            event's is absolute); absent if fieldZeroTime
//	  messageID uvarint string reference
//	  topic     uvarint string reference
//	  then, in bit order, the fields whose bit is set: group, clientID,
//	  host (references), attempt (zigzag), invisibleUntil (zigzag µs from
//	  time), cost (zigzag µs), queueOffset (zigzag), queueID (zigzag),
//	  deliverAt (zigzag µs from time), status, detail (references)
//
// A string reference is 0 for the empty string, else 1 + an index into the
// body's strings followed by the record's Keys: the few strings most events
// repeat get the one-byte references.
//
// Times and durations are kept to the microsecond (truncated) and decode in
// UTC. A delivery event takes about 15 bytes, a send 13, an ack 9, plus the
// message ID once per batch in Keys. Any change to this layout takes a new
// version byte; decoders refuse versions they do not know (ErrVersion)
// rather than guess.
const formatVersion = 1

// Mask bits, ordered so the fields of sends, deliveries and acks fit the
// first byte of the uvarint.
const (
	fieldGroup = 1 << iota
	fieldClientID
	fieldHost
	fieldAttempt
	fieldInvisibleUntil
	fieldCost
	fieldQueueOffset
	fieldQueueID
	fieldDeliverAt
	fieldStatus
	fieldDetail
	fieldZeroTime

	fieldsKnown = fieldZeroTime<<1 - 1
)

var (
	// ErrVersion: a batch written in a format version this build cannot read.
	ErrVersion = errors.New("trace batch format version not supported")
	// ErrMalformed: a batch body that does not decode.
	ErrMalformed = errors.New("malformed trace batch")
)

// encoder turns batches of events into (keys, body). It keeps its scratch
// space between batches; it is not safe for concurrent use.
type encoder struct {
	refs map[string]uint64 // body string → 1-based index among the body's strings
	ids  map[string]uint64 // message ID → 1-based index among the keys
	strs []string          // the body's strings, in index order
	base uint64            // len(strs): key references start after it
}

// encode encodes the longest prefix of evs whose events carry at most
// maxKeys distinct message IDs (at least one event). It returns the
// prefix's length, its distinct message IDs (in first-seen order) and the body.
func (e *encoder) encode(evs []Event, maxKeys int) (n int, keys []string, body []byte) {
	if e.refs == nil {
		e.refs = make(map[string]uint64)
		e.ids = make(map[string]uint64)
	}
	clear(e.refs)
	clear(e.ids)
	e.strs = e.strs[:0]
	n = len(evs)
	for i := range evs {
		if id := evs[i].MessageID; id != "" {
			if _, ok := e.ids[id]; !ok {
				if len(keys) == maxKeys && i > 0 {
					n = i
					break
				}
				keys = append(keys, id)
				e.ids[id] = uint64(len(keys))
			}
		}
	}
	evs = evs[:n]
	size := 16
	for i := range evs {
		ev := &evs[i]
		for _, s := range [...]string{ev.Topic, ev.Group, ev.ClientID, ev.Host, ev.Status, ev.Detail} {
			if s == "" {
				continue
			}
			if _, ok := e.refs[s]; !ok {
				e.strs = append(e.strs, s)
				e.refs[s] = uint64(len(e.strs))
				size += len(s) + 2
			}
		}
		size += 24
	}
	e.base = uint64(len(e.strs))

	b := make([]byte, 0, size)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(e.strs)))
	for _, s := range e.strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(evs)))
	var prev int64
	for i := range evs {
		b = e.appendEvent(b, &evs[i], &prev)
	}
	return n, keys, b
}

func (e *encoder) ref(s string) uint64 {
	if s == "" {
		return 0
	}
	return e.refs[s]
}

func (e *encoder) idRef(id string) uint64 {
	if id == "" {
		return 0
	}
	return e.base + e.ids[id]
}

func (e *encoder) appendEvent(b []byte, ev *Event, prev *int64) []byte {
	var mask uint64
	if ev.Group != "" {
		mask |= fieldGroup
	}
	if ev.ClientID != "" {
		mask |= fieldClientID
	}
	if ev.Host != "" {
		mask |= fieldHost
	}
	if ev.Attempt != 0 {
		mask |= fieldAttempt
	}
	if !ev.InvisibleUntil.IsZero() {
		mask |= fieldInvisibleUntil
	}
	cost := ev.Cost.Microseconds()
	if cost != 0 {
		mask |= fieldCost
	}
	if ev.QueueOffset != 0 {
		mask |= fieldQueueOffset
	}
	if ev.QueueID != 0 {
		mask |= fieldQueueID
	}
	if !ev.DeliverAt.IsZero() {
		mask |= fieldDeliverAt
	}
	if ev.Status != "" {
		mask |= fieldStatus
	}
	if ev.Detail != "" {
		mask |= fieldDetail
	}
	if ev.Time.IsZero() {
		mask |= fieldZeroTime
	}

	b = append(b, byte(ev.Kind))
	b = binary.AppendUvarint(b, mask)
	var at int64
	if !ev.Time.IsZero() {
		at = ev.Time.UnixMicro()
		b = binary.AppendVarint(b, at-*prev)
		*prev = at
	}
	b = binary.AppendUvarint(b, e.idRef(ev.MessageID))
	b = binary.AppendUvarint(b, e.ref(ev.Topic))
	if mask&fieldGroup != 0 {
		b = binary.AppendUvarint(b, e.ref(ev.Group))
	}
	if mask&fieldClientID != 0 {
		b = binary.AppendUvarint(b, e.ref(ev.ClientID))
	}
	if mask&fieldHost != 0 {
		b = binary.AppendUvarint(b, e.ref(ev.Host))
	}
	if mask&fieldAttempt != 0 {
		b = binary.AppendVarint(b, int64(ev.Attempt))
	}
	if mask&fieldInvisibleUntil != 0 {
		b = binary.AppendVarint(b, ev.InvisibleUntil.UnixMicro()-at)
	}
	if mask&fieldCost != 0 {
		b = binary.AppendVarint(b, cost)
	}
	if mask&fieldQueueOffset != 0 {
		b = binary.AppendVarint(b, ev.QueueOffset)
	}
	if mask&fieldQueueID != 0 {
		b = binary.AppendVarint(b, int64(ev.QueueID))
	}
	if mask&fieldDeliverAt != 0 {
		b = binary.AppendVarint(b, ev.DeliverAt.UnixMicro()-at)
	}
	if mask&fieldStatus != 0 {
		b = binary.AppendUvarint(b, e.ref(ev.Status))
	}
	if mask&fieldDetail != 0 {
		b = binary.AppendUvarint(b, e.ref(ev.Detail))
	}
	return b
}

// EncodeBatch encodes evs as a stored batch: keys are the record's Keys (the
// distinct non-empty message IDs, in first-seen order) and body its Body.
func EncodeBatch(evs []Event) (keys []string, body []byte) {
	var e encoder
	_, keys, body = e.encode(evs, len(evs))
	return keys, body
}

// DecodeBatch decodes a batch stored by EncodeBatch (or the Writer) from
// the record's Keys and Body. Malformed input is an error, never a panic.
func DecodeBatch(keys []string, body []byte) ([]Event, error) {
	d := decoder{b: body}
	if len(body) == 0 {
		return nil, fmt.Errorf("empty body: %w", ErrMalformed)
	}
	if v := d.byte(); v != formatVersion {
		return nil, fmt.Errorf("version %d: %w", v, ErrVersion)
	}
	n := d.count(1) // a string takes at least 1 byte (its length)
	table := make([]string, 0, n+len(keys))
	if n > 0 {
		// One conversion for all strings: they share its memory.
		start := d.i
		spans := make([][2]int, n) // each string's bytes, relative to start
		for i := range spans {
			l := d.count(1)
			spans[i] = [2]int{d.i - start, d.i - start + l}
			d.skip(l)
		}
		if d.err != nil {
			return nil, d.err
		}
		all := string(body[start:d.i])
		for _, sp := range spans {
			table = append(table, all[sp[0]:sp[1]])
		}
	}
	table = append(table, keys...)
	m := d.count(4) // an event takes at least 4 bytes
	if d.err != nil {
		return nil, d.err
	}
	evs := make([]Event, m)
	var prev int64
	for i := range evs {
		d.event(&evs[i], table, &prev)
		if d.err != nil {
			return nil, fmt.Errorf("event %d: %w", i, d.err)
		}
	}
	if d.i != len(body) {
		return nil, fmt.Errorf("%d trailing bytes: %w", len(body)-d.i, ErrMalformed)
	}
	return evs, nil
}

// decoder reads a body; the first error sticks and later reads return zeros.
type decoder struct {
	b   []byte
	i   int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at byte %d: %w", what, d.i, ErrMalformed)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.i >= len(d.b) {
		d.fail("unexpected end")
		return 0
	}
	c := d.b[d.i]
	d.i++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.i += n
	return v
}

// count reads a count of items that take at least minSize bytes each, so a
// corrupt count cannot make the decoder allocate more than the input justifies.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)-d.i)/uint64(minSize) {
		d.fail("count beyond the input")
		return 0
	}
	return int(v)
}

func (d *decoder) skip(n int) {
	if d.err != nil {
		return
	}
	if n > len(d.b)-d.i {
		d.fail("string beyond the input")
		return
	}
	d.i += n
}

func (d *decoder) str(table []string) string {
	r := d.uvarint()
	switch {
	case d.err != nil || r == 0:
		return ""
	case r > uint64(len(table)):
		d.fail("string reference out of range")
		return ""
	}
	return table[r-1]
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("value out of int32 range")
		return 0
	}
	return int32(v)
}

func (d *decoder) event(ev *Event, table []string, prev *int64) {
	ev.Kind = Kind(d.byte())
	mask := d.uvarint()
	if mask&^fieldsKnown != 0 {
		d.fail("unknown field bits")
		return
	}
	var at int64
	if mask&fieldZeroTime == 0 {
		at = *prev + d.varint()
		*prev = at
		ev.Time = time.UnixMicro(at).UTC()
	}
	ev.MessageID = d.str(table)
	ev.Topic = d.str(table)
	if mask&fieldGroup != 0 {
		ev.Group = d.str(table)
	}
	if mask&fieldClientID != 0 {
		ev.ClientID = d.str(table)
	}
	if mask&fieldHost != 0 {
		ev.Host = d.str(table)
	}
	if mask&fieldAttempt != 0 {
		ev.Attempt = d.int32()
	}
	if mask&fieldInvisibleUntil != 0 {
		ev.InvisibleUntil = time.UnixMicro(at + d.varint()).UTC()
	}
	if mask&fieldCost != 0 {
		us := d.varint()
		if us > math.MaxInt64/int64(time.Microsecond) || us < math.MinInt64/int64(time.Microsecond) {
			d.fail("cost out of range")
		}
		ev.Cost = time.Duration(us) * time.Microsecond
	}
	if mask&fieldQueueOffset != 0 {
		ev.QueueOffset = d.varint()
	}
	if mask&fieldQueueID != 0 {
		ev.QueueID = d.int32()
	}
	if mask&fieldDeliverAt != 0 {
		ev.DeliverAt = time.UnixMicro(at + d.varint()).UTC()
	}
	if mask&fieldStatus != 0 {
		ev.Status = d.str(table)
	}
	if mask&fieldDetail != 0 {
		ev.Detail = d.str(table)
	}
}
