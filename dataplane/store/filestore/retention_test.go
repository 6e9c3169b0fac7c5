package filestore_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/storetest"
)

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// firstKept returns, per queue, the first message whose record is at or
// above minCL, and how many of the queue's messages are below it.
func firstKept(msgs []*store.Message, minCL int64) map[int32]int64 {
	lost := map[int32]int64{}
	for _, m := range msgs {
		if m.CommitLogOffset < minCL {
			lost[m.QueueID]++
		}
	}
	return lost
}

func TestRetentionByAge(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentBytes = segBytes
	cfg.RetentionHours = 1
	cfg.Now = clk.Now
	// Queue 0's group has consumed everything; the other queues' groups
	// nothing.
	cfg.MinConsumed = func(topic string, q int32) int64 {
		if q == 0 {
			return math.MaxInt64
		}
		return 0
	}
	s := open(t, cfg)
	ctx := context.Background()
	old := appendMany(t, s, 0, 250) // about 2.5 segments
	clk.Add(2 * time.Hour)
	recent := appendMany(t, s, 250, 150)
	clk.Add(30 * time.Minute)

	rep, err := s.EnforceRetention(ctx)
	require.NoError(t, err)
	// Segments holding only old messages go; the one where old and recent
	// meet stays, since its newest message is recent.
	boundary := recent[0].CommitLogOffset / segBytes * segBytes
	require.Equal(t, int(boundary/segBytes), rep.DeletedSegments)
	require.Positive(t, rep.DeletedSegments)
	require.Equal(t, boundary, rep.MinCommitLog)
	st := s.Stats()
	require.Equal(t, int64(rep.DeletedSegments), st.DeletedSegments)
	require.Equal(t, int64(rep.DeletedSegments), st.UnreadDeletions, "every deleted segment held unconsumed messages")
	require.Equal(t, boundary, st.MinCommitLog)
	require.Equal(t, int64(1), st.RetentionRuns)
	require.True(t, st.LastRetention.Equal(clk.Now()))

	all := append(append([]*store.Message{}, old...), recent...)
	lost := firstKept(all, boundary)
	var wantUnread int64
	for q := range int32(recQueues) {
		r := s.Range(recTopic, q)
		require.Equal(t, lost[q], r.Min, "queue %d: Min moves past the deleted records", q)
		require.Equal(t, int64(100), r.Max)
		_, err := s.Read(ctx, recTopic, q, r.Min-1, 1, 1<<20)
		require.ErrorIs(t, err, store.ErrOffsetRange)
		got, err := s.Read(ctx, recTopic, q, r.Min, 1, 1<<20)
		require.NoError(t, err)
		require.Equal(t, r.Min, got[0].QueueOffset)
		if q != 0 {
			wantUnread += lost[q]
		}
	}
	require.Equal(t, wantUnread, st.UnreadMessages)
	ids, err := s.LookupID(ctx, old[0].MessageID)
	require.NoError(t, err)
	require.Empty(t, ids, "the index forgets deleted records")
	_, err = s.Get(ctx, old[0].CommitLogOffset)
	require.ErrorIs(t, err, store.ErrNotFound)
	ids, err = s.LookupID(ctx, recent[0].MessageID)
	require.NoError(t, err)
	require.Equal(t, []int64{recent[0].CommitLogOffset}, ids)

	rep, err = s.EnforceRetention(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.DeletedSegments, "nothing else is old enough")

	// A restart keeps what retention did.
	require.NoError(t, s.Close())
	s = open(t, cfg)
	for q := range int32(recQueues) {
		require.Equal(t, store.QueueRange{Min: lost[q], Max: 100}, s.Range(recTopic, q))
	}
	// Much later everything is old, but the active segment stays.
	clk.Add(48 * time.Hour)
	_, err = s.EnforceRetention(ctx)
	require.NoError(t, err)
	st = s.Stats()
	require.Equal(t, 1, st.Segments)
	last := recent[len(recent)-1]
	require.Equal(t, last.CommitLogOffset/segBytes*segBytes, st.MinCommitLog)
	got, err := s.Read(ctx, recTopic, last.QueueID, last.QueueOffset, 1, 1<<20)
	require.NoError(t, err)
	storetest.RequireSame(t, last, got[0])
	more := appendMany(t, s, 400, 4)
	require.Equal(t, int64(100), more[0].QueueOffset, "offsets go on after retention")
}

