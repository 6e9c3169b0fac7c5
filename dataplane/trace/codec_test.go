package trace_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/trace"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

// norm makes decoded and original events comparable with require.Equal:
// the codec keeps microseconds, and decodes UTC times without a monotonic
// reading.
func norm(evs []trace.Event) []trace.Event {
	out := make([]trace.Event, len(evs))
	for i, ev := range evs {
		for _, tp := range []*time.Time{&ev.Time, &ev.InvisibleUntil, &ev.DeliverAt} {
			if !tp.IsZero() {
				*tp = tp.UTC().Round(0).Truncate(time.Microsecond)
			}
		}
		ev.Cost = ev.Cost.Truncate(time.Microsecond)
		out[i] = ev
	}
	return out
}

// lifecycle is one message's life: sent, delivered twice to one group (a
// timeout in between), acked; another group dead-letters it.
func lifecycle(id string, at time.Time) []trace.Event {
	return []trace.Event{
		{Kind: trace.KindSend, Time: at, MessageID: id, Topic: "orders", ClientID: "producer-1", Host: "10.0.0.1:5123",
			Cost: 180 * time.Microsecond, QueueID: 3, QueueOffset: 12345},
		{Kind: trace.KindDeliver, Time: at.Add(2 * time.Millisecond), MessageID: id, Topic: "orders", Group: "billing",
			ClientID: "consumer-1", Host: "10.0.0.2:6000", Attempt: 1, InvisibleUntil: at.Add(30 * time.Second)},
		{Kind: trace.KindTimeout, Time: at.Add(30 * time.Second), MessageID: id, Topic: "orders", Group: "billing", Attempt: 1},
		{Kind: trace.KindDeliver, Time: at.Add(31 * time.Second), MessageID: id, Topic: "orders", Group: "billing",
			ClientID: "consumer-2", Host: "10.0.0.3:6000", Attempt: 2, InvisibleUntil: at.Add(61 * time.Second)},
		{Kind: trace.KindAck, Time: at.Add(32 * time.Second), MessageID: id, Topic: "orders", Group: "billing", ClientID: "consumer-2", Attempt: 2},
		{Kind: trace.KindDLQ, Time: at.Add(40 * time.Second), MessageID: id, Topic: "orders", Group: "audit", Attempt: 17, Detail: "%DLQ%audit"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	many := make([]trace.Event, 0, 1000)
	for i := range 1000 / 6 {
		many = append(many, lifecycle(fmt.Sprintf("7F0000010001%020d", i), t0.Add(time.Duration(i)*time.Millisecond))...)
	}
	tests := []struct {
		name string
		evs  []trace.Event
		keys []string
	}{
		{"empty batch", nil, nil},
		{"one send", lifecycle("id-1", t0)[:1], []string{"id-1"}},
		{"a message's whole life", lifecycle("id-1", t0), []string{"id-1"}},
		{"two messages interleaved", append(lifecycle("a", t0), lifecycle("b", t0.Add(-time.Hour))...), []string{"a", "b"}},
		{"every field", []trace.Event{{
			Kind: trace.KindTimerSchedule, Time: t0, MessageID: "m", Topic: "t", Group: "g", ClientID: "c", Host: "h",
			Attempt: -3, InvisibleUntil: t0.Add(-time.Second), DeliverAt: t0.Add(72 * time.Hour), Cost: -3 * time.Microsecond,
			QueueID: 63, QueueOffset: -1 << 62, Status: "broker busy", Detail: "txn-1",
		}}, []string{"m"}},
		{"zero time and no message id", []trace.Event{{Kind: trace.KindTxnCheck, Topic: "t", InvisibleUntil: t0}}, nil},
		{"kinds this build does not know survive", []trace.Event{{Kind: 200, Time: t0, MessageID: "m"}}, []string{"m"}},
		{"a string that is also a message id", []trace.Event{
			{Kind: trace.KindSend, Time: t0, MessageID: "x", Topic: "y"},
			{Kind: trace.KindSend, Time: t0, MessageID: "y", Topic: "x", Detail: "x"},
		}, []string{"x", "y"}},
		{"times far apart", []trace.Event{
			{Kind: trace.KindSend, Time: time.Unix(0, 1), MessageID: "m"},
			{Kind: trace.KindAck, Time: time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), MessageID: "m"},
			{Kind: trace.KindAck, Time: time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), MessageID: "m"},
		}, []string{"m"}},
		{"a full batch", many, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, body := trace.EncodeBatch(tc.evs)
			if tc.keys != nil || len(tc.evs) == 0 {
				require.Equal(t, tc.keys, keys)
			}
			got, err := trace.DecodeBatch(keys, body)
			require.NoError(t, err)
			require.Equal(t, norm(tc.evs), norm(got))
		})
	}
}

