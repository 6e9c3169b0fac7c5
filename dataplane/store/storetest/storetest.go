// Package storetest is the conformance suite every store.Store must pass
// (file store and memory store alike), plus helpers to build messages,
// compare them, and damage files for recovery tests. May import: store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
)

// Run runs the suite. open returns a fresh, empty store; the suite closes
// every store it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AppendAssignsOffsets", testAppendAssignsOffsets},
		{"RoundTripEveryField", testRoundTrip},
		{"ReadBounds", testReadBounds},
		{"ReadLimits", testReadLimits},
		{"ManyQueues", testManyQueues},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Get", testGet},
		{"LookupID", testLookupID},
		{"LookupKey", testLookupKey},
		{"OffsetForTime", testOffsetForTime},
		{"Notify", testNotify},
		{"DeleteQueues", testDeleteQueues},
		{"InvalidMessages", testInvalid},
		{"CanceledContext", testCanceled},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// Message builds message i of a test: every field set, contents derived
// from topic, queue and i.
func Message(topic string, queueID int32, i int) *store.Message {
	return &store.Message{
		Topic:           topic,
		QueueID:         queueID,
		MessageID:       fmt.Sprintf("%s-%d-%06d", topic, queueID, i),
		Type:            store.TypeNormal,
		Tag:             fmt.Sprintf("tag%d", i%3),
		Keys:            []string{fmt.Sprintf("k%d", i), "shared"},
		Group:           "g1",
		Properties:      map[string]string{"i": fmt.Sprint(i), "p": "v"},
		Body:            fmt.Appendf(nil, "body of %s/%d #%d", topic, queueID, i),
		BornTime:        time.Unix(1_700_000_000, int64(i)*1000),
		BornHost:        "10.0.0.1:4242",
		DeliveryTime:    time.Unix(1_700_000_100, 0),
		DeliveryAttempt: int32(i % 5),
		OriginTopic:     "origin",
		OriginMessageID: fmt.Sprintf("orig-%d", i),
	}
}

// RequireSame fails unless got is want as stored: every field equal, times
// compared as instants, nil and empty slices and maps alike.
func RequireSame(t testing.TB, want, got *store.Message) {
	t.Helper()
	require.NotNil(t, got)
	norm := func(m *store.Message) store.Message {
		c := *m
		c.BornTime, c.DeliveryTime, c.StoreTime = time.Time{}, time.Time{}, time.Time{}
		if len(c.Keys) == 0 {
			c.Keys = nil
		}
		if len(c.Properties) == 0 {
			c.Properties = nil
		}
		if len(c.Body) == 0 {
			c.Body = nil
		}
		return c
	}
	require.Equal(t, norm(want), norm(got))
	require.True(t, want.BornTime.Equal(got.BornTime), "born time %v != %v", want.BornTime, got.BornTime)
	require.True(t, want.DeliveryTime.Equal(got.DeliveryTime), "delivery time %v != %v", want.DeliveryTime, got.DeliveryTime)
	require.True(t, want.StoreTime.Equal(got.StoreTime), "store time %v != %v", want.StoreTime, got.StoreTime)
}

// Fill appends n messages (Message(topic, queue, i)) one Append each and
// returns them with their assigned fields.
func Fill(t testing.TB, s store.Store, topic string, queueID int32, n int) []*store.Message {
	t.Helper()
	out := make([]*store.Message, n)
	for i := range out {
		out[i] = Message(topic, queueID, i)
		require.NoError(t, s.Append(context.Background(), out[i:i+1]))
	}
	return out
}

// ReadAll reads a whole queue from its Min.
func ReadAll(t testing.TB, s store.Store, topic string, queueID int32) []*store.Message {
	t.Helper()
	r := s.Range(topic, queueID)
	var out []*store.Message
	for off := r.Min; off < r.Max; {
		got, err := s.Read(context.Background(), topic, queueID, off, 100, 1<<20)
		require.NoError(t, err)
		require.NotEmpty(t, got, "read at %d of [%d, %d)", off, r.Min, r.Max)
		out = append(out, got...)
		off += int64(len(got))
	}
	return out
}