func TestRetentionBySize(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentBytes = segBytes
	cfg.MaxBytes = 5 * segBytes
	cfg.NoPretouch = true // a segment prepared in the background would make disk use vary
	s := open(t, cfg)
	msgs := appendMany(t, s, 0, 800) // about 8 segments
	require.Greater(t, s.Stats().DiskUsedBytes, cfg.MaxBytes)
	rep, err := s.EnforceRetention(context.Background())
	require.NoError(t, err)
	require.Positive(t, rep.DeletedSegments)
	st := s.Stats()
	require.LessOrEqual(t, st.DiskUsedBytes, cfg.MaxBytes, "oldest first until under the limit")
	require.Zero(t, st.UnreadDeletions, "no MinConsumed: nothing to count")
	lost := firstKept(msgs, st.MinCommitLog)
	for q := range int32(recQueues) {
		require.Equal(t, store.QueueRange{Min: lost[q], Max: 200}, s.Range(recTopic, q))
		require.Len(t, storetest.ReadAll(t, s, recTopic, q), int(200-lost[q]))
	}
}

func TestRetentionByDiskUsage(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentBytes = segBytes
	cfg.MaxDiskUsedPercent = 1 // any real file system is fuller than this
	s := open(t, cfg)
	appendMany(t, s, 0, 400)
	_, err := s.EnforceRetention(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, s.Stats().Segments, "everything but the active segment goes")
}

func TestStoreTimeFromClock(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t, t.TempDir())
	cfg.Now = clk.Now
	s := open(t, cfg)
	ctx := context.Background()
	start := clk.Now()
	var msgs []*store.Message
	for i := range 20 {
		msgs = append(msgs, storetest.Fill(t, s, "tm", 0, 1)...)
		require.True(t, msgs[i].StoreTime.Equal(start.Add(time.Duration(i)*time.Second)))
		clk.Add(time.Second)
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{start.Add(-time.Hour), 0},
		{start, 0},
		{start.Add(10 * time.Second), 10},
		{start.Add(10*time.Second + 1), 11},
		{start.Add(19 * time.Second), 19},
		{start.Add(20 * time.Second), 20},
	} {
		got, err := s.OffsetForTime(ctx, "tm", 0, tc.at)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "at %v", tc.at)
	}
	clk.Add(-time.Hour) // the clock steps back
	back := storetest.Fill(t, s, "tm", 0, 1)
	require.False(t, back[0].StoreTime.Before(msgs[19].StoreTime), "store times never go back")
}

// A queue whose every message retention removed keeps its end offset over
// restarts and rebuilds: starting again at 0 would put it behind the
// offsets its consumers committed.
func TestRetentionKeepsOffsetsOfEmptiedQueues(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SegmentBytes = segBytes
	cfg.RetentionHours = 1
	cfg.Now = clk.Now
	s := open(t, cfg)
	ctx := context.Background()
	for i := range 128 { // two whole consume-queue files
		m := storetest.Message("emptied", 0, i)
		m.Body = make([]byte, 500)
		require.NoError(t, s.Append(ctx, []*store.Message{m}))
	}
	clk.Add(2 * time.Hour)
	appendMany(t, s, 0, 200)
	clk.Add(48 * time.Hour)
	_, err := s.EnforceRetention(ctx)
	require.NoError(t, err)
	want := store.QueueRange{Min: 128, Max: 128}
	require.Equal(t, want, s.Range("emptied", 0))
	require.NoError(t, s.Close())

	s = open(t, cfg)
	require.Equal(t, want, s.Range("emptied", 0), "after a restart")
	crash := t.TempDir()
	storetest.CopyDir(t, dir, crash)
	require.NoError(t, s.Close())
	require.NoError(t, os.RemoveAll(filepath.Join(crash, "consumequeue")))
	rcfg := cfg
	rcfg.Dir = crash
	s = open(t, rcfg)
	require.Equal(t, want, s.Range("emptied", 0), "after a rebuild from the log")
	got, err := s.Read(ctx, "emptied", 0, 128, 10, 1<<20)
	require.NoError(t, err)
	require.Empty(t, got)
	next := storetest.Fill(t, s, "emptied", 0, 1)
	require.Equal(t, int64(128), next[0].QueueOffset)
	require.NoError(t, s.Close())
	s = open(t, rcfg)
	require.Equal(t, store.QueueRange{Min: 128, Max: 129}, s.Range("emptied", 0))
}
