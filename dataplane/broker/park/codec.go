package park

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
)

// ErrCorrupt: a record in park.db does not decode.
var ErrCorrupt = errors.New("park record corrupt")

// Message record, version 1. Integers are varints (signed: zig-zag) unless
// noted; strings and byte strings are a uvarint length then the bytes.
//
//	u8       codec version (1)
//	u8       type
//	u8       flags: bit 0 born time, bit 1 delivery time, bit 2 store time present
//	varint   queue id
//	string   topic, message id, tag, group, born host, origin topic, origin message id
//	uvarint  key count, then each key
//	uvarint  property count, then key and value of each, sorted by key
//	varint   delivery attempt, queue offset, commit-log offset, store size
//	times    for each flag set, in flag order: varint Unix seconds, uvarint nanoseconds
//	bytes    body
//
// Times keep their instant, not their location or monotonic reading; empty
// key lists and property maps decode as nil.
const codecVersion = 1

// maxUnix is the last Unix second time.Time represents (its epoch is year 1).
const maxUnix = math.MaxInt64 - 62135596800

const (
	flagBorn = 1 << iota
	flagDelivery
	flagStore
)

// EncodeMessage appends the record of m to dst.
func EncodeMessage(dst []byte, m *store.Message) []byte {
	var flags byte
	for i, t := range [...]time.Time{m.BornTime, m.DeliveryTime, m.StoreTime} {
		if !t.IsZero() {
			flags |= 1 << i
		}
	}
	dst = append(dst, codecVersion, byte(m.Type), flags)
	dst = binary.AppendVarint(dst, int64(m.QueueID))
	for _, s := range [...]string{m.Topic, m.MessageID, m.Tag, m.Group, m.BornHost, m.OriginTopic, m.OriginMessageID} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.Keys)))
	for _, k := range m.Keys {
		dst = appendString(dst, k)
	}
	names := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		names = append(names, k)
	}
	sort.Strings(names) // one message, one encoding
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, k := range names {
		dst = appendString(dst, k)
		dst = appendString(dst, m.Properties[k])
	}
	dst = binary.AppendVarint(dst, int64(m.DeliveryAttempt))
	dst = binary.AppendVarint(dst, m.QueueOffset)
	dst = binary.AppendVarint(dst, m.CommitLogOffset)
	dst = binary.AppendVarint(dst, int64(m.StoreSize))
	for i, t := range [...]time.Time{m.BornTime, m.DeliveryTime, m.StoreTime} {
		if flags&(1<<i) != 0 {
			dst = binary.AppendVarint(dst, t.Unix())
			dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
		}
	}
	return appendBytes(dst, m.Body)
}

// DecodeMessage decodes a record made by EncodeMessage. It copies what it
// keeps, so data may be reused (bbolt values are only valid in their
// transaction). Anything malformed, trailing bytes included, is ErrCorrupt.
func DecodeMessage(data []byte) (*store.Message, error) {
	d := decoder{buf: data}
	if v := d.byte(); v != codecVersion {
		if d.err != nil {
			return nil, d.err
		}
		return nil, fmt.Errorf("%w: message codec version %d", ErrCorrupt, v)
	}
	m := &store.Message{Type: store.MessageType(d.byte())}
	flags := d.byte()
	m.QueueID = d.int32()
	for _, s := range [...]*string{&m.Topic, &m.MessageID, &m.Tag, &m.Group, &m.BornHost, &m.OriginTopic, &m.OriginMessageID} {
		*s = d.string()
	}
	if n := d.count(); n > 0 {
		m.Keys = make([]string, n)
		for i := range m.Keys {
			m.Keys[i] = d.string()
		}
	}
	if n := d.count(); n > 0 {
		m.Properties = make(map[string]string, n)
		prev := ""
		for i := range n {
			k, v := d.string(), d.string()
			if d.err == nil && i > 0 && k <= prev {
				d.fail("properties out of order")
			}
			m.Properties[k], prev = v, k
		}
	}
	m.DeliveryAttempt = d.int32()
	m.QueueOffset = d.varint()
	m.CommitLogOffset = d.varint()
	m.StoreSize = d.int32()
	if flags&^(flagBorn|flagDelivery|flagStore) != 0 {
		d.fail("unknown flags")
	}
	for i, t := range [...]*time.Time{&m.BornTime, &m.DeliveryTime, &m.StoreTime} {
		if flags&(1<<i) != 0 {
			*t = d.time()
		}
	}
	m.Body = d.bytes()
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decoder reads a record; after the first failure every read returns zero
// and err keeps the first cause.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail("short record")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("int32 out of range")
		return 0
	}
	return int32(v)
}

// count reads an element count; every element takes at least one byte, so
// a count above the bytes left is corrupt (and cannot make us allocate).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("count beyond record")
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("length beyond record")
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	b := d.raw()
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 || sec > maxUnix {
		d.fail("time out of range")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if t.IsZero() {
		d.fail("zero time marked present")
	}
	return t
}