func testAppendAssignsOffsets(t *testing.T, s store.Store) {
	ctx := context.Background()
	var lastCL int64 = -1
	var lastTime time.Time
	for i := range 10 {
		batch := []*store.Message{Message("t", 0, i), Message("t", 1, i), Message("u", 0, i)}
		require.NoError(t, s.Append(ctx, batch))
		for _, m := range batch {
			require.Equal(t, int64(i), m.QueueOffset, "queue offsets are dense per queue")
			require.Greater(t, m.CommitLogOffset, lastCL, "commit-log offsets grow in append order")
			require.Positive(t, m.StoreSize)
			require.False(t, m.StoreTime.IsZero())
			require.False(t, m.StoreTime.Before(lastTime), "store times never go back")
			lastCL, lastTime = m.CommitLogOffset, m.StoreTime
		}
	}
	require.Equal(t, store.QueueRange{Min: 0, Max: 10}, s.Range("t", 0))
	require.Equal(t, store.QueueRange{Min: 0, Max: 10}, s.Range("u", 0))
	require.Equal(t, store.QueueRange{}, s.Range("nope", 0))
	require.NoError(t, s.Append(ctx, nil), "an empty append is a no-op")
}

func testRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	full := Message("rt", 3, 7)
	full.Type = store.TypeTransaction
	full.Body = make([]byte, 70_000)
	for i := range full.Body {
		full.Body[i] = byte(i * 7)
	}
	bare := &store.Message{Topic: "rt", QueueID: 3} // every optional field empty
	uni := &store.Message{Topic: "rt", QueueID: 3, Tag: "标签🙂", Keys: []string{"ключ", "k k"}, Properties: map[string]string{"ü": "\x00\x01\x02"}, Body: []byte{0}}
	in := []*store.Message{full, bare, uni}
	require.NoError(t, s.Append(ctx, in))
	got, err := s.Read(ctx, "rt", 3, 0, 10, 1<<30)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i := range in {
		RequireSame(t, in[i], got[i])
	}
	// The store keeps its own copy: changing what was appended or read
	// changes nothing stored.
	full.Body[0]++
	got[0].Body[1]++
	again, err := s.Get(ctx, full.CommitLogOffset)
	require.NoError(t, err)
	require.Equal(t, byte(0), again.Body[0])
	require.Equal(t, byte(7), again.Body[1])
}

func testReadBounds(t *testing.T, s store.Store) {
	ctx := context.Background()
	Fill(t, s, "b", 0, 5)
	got, err := s.Read(ctx, "b", 0, 5, 10, 1<<20)
	require.NoError(t, err, "reading at Max is not an error")
	require.Empty(t, got)
	got, err = s.Read(ctx, "b", 0, 9, 10, 1<<20)
	require.NoError(t, err, "reading above Max returns nothing")
	require.Empty(t, got)
	_, err = s.Read(ctx, "b", 0, -1, 10, 1<<20)
	require.ErrorIs(t, err, store.ErrOffsetRange)
	got, err = s.Read(ctx, "unknown", 0, 0, 10, 1<<20)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.Read(ctx, "b", 0, 2, 0, 1<<20)
	require.NoError(t, err, "max 0 reads nothing")
	require.Empty(t, got)
	got, err = s.Read(ctx, "b", 0, 3, 10, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, int64(3), got[0].QueueOffset)
}

func testReadLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := make([]*store.Message, 20)
	for i := range in {
		in[i] = &store.Message{Topic: "l", QueueID: 0, Body: make([]byte, 1000)}
	}
	require.NoError(t, s.Append(ctx, in))
	got, err := s.Read(ctx, "l", 0, 0, 7, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 7, "at most max messages")
	got, err = s.Read(ctx, "l", 0, 0, 20, 3500)
	require.NoError(t, err)
	require.Len(t, got, 3, "at most maxBytes of bodies")
	got, err = s.Read(ctx, "l", 0, 4, 20, 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "at least one message, whatever its size")
	require.Equal(t, int64(4), got[0].QueueOffset)
}

func testManyQueues(t *testing.T, s store.Store) {
	ctx := context.Background()
	const topics, queues, per = 5, 8, 12
	var batch []*store.Message
	for i := range per {
		for tp := range topics {
			for q := range queues {
				batch = append(batch, Message(fmt.Sprintf("%%RETRY%%topic/%d", tp), int32(q), i))
			}
		}
		if i%4 == 3 {
			require.NoError(t, s.Append(ctx, batch))
			batch = nil
		}
	}
	for tp := range topics {
		for q := range queues {
			topic := fmt.Sprintf("%%RETRY%%topic/%d", tp)
			got := ReadAll(t, s, topic, int32(q))
			require.Len(t, got, per)
			for i, m := range got {
				RequireSame(t, withAssigned(Message(topic, int32(q), i), m), m)
			}
		}
	}
}

