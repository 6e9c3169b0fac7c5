package park_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
)

// normalized is m as the codec gives it back: instants without location or
// monotonic reading, empty lists and maps as nil.
func normalized(m store.Message) *store.Message {
	for _, t := range []*time.Time{&m.BornTime, &m.DeliveryTime, &m.StoreTime} {
		if !t.IsZero() {
			*t = time.Unix(t.Unix(), int64(t.Nanosecond()))
		}
	}
	if len(m.Keys) == 0 {
		m.Keys = nil
	}
	if len(m.Properties) == 0 {
		m.Properties = nil
	}
	if len(m.Body) == 0 {
		m.Body = nil
	}
	return &m
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.FixedZone("X", 3600))
	cases := []struct {
		name string
		m    store.Message
	}{
		{"zero", store.Message{}},
		{"minimal", store.Message{Topic: "t", MessageID: "id", Type: store.TypeNormal, Body: []byte("b")}},
		{"delay", store.Message{
			Topic: "delay-topic", MessageID: "01ABCDEF", Type: store.TypeDelay, Tag: "tagA",
			Keys: []string{"k1", "k2", ""}, Properties: map[string]string{"b": "2", "a": "1", "": "empty"},
			Body: []byte("hello\x00world"), BornTime: when, BornHost: "host-1", DeliveryTime: when.Add(time.Hour),
		}},
		{"every field", store.Message{
			Topic: "t", QueueID: -7, MessageID: "m", Type: store.TypeTransaction, Tag: "x", Keys: []string{"k"},
			Group: "g", Properties: map[string]string{"p": "v"}, Body: []byte(strings.Repeat("z", 70000)),
			BornTime: when, BornHost: "h", DeliveryTime: when, DeliveryAttempt: 3, OriginTopic: "o",
			OriginMessageID: "om", QueueOffset: 1 << 40, CommitLogOffset: -1, StoreTime: when.Add(-time.Hour), StoreSize: 123,
		}},
		{"far times", store.Message{
			MessageID: "far", BornTime: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
			DeliveryTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), StoreTime: time.Unix(-1, 5),
		}},
		{"empty containers", store.Message{MessageID: "e", Keys: []string{}, Properties: map[string]string{}, Body: []byte{}}},
		{"unicode", store.Message{Topic: "tópico", MessageID: "ид", Tag: "标签", Properties: map[string]string{"ключ": "值"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := park.EncodeMessage(nil, &c.m)
			got, err := park.DecodeMessage(data)
			require.NoError(t, err)
			require.Equal(t, normalized(c.m), got)
			// One message, one encoding: map order does not leak in.
			require.Equal(t, data, park.EncodeMessage(nil, got))
		})
	}
}

func TestCodecRejectsDamage(t *testing.T) {
	t.Parallel()
	good := park.EncodeMessage(nil, &store.Message{
		Topic: "t", MessageID: "id", Properties: map[string]string{"a": "1", "b": "2"},
		Body: []byte("body"), BornTime: time.Unix(100, 0),
	})
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"unknown flag", func() []byte { d := append([]byte(nil), good...); d[2] |= 0x80; return d }()},
		{"length beyond end", []byte{1, 1, 0, 0, 0x7f}},
		{"huge count", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := park.DecodeMessage(c.data)
			require.ErrorIs(t, err, park.ErrCorrupt)
		})
	}
}

// FuzzCodecRoundTrip: any message built from the inputs survives encoding.
func FuzzCodecRoundTrip(f *testing.F) {
	f.Add("topic", "id", "tag", "k", "pk", "pv", []byte("body"), int64(1700000000123456789), int32(3), uint8(3))
	f.Add("", "", "", "", "", "", []byte(nil), int64(0), int32(-1), uint8(0))
	f.Add("t\x00", "\xff\xfe", "|", "a b", "", "v", []byte{0}, int64(-5), int32(1<<30), uint8(255))
	f.Fuzz(func(t *testing.T, topic, id, tag, key, pk, pv string, body []byte, ns int64, n int32, typ uint8) {
		m := store.Message{
			Topic: topic, MessageID: id, Tag: tag, Type: store.MessageType(typ), QueueID: n,
			Keys: []string{key, key + "2"}, Properties: map[string]string{pk: pv, pk + "x": pv},
			Body: body, DeliveryAttempt: n, QueueOffset: ns, CommitLogOffset: -ns, StoreSize: -n,
		}
		if ns != 0 {
			m.BornTime, m.DeliveryTime = time.Unix(0, ns), time.Unix(ns/7, 0)
		}
		got, err := park.DecodeMessage(park.EncodeMessage(nil, &m))
		require.NoError(t, err)
		require.Equal(t, normalized(m), got)
	})
}

// FuzzCodecDecode: arbitrary bytes never panic, and whatever decodes
// survives another round trip unchanged.
func FuzzCodecDecode(f *testing.F) {
	f.Add(park.EncodeMessage(nil, &store.Message{Topic: "t", MessageID: "m", Body: []byte("b"), BornTime: time.Unix(1, 2)}))
	f.Add([]byte{1, 0, 7})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := park.DecodeMessage(data)
		if err != nil {
			require.ErrorIs(t, err, park.ErrCorrupt)
			return
		}
		again, err := park.DecodeMessage(park.EncodeMessage(nil, m))
		require.NoError(t, err)
		require.Equal(t, m, again)
	})
}
