package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

func m(topic string, q int32, id string, keys ...string) *store.Message {
	return &store.Message{Topic: topic, QueueID: q, MessageID: id, Type: store.TypeNormal, Keys: keys,
		Properties: map[string]string{"p": id}, Body: []byte("body " + id)}
}

func TestAppendReadOffsets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New(memstore.Config{})
	batch := []*store.Message{m("a", 0, "1"), m("a", 1, "2"), m("a", 0, "3"), m("b", 0, "4")}
	require.NoError(t, s.Append(ctx, batch))
	require.Equal(t, []int64{0, 0, 1, 0}, []int64{batch[0].QueueOffset, batch[1].QueueOffset, batch[2].QueueOffset, batch[3].QueueOffset})
	for i := 1; i < len(batch); i++ {
		require.Greater(t, batch[i].CommitLogOffset, batch[i-1].CommitLogOffset)
		require.Equal(t, batch[i-1].CommitLogOffset+int64(batch[i-1].StoreSize), batch[i].CommitLogOffset)
		require.False(t, batch[i].StoreTime.IsZero())
	}
	require.Equal(t, store.QueueRange{Min: 0, Max: 2}, s.Range("a", 0))
	require.Equal(t, store.QueueRange{}, s.Range("nope", 0))

	got, err := s.Read(ctx, "a", 0, 0, 10, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "3", got[1].MessageID)
	require.Equal(t, int64(1), got[1].QueueOffset)

	// Reads are copies: changing them does not change the store.
	got[0].Body[0] = 'X'
	got[0].Properties["p"] = "changed"
	again, err := s.Read(ctx, "a", 0, 0, 1, 1<<20)
	require.NoError(t, err)
	require.Equal(t, []byte("body 1"), again[0].Body)
	require.Equal(t, "1", again[0].Properties["p"])

	// max, maxBytes (at least one message), reading at and past Max.
	got, err = s.Read(ctx, "a", 0, 0, 1, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = s.Read(ctx, "a", 0, 0, 10, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = s.Read(ctx, "a", 0, 2, 10, 1<<20)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.Read(ctx, "nope", 3, 0, 10, 1<<20)
	require.NoError(t, err)
	require.Empty(t, got)

	c, err := s.Get(ctx, batch[3].CommitLogOffset)
	require.NoError(t, err)
	require.Equal(t, "4", c.MessageID)
	_, err = s.Get(ctx, 12345678)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAppendValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New(memstore.Config{MaxMessageBytes: 8})
	big := m("a", 0, "big")
	big.Body = make([]byte, 9)
	require.ErrorIs(t, s.Append(ctx, []*store.Message{m("a", 0, "ok"), big}), store.ErrTooLarge)
	require.Equal(t, store.QueueRange{}, s.Range("a", 0), "all or nothing")
	require.ErrorIs(t, s.Append(ctx, []*store.Message{m("", 0, "x")}), store.ErrInvalidMessage)
	require.ErrorIs(t, s.Append(ctx, []*store.Message{m("a", -1, "x")}), store.ErrInvalidMessage)
	require.ErrorIs(t, s.Append(ctx, []*store.Message{nil}), store.ErrInvalidMessage)
}

func TestLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New(memstore.Config{})
	var cls []int64
	for i := range 5 {
		msg := m("a", 0, fmt.Sprint("id", i%2), "k", fmt.Sprint("k", i))
		require.NoError(t, s.Append(ctx, []*store.Message{msg}))
		cls = append(cls, msg.CommitLogOffset)
	}
	require.NoError(t, s.Append(ctx, []*store.Message{m("b", 0, "other", "k")}))

	got, err := s.LookupID(ctx, "id0")
	require.NoError(t, err)
	require.Equal(t, []int64{cls[4], cls[2], cls[0]}, got, "newest first")
	got, err = s.LookupKey(ctx, "a", "k", 2)
	require.NoError(t, err)
	require.Equal(t, []int64{cls[4], cls[3]}, got)
	got, err = s.LookupKey(ctx, "a", "k3", 10)
	require.NoError(t, err)
	require.Equal(t, []int64{cls[3]}, got)
	got, err = s.LookupID(ctx, "none")
	require.NoError(t, err)
	require.Empty(t, got)

	s.Trim("a", 0, 3)
	got, err = s.LookupID(ctx, "id0")
	require.NoError(t, err)
	require.Equal(t, []int64{cls[4]}, got, "trimmed records are not found")
	_, err = s.Read(ctx, "a", 0, 2, 1, 1)
	require.ErrorIs(t, err, store.ErrOffsetRange)
	require.Equal(t, store.QueueRange{Min: 3, Max: 5}, s.Range("a", 0))
	require.Equal(t, cls[3], s.Stats().MinCommitLog)
}

func TestOffsetForTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	for i := range 4 {
		require.NoError(t, s.Append(ctx, []*store.Message{m("a", 0, fmt.Sprint(i))}))
		now = now.Add(time.Minute)
	}
	// A clock that jumps back does not make store times go backwards.
	now = now.Add(-time.Hour)
	require.NoError(t, s.Append(ctx, []*store.Message{m("a", 0, "late")}))

	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{t0.Add(-time.Hour), 0},
		{t0, 0},
		{t0.Add(30 * time.Second), 1},
		{t0.Add(3 * time.Minute), 3},
		{t0.Add(time.Hour), 5},
	} {
		got, err := s.OffsetForTime(ctx, "a", 0, c.at)
		require.NoError(t, err)
		require.Equal(t, c.want, got, "at %s", c.at)
	}
	got, err := s.OffsetForTime(ctx, "nope", 0, t0)
	require.NoError(t, err)
	require.Zero(t, got)
}

func TestNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New(memstore.Config{})
	a0 := s.Notify("a", 0)
	a1 := s.Notify("a", 1)
	require.Equal(t, a0, s.Notify("a", 0), "one channel per queue until it fires")
	require.NoError(t, s.Append(ctx, []*store.Message{m("a", 0, "x")}))
	<-a0 // closed by the append
	select {
	case <-a1:
		t.Fatal("another queue was woken")
	default:
	}
	require.NotEqual(t, a0, s.Notify("a", 0), "a fresh channel after firing")

	require.NoError(t, s.DeleteQueues("a"))
	<-a1 // deleting the topic wakes its waiters
	require.Equal(t, store.QueueRange{}, s.Range("a", 0))

	b0 := s.Notify("b", 0)
	require.NoError(t, s.Close())
	<-b0
	<-s.Notify("b", 0) // closed store: never blocks
	require.ErrorIs(t, s.Append(ctx, []*store.Message{m("a", 0, "x")}), store.ErrClosed)
	_, err := s.Read(ctx, "a", 0, 0, 1, 1)
	require.ErrorIs(t, err, store.ErrClosed)
	require.NoError(t, s.Close())
}