// withAssigned copies the assigned fields of got onto want.
func withAssigned(want, got *store.Message) *store.Message {
	want.QueueOffset, want.CommitLogOffset, want.StoreTime, want.StoreSize = got.QueueOffset, got.CommitLogOffset, got.StoreTime, got.StoreSize
	return want
}

func testConcurrentAppends(t *testing.T, s store.Store) {
	ctx := context.Background()
	const producers, per, queues = 64, 25, 4
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				m := &store.Message{Topic: "c", QueueID: int32(p % queues), MessageID: fmt.Sprintf("%d/%d", p, i), Body: []byte{byte(p), byte(i)}}
				if err := s.Append(ctx, []*store.Message{m}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	total := 0
	for q := range queues {
		got := ReadAll(t, s, "c", int32(q))
		total += len(got)
		next := map[byte]byte{}
		var lastCL int64 = -1
		for i, m := range got {
			require.Equal(t, int64(i), m.QueueOffset, "offsets dense and in order")
			require.Greater(t, m.CommitLogOffset, lastCL)
			lastCL = m.CommitLogOffset
			p, n := m.Body[0], m.Body[1]
			require.Equal(t, next[p], n, "each producer's messages in its order")
			next[p] = n + 1
		}
	}
	require.Equal(t, producers*per, total)
}

func testGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := Fill(t, s, "g", 1, 3)
	for _, m := range in {
		got, err := s.Get(ctx, m.CommitLogOffset)
		require.NoError(t, err)
		RequireSame(t, m, got)
	}
	_, err := s.Get(ctx, in[2].CommitLogOffset+1)
	require.ErrorIs(t, err, store.ErrNotFound, "an offset inside a record")
	_, err = s.Get(ctx, in[2].CommitLogOffset+int64(in[2].StoreSize)+1<<20)
	require.ErrorIs(t, err, store.ErrNotFound, "an offset past the end")
	_, err = s.Get(ctx, -5)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testLookupID(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := Fill(t, s, "i", 0, 20)
	dup := Message("other", 2, 3)
	dup.MessageID = a[3].MessageID // ids are the client's: they can repeat
	require.NoError(t, s.Append(ctx, []*store.Message{dup}))
	got, err := s.LookupID(ctx, a[7].MessageID)
	require.NoError(t, err)
	require.Equal(t, []int64{a[7].CommitLogOffset}, got)
	got, err = s.LookupID(ctx, a[3].MessageID)
	require.NoError(t, err)
	require.Equal(t, []int64{dup.CommitLogOffset, a[3].CommitLogOffset}, got, "newest first")
	got, err = s.LookupID(ctx, "no-such-id")
	require.NoError(t, err)
	require.Empty(t, got)
}

func testLookupKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := Fill(t, s, "k", 0, 10)
	b := Fill(t, s, "k2", 0, 3) // same keys, other topic
	got, err := s.LookupKey(ctx, "k", "k4", 10)
	require.NoError(t, err)
	require.Equal(t, []int64{a[4].CommitLogOffset}, got)
	got, err = s.LookupKey(ctx, "k", "shared", 3)
	require.NoError(t, err)
	require.Equal(t, []int64{a[9].CommitLogOffset, a[8].CommitLogOffset, a[7].CommitLogOffset}, got, "newest first, at most max")
	got, err = s.LookupKey(ctx, "k2", "shared", 0)
	require.NoError(t, err)
	require.Equal(t, []int64{b[2].CommitLogOffset, b[1].CommitLogOffset, b[0].CommitLogOffset}, got, "max ≤ 0: all")
	got, err = s.LookupKey(ctx, "k", "absent", 5)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testOffsetForTime(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := Fill(t, s, "ot", 0, 30)
	for i, m := range in {
		got, err := s.OffsetForTime(ctx, "ot", 0, m.StoreTime)
		require.NoError(t, err)
		// The first offset stored at or after the time: this message or
		// an earlier one with the same store time.
		require.LessOrEqual(t, got, int64(i))
		require.False(t, in[got].StoreTime.Before(m.StoreTime))
		if got > 0 {
			require.True(t, in[got-1].StoreTime.Before(m.StoreTime))
		}
	}
	got, err := s.OffsetForTime(ctx, "ot", 0, in[29].StoreTime.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(30), got, "after everything: Max")
	got, err = s.OffsetForTime(ctx, "ot", 0, in[0].StoreTime.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(0), got, "before everything: Min")
	got, err = s.OffsetForTime(ctx, "none", 0, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(0), got)
}

func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func testNotify(t *testing.T, s store.Store) {
	ctx := context.Background()
	ch := s.Notify("n", 1)
	other := s.Notify("n", 2)
	fresh := s.Notify("never-written", 0)
	require.False(t, fired(ch))
	require.NoError(t, s.Append(ctx, []*store.Message{Message("n", 1, 0)}))
	<-ch // closed by the append (a hang here fails the test by timeout)
	require.False(t, fired(other), "an append to another queue does not fire")
	require.False(t, fired(fresh))
	ch2 := s.Notify("n", 1)
	require.False(t, fired(ch2), "a new channel waits for the next append")
	require.NoError(t, s.Append(ctx, []*store.Message{Message("n", 1, 1), Message("n", 2, 0)}))
	<-ch2
	<-other
	require.Equal(t, int64(2), s.Range("n", 1).Max, "the append is visible when the channel fires")
}

func testDeleteQueues(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := Fill(t, s, "d", 0, 4)
	Fill(t, s, "d", 1, 2)
	keep := Fill(t, s, "d-keep", 0, 3)
	waiting := s.Notify("d", 0)
	require.NoError(t, s.DeleteQueues("d"))
	<-waiting // long-polls on a deleted queue wake up
	require.Equal(t, store.QueueRange{}, s.Range("d", 0))
	require.Equal(t, store.QueueRange{}, s.Range("d", 1))
	got, err := s.Read(ctx, "d", 0, 0, 10, 1<<20)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Equal(t, store.QueueRange{Min: 0, Max: 3}, s.Range("d-keep", 0), "other topics untouched")
	RequireSame(t, keep[0], ReadAll(t, s, "d-keep", 0)[0])
	m, err := s.Get(ctx, old[1].CommitLogOffset)
	require.NoError(t, err, "the records stay until retention")
	RequireSame(t, old[1], m)
	again := Fill(t, s, "d", 0, 2)
	require.Equal(t, int64(0), again[0].QueueOffset, "a re-created queue starts at 0")
	require.Equal(t, store.QueueRange{Min: 0, Max: 2}, s.Range("d", 0))
	require.NoError(t, s.DeleteQueues("never-existed"))
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, bad := range [][]*store.Message{
		{nil},
		{{Topic: "", QueueID: 0}},
		{{Topic: "x", QueueID: -1}},
		{Message("x", 0, 0), {Topic: "", QueueID: 0}}, // one bad message fails the call
	} {
		require.Error(t, s.Append(ctx, bad))
	}
	require.Equal(t, store.QueueRange{}, s.Range("x", 0), "nothing of a refused append is stored")
}

func testCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Append(ctx, []*store.Message{Message("cx", 0, 0)})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, store.QueueRange{}, s.Range("cx", 0))
	_, err = s.Read(ctx, "cx", 0, 0, 1, 1)
	require.ErrorIs(t, err, context.Canceled)
}

func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := Fill(t, s, "z", 0, 1)
	waiting := s.Notify("z", 0)
	require.NoError(t, s.Close())
	<-waiting // Close wakes waiters
	require.NoError(t, s.Close(), "closing twice is harmless")
	checks := map[string]error{}
	checks["Append"] = s.Append(ctx, []*store.Message{Message("z", 0, 1)})
	_, checks["Read"] = s.Read(ctx, "z", 0, 0, 1, 1)
	_, checks["Get"] = s.Get(ctx, in[0].CommitLogOffset)
	_, checks["LookupID"] = s.LookupID(ctx, in[0].MessageID)
	_, checks["LookupKey"] = s.LookupKey(ctx, "z", "k0", 1)
	_, checks["OffsetForTime"] = s.OffsetForTime(ctx, "z", 0, time.Now())
	checks["DeleteQueues"] = s.DeleteQueues("z")
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		require.True(t, errors.Is(checks[name], store.ErrClosed), "%s after Close: %v", name, checks[name])
	}
	require.True(t, fired(s.Notify("z", 0)), "Notify after Close returns a closed channel")
}
