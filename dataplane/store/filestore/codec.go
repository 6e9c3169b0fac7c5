package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf16"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
)

// Frame types in the commit log.
const (
	typeMessage   uint8 = 1
	typeTombstone uint8 = 2 // DeleteQueues(topic): replay forgets the topic's queues here
)

const msgVersion uint8 = 1

// Message payload, version 1 (little-endian), after the frame header:
//
//	0  queueOffset      i64  set by the writer
//	8  bornTime         i64  Unix ns, math.MinInt64 = zero time
//	16 deliveryTime     i64  likewise
//	24 queueID          i32
//	28 deliveryAttempt  i32
//	32 bodyLen          u32
//	36 type             u8, 3 reserved
//	40 body             bodyLen bytes
//	then uvarint-length strings: topic, messageID, tag, group, bornHost,
//	    originTopic, originMessageID; uvarint key count and the keys;
//	    uvarint property count and key, value pairs
//
// The body sits at a fixed place so a reader can slice it out, and all the
// strings follow it so one conversion gives every string field its bytes.
// The commit-log offset and store time are in the frame header.
const (
	fixedSize  = 40
	qoPos      = commitlog.HeaderSize // where the writer patches the queue offset
	noTime     = math.MinInt64
	maxStrings = 7
)

var errBadRecord = errors.New("malformed record")

func encTime(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

func decTime(ns int64) time.Time {
	if ns == noTime {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// frameSize is the size of m's frame.
func frameSize(m *store.Message) int {
	n := commitlog.Overhead + fixedSize + len(m.Body) +
		strLen(m.Topic) + strLen(m.MessageID) + strLen(m.Tag) + strLen(m.Group) +
		strLen(m.BornHost) + strLen(m.OriginTopic) + strLen(m.OriginMessageID) +
		uvarintLen(uint64(len(m.Keys))) + uvarintLen(uint64(len(m.Properties)))
	for _, k := range m.Keys {
		n += strLen(k)
	}
	for k, v := range m.Properties {
		n += strLen(k) + strLen(v)
	}
	return n
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendMessage appends m's frame, ready for the writer to fill in the
// queue offset, commit-log offset and stamp.
func appendMessage(b []byte, m *store.Message, size int) []byte {
	start := len(b)
	b = append(b, make([]byte, commitlog.HeaderSize)...)
	commitlog.PutHeader(b[start:], size, typeMessage, msgVersion)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(encTime(m.BornTime)))
	b = binary.LittleEndian.AppendUint64(b, uint64(encTime(m.DeliveryTime)))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.QueueID))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.DeliveryAttempt))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Body)))
	b = append(b, byte(m.Type), 0, 0, 0)
	b = append(b, m.Body...)
	for _, s := range [maxStrings]string{m.Topic, m.MessageID, m.Tag, m.Group, m.BornHost, m.OriginTopic, m.OriginMessageID} {
		b = appendStr(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Keys)))
	for _, k := range m.Keys {
		b = appendStr(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Properties)))
	for k, v := range m.Properties {
		b = appendStr(b, k)
		b = appendStr(b, v)
	}
	return append(b, 0, 0, 0, 0) // CRC, set by commitlog.Finish
}

// appendTombstone appends a frame recording DeleteQueues(topic).
func appendTombstone(b []byte, topic string) []byte {
	size := commitlog.Overhead + strLen(topic)
	start := len(b)
	b = append(b, make([]byte, commitlog.HeaderSize)...)
	commitlog.PutHeader(b[start:], size, typeTombstone, msgVersion)
	b = appendStr(b, topic)
	return append(b, 0, 0, 0, 0)
}

func tombstoneTopic(frame []byte) (string, error) {
	p := commitlog.Payload(frame)
	n, k := binary.Uvarint(p)
	if k <= 0 || uint64(len(p)-k) < n {
		return "", errBadRecord
	}
	return string(p[k : k+int(n)]), nil
}

// strReader reads uvarint-length strings as substrings of one string.
type strReader struct {
	s   string
	err bool
}

func (r *strReader) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			r.s = r.s[i+1:]
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	r.err = true
	r.s = ""
	return 0
}

func (r *strReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = true
		r.s = ""
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

// decodeMessage fills m from a verified message frame. The body aliases
// frame (with its capacity cut, so appending to it cannot reach the next
// record). If topic equals the stored topic it is used instead of a copy.
func decodeMessage(frame []byte, m *store.Message, topic string) error {
	if commitlog.Type(frame) != typeMessage {
		return fmt.Errorf("frame type %d: %w", commitlog.Type(frame), errBadRecord)
	}
	if v := commitlog.Version(frame); v != msgVersion {
		return fmt.Errorf("message version %d is not supported: %w", v, errBadRecord)
	}
	p := commitlog.Payload(frame)
	if len(p) < fixedSize {
		return errBadRecord
	}
	bodyLen := int(binary.LittleEndian.Uint32(p[32:]))
	if bodyLen > len(p)-fixedSize {
		return errBadRecord
	}
	*m = store.Message{
		QueueOffset:     int64(binary.LittleEndian.Uint64(p[0:])),
		BornTime:        decTime(int64(binary.LittleEndian.Uint64(p[8:]))),
		DeliveryTime:    decTime(int64(binary.LittleEndian.Uint64(p[16:]))),
		QueueID:         int32(binary.LittleEndian.Uint32(p[24:])),
		DeliveryAttempt: int32(binary.LittleEndian.Uint32(p[28:])),
		Type:            store.MessageType(p[36]),
		CommitLogOffset: commitlog.Offset(frame),
		StoreTime:       time.Unix(0, commitlog.Stamp(frame)),
		StoreSize:       int32(len(frame)),
	}
	if bodyLen > 0 {
		m.Body = p[fixedSize : fixedSize+bodyLen : fixedSize+bodyLen]
	}
	rest := p[fixedSize+bodyLen:]
	r := strReader{s: string(rest)} // one allocation for every string field
	m.Topic = r.str()
	if m.Topic == topic {
		m.Topic = topic
	}
	m.MessageID = r.str()
	m.Tag = r.str()
	m.Group = r.str()
	m.BornHost = r.str()
	m.OriginTopic = r.str()
	m.OriginMessageID = r.str()
	if nk := r.uvarint(); nk > 0 {
		if nk > uint64(len(r.s)) {
			return errBadRecord
		}
		m.Keys = make([]string, nk)
		for i := range m.Keys {
			m.Keys[i] = r.str()
		}
	}
	if np := r.uvarint(); np > 0 {
		if np > uint64(len(r.s)) {
			return errBadRecord
		}
		m.Properties = make(map[string]string, np)
		for range np {
			k := r.str()
			m.Properties[k] = r.str()
		}
	}
	if r.err {
		return errBadRecord
	}
	return nil
}

// tagHash is Java's String.hashCode of the tag over UTF-16 code units, the
// value RocketMQ keeps as a consume-queue entry's tagsCode, so broker-side
// tag filtering can match RocketMQ's subscription code sets.
func tagHash(tag string) uint32 {
	var h int32
	for _, r := range tag {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + int32(r1)
			h = 31*h + int32(r2)
			continue
		}
		h = 31*h + int32(r)
	}
	return uint32(h)
}
