package broker_test

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

func TestOffsetsPersistAcrossReopen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 10, nil)

	ds := e.recv(recvReq("g", "t", 10))
	require.Len(t, ds, 10)
	// Ack 0-3 and 5: the consumer offset stops at the first unacked (4).
	e.ackAll("g", ds[:4])
	e.ackAll("g", ds[5:6])
	offs, err := e.b.Offsets("g", "t")
	require.NoError(t, err)
	require.Equal(t, []broker.QueueOffset{{Topic: "t", QueueID: 0, MinOffset: 0, MaxOffset: 10, ConsumerOffset: 4, Inflight: 5, Lag: 6}}, offs)

	e.reopen()
	// In-flight state is gone (at-least-once): everything from 4 comes
	// again, the out-of-order ack of 5 included, as a first attempt.
	again := e.recv(recvReq("g", "t", 10))
	require.Equal(t, []string{"m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}, ids(again))
	for _, d := range again {
		require.Equal(t, int32(1), d.Attempt)
	}
	require.ErrorIs(t, e.b.Ack(context.Background(), "g", "t", "", ds[6].ReceiptHandle), broker.ErrInvalidHandle, "handles do not survive a restart")
	e.ackAll("g", again)

	e.reopen()
	require.Empty(t, e.recv(recvReq("g", "t", 10)))
	offs, err = e.b.Offsets("g", "")
	require.NoError(t, err)
	require.Equal(t, int64(10), offs[0].ConsumerOffset)
}

func TestCheckpointByRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *broker.Config) { c.CheckpointInterval = time.Millisecond })
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.b.Run(ctx) }()
	e.ackAll("g", e.recv(recvReq("g", "t", 2)))
	cancel()
	require.NoError(t, <-done)
	require.NoError(t, e.b.Close())
	e.open()
	require.Equal(t, []string{"m-2"}, ids(e.recv(recvReq("g", "t", 10))))
}

func TestOffsetsReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("a", broker.TopicNormal, 2)
	e.topic("b", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("a", "m", 4, nil)

	// Never consumed: where the group would start.
	offs, err := e.b.Offsets("g", "a")
	require.NoError(t, err)
	require.Len(t, offs, 2)
	for _, o := range offs {
		require.Equal(t, int64(0), o.ConsumerOffset)
		require.Equal(t, int64(2), o.Lag)
	}
	none, err := e.b.Offsets("g", "")
	require.NoError(t, err)
	require.Empty(t, none, "no topic consumed yet")

	e.recv(recvReq("g", "a", 1))
	e.recv(recvReq("g", "b", 1))
	offs, err = e.b.Offsets("g", "")
	require.NoError(t, err)
	require.Len(t, offs, 3)
	require.True(t, sort.SliceIsSorted(offs, func(i, j int) bool { return offs[i].Topic < offs[j].Topic }))

	_, err = e.b.Offsets("nope", "")
	require.ErrorIs(t, err, broker.ErrGroupNotFound)
	_, err = e.b.Offsets("g", "nope")
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
}

func TestResetOffset(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		to   func(t0 time.Time) broker.ResetTarget
		want []string
	}{
		{"earliest", func(time.Time) broker.ResetTarget { return broker.ResetTarget{Earliest: true} },
			[]string{"new-0", "new-1", "new-2", "old-0", "old-1", "old-2"}},
		{"latest", func(time.Time) broker.ResetTarget { return broker.ResetTarget{Latest: true} }, nil},
		{"between", func(t0 time.Time) broker.ResetTarget { return broker.ResetTarget{Time: t0.Add(30 * time.Minute)} },
			[]string{"new-0", "new-1", "new-2"}},
		{"before everything", func(t0 time.Time) broker.ResetTarget { return broker.ResetTarget{Time: t0.Add(-time.Hour)} },
			[]string{"new-0", "new-1", "new-2", "old-0", "old-1", "old-2"}},
		{"after everything", func(t0 time.Time) broker.ResetTarget { return broker.ResetTarget{Time: t0.Add(2 * time.Hour)} }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.topic("t", broker.TopicNormal, 2)
			e.group("g", 0)
			t0 := e.clk.Now()
			e.send("t", "old", 3, nil)
			e.clk.Advance(time.Hour)
			e.send("t", "new", 3, nil)

			first := e.recv(recvReq("g", "t", 32))
			require.Len(t, first, 6)
			e.ackAll("g", first[:4]) // some acked, some still in flight

			require.NoError(t, e.b.ResetOffset(context.Background(), "g", "t", c.to(t0)))
			require.ErrorIs(t, e.b.Ack(context.Background(), "g", "t", "", first[5].ReceiptHandle), broker.ErrInvalidHandle,
				"in-flight deliveries were dropped")
			got := ids(e.recv(recvReq("g", "t", 32)))
			sort.Strings(got)
			require.Equal(t, c.want, got)

			// The reset is persisted at once.
			_, inflight := sumLag(t, e.b, "g", "t")
			require.Equal(t, len(c.want), inflight)
			e.reopen()
			got = ids(e.recv(recvReq("g", "t", 32)))
			sort.Strings(got)
			require.Equal(t, c.want, got)
		})
	}
}

func TestResetOffsetErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	ctx := context.Background()
	require.ErrorIs(t, e.b.ResetOffset(ctx, "g", "t", broker.ResetTarget{}), broker.ErrInvalidArgument)
	require.ErrorIs(t, e.b.ResetOffset(ctx, "g", "t", broker.ResetTarget{Earliest: true, Latest: true}), broker.ErrInvalidArgument)
	require.ErrorIs(t, e.b.ResetOffset(ctx, "nope", "t", broker.ResetTarget{Latest: true}), broker.ErrGroupNotFound)
	require.ErrorIs(t, e.b.ResetOffset(ctx, "g", "nope", broker.ResetTarget{Latest: true}), broker.ErrTopicNotFound)
}

func TestRetentionMovesOffsetUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ms := e.st.(*memstore.Store)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 6, nil)
	ds := e.recv(recvReq("g", "t", 2)) // 0 and 1 in flight
	require.Len(t, ds, 2)
	ms.Trim("t", 0, 4) // retention drops 0..3 before the group finished them

	offs, err := e.b.Offsets("g", "t")
	require.NoError(t, err)
	require.Equal(t, int64(4), offs[0].ConsumerOffset)
	require.Equal(t, int64(2), offs[0].Lag)

	e.clk.Advance(time.Minute) // 0 and 1 expire, but they are gone
	got := e.recv(recvReq("g", "t", 10))
	require.Equal(t, []string{"m-4", "m-5"}, ids(got))
	e.ackAll("g", got)
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, inflight)
}

func TestNewGroupStartsAtEarliestRetained(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ms := e.st.(*memstore.Store)
	e.topic("t", broker.TopicNormal, 1)
	e.send("t", "m", 5, nil)
	ms.Trim("t", 0, 2)
	e.group("late", 0)
	require.Equal(t, []string{"m-2", "m-3", "m-4"}, ids(e.recv(recvReq("late", "t", 10))))
}

// A store that lost data (or was replaced) must not leave the group's offset
// above the queue's end, or new messages would be skipped.
func TestOffsetBeyondStoreEndFollowsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 5, nil)
	e.ackAll("g", e.recv(recvReq("g", "t", 10)))
	require.NoError(t, e.b.Close())

	e.st = memstore.New(memstore.Config{Now: e.clk.Now})
	e.cfg.Store = e.st
	e.open()
	e.send("t", "fresh", 2, nil)
	require.Equal(t, []string{"fresh-0", "fresh-1"}, ids(e.recv(recvReq("g", "t", 10))))
}

func TestMinConsumedAcrossGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("fast", 0)
	e.group("slow", 0)
	e.send("t", "m", 3, nil)
	require.Equal(t, int64(math.MaxInt64), e.b.MinConsumed("t", 0), "before any checkpoint nothing is known to be needed")

	e.ackAll("fast", e.recv(recvReq("fast", "t", 3)))
	e.ackAll("slow", e.recv(recvReq("slow", "t", 1)))
	require.NoError(t, e.b.Close()) // Close checkpoints

	require.Equal(t, int64(1), e.b.MinConsumed("t", 0), "the slowest group still needs offset 1")
	require.Equal(t, int64(math.MaxInt64), e.b.MinConsumed("t", 7), "no group reads that queue")
	require.Equal(t, int64(math.MaxInt64), e.b.MinConsumed("other", 0))
}