func TestCodecSize(t *testing.T) {
	t.Parallel()
	// 1,000 messages with three events each (send, deliver, ack), the common
	// case: what one event costs in the store.
	var evs []trace.Event
	for i := range 1000 {
		id := fmt.Sprintf("7F00000100012A9F%016X", i) // 32 characters, like RocketMQ 5 ids
		at := t0.Add(time.Duration(i) * 97 * time.Microsecond)
		evs = append(evs,
			trace.Event{Kind: trace.KindSend, Time: at, MessageID: id, Topic: "orders", ClientID: "producer-1", Host: "10.0.0.1:5123",
				Cost: 180 * time.Microsecond, QueueID: int32(i % 8), QueueOffset: int64(100000 + i)},
			trace.Event{Kind: trace.KindDeliver, Time: at.Add(time.Millisecond), MessageID: id, Topic: "orders", Group: "billing",
				ClientID: "consumer-1", Host: "10.0.0.2:6000", Attempt: 1, InvisibleUntil: at.Add(30 * time.Second)},
			trace.Event{Kind: trace.KindAck, Time: at.Add(3 * time.Millisecond), MessageID: id, Topic: "orders", Group: "billing",
				ClientID: "consumer-1", Attempt: 1},
		)
	}
	keys, body := trace.EncodeBatch(evs)
	require.Len(t, keys, 1000)
	perEvent := float64(len(body)) / float64(len(evs))
	withIDs := float64(len(body)+1000*32) / float64(len(evs))
	t.Logf("body %d bytes for %d events: %.1f bytes/event, %.1f with the message ids (keys)", len(body), len(evs), perEvent, withIDs)
	require.Less(t, perEvent, 14.0, "the body stays compact")
}

func TestCodecRejectsBadInput(t *testing.T) {
	t.Parallel()
	keys, good := trace.EncodeBatch(lifecycle("m", t0))
	withVersion := func(v byte) []byte { b := append([]byte(nil), good...); b[0] = v; return b }
	tests := []struct {
		name string
		keys []string
		body []byte
		want error
	}{
		{"empty", keys, nil, trace.ErrMalformed},
		{"future version", keys, withVersion(2), trace.ErrVersion},
		{"version zero", keys, withVersion(0), trace.ErrVersion},
		{"truncated", keys, good[:len(good)-1], trace.ErrMalformed},
		{"trailing bytes", keys, append(append([]byte(nil), good...), 0), trace.ErrMalformed},
		{"reference to a key that is not there", nil, good, trace.ErrMalformed},
		{"huge string count", keys, binary.AppendUvarint([]byte{1}, 1<<40), trace.ErrMalformed},
		{"huge event count", keys, binary.AppendUvarint([]byte{1, 0}, 1<<40), trace.ErrMalformed},
		{"unknown field bits", keys, []byte{1, 0, 1, byte(trace.KindAck), 0x80, 0x80, 0x01, 0, 0, 0}, trace.ErrMalformed},
		{"string beyond the input", keys, []byte{1, 1, 5, 'a'}, trace.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := trace.DecodeBatch(tc.keys, tc.body)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// FuzzDecodeBatch: any input decodes or fails cleanly, and what decodes
// encodes to a batch that decodes to the same events.
func FuzzDecodeBatch(f *testing.F) {
	keys, body := trace.EncodeBatch(lifecycle("m", t0))
	f.Add(body, keys[0], "")
	_, body2 := trace.EncodeBatch(append(lifecycle("a", t0), lifecycle("b", t0.Add(time.Hour))...))
	f.Add(body2, "a", "b")
	f.Add([]byte{1, 0, 0}, "", "")
	f.Add([]byte{1, 1, 1, 'x', 1, 3, 0xff, 0x0f, 2, 0, 1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 2, 2}, "k", "")
	f.Fuzz(func(t *testing.T, body []byte, k1, k2 string) {
		var keys []string
		for _, k := range []string{k1, k2} {
			if k != "" {
				keys = append(keys, k)
			}
		}
		evs, err := trace.DecodeBatch(keys, body)
		if err != nil {
			return
		}
		keys2, body2 := trace.EncodeBatch(evs)
		evs2, err := trace.DecodeBatch(keys2, body2)
		require.NoError(t, err)
		require.Equal(t, norm(evs), norm(evs2))
	})
}
