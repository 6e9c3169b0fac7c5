package filestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/store/storetest"
)

const (
	recTopic  = "r"
	recQueues = 4
	segBytes  = 64 << 10
)

// appendMany appends n messages (500-byte bodies) round-robin over the test
// queues, ten per Append, numbering them from start.
func appendMany(t testing.TB, s store.Store, start, n int) []*store.Message {
	t.Helper()
	var out []*store.Message
	for i := start; i < start+n; i += 10 {
		var batch []*store.Message
		for j := i; j < min(i+10, start+n); j++ {
			m := storetest.Message(recTopic, int32(j%recQueues), j)
			m.Body = bytes.Repeat([]byte{byte(j)}, 500)
			batch = append(batch, m)
		}
		require.NoError(t, s.Append(context.Background(), batch))
		out = append(out, batch...)
	}
	return out
}

// requirePrefix checks that exactly msgs[:k] are in the store: every queue
// holds its share of them in order and nothing else, and none of the rest
// can be found by id.
func requirePrefix(t *testing.T, s store.Store, msgs []*store.Message, k int) {
	t.Helper()
	ctx := context.Background()
	want := map[int32][]*store.Message{}
	for _, m := range msgs[:k] {
		want[m.QueueID] = append(want[m.QueueID], m)
	}
	for q := range int32(recQueues) {
		require.Equal(t, store.QueueRange{Min: 0, Max: int64(len(want[q]))}, s.Range(recTopic, q), "queue %d", q)
		got := storetest.ReadAll(t, s, recTopic, q)
		require.Len(t, got, len(want[q]))
		for i := range got {
			storetest.RequireSame(t, want[q][i], got[i])
		}
	}
	for i, m := range msgs {
		ids, err := s.LookupID(ctx, m.MessageID)
		require.NoError(t, err)
		if i < k {
			require.Equal(t, []int64{m.CommitLogOffset}, ids, "message %d", i)
		} else {
			require.Empty(t, ids, "message %d was lost, the index must not find it", i)
			_, err := s.Get(ctx, m.CommitLogOffset)
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	keys, err := s.LookupKey(ctx, recTopic, "shared", 0)
	require.NoError(t, err)
	require.Len(t, keys, k)
}

func segmentPath(dir string, off int64) (string, int64) {
	base := off / segBytes * segBytes
	return filepath.Join(dir, "commitlog", fmt.Sprintf("%020d", base)), off - base
}

// recoveryFixture is a store that was closed once after 150 messages (so
// its checkpoint covers them), reopened, and given 250 more; it stays open,
// and each test takes a copy of its directory as a crashed disk.
type recoveryFixture struct {
	dir      string
	msgs     []*store.Message
	cpCount  int // messages covered by the crash image's checkpoint
	segments int
}

func newRecoveryFixture(t *testing.T) *recoveryFixture {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SegmentBytes = segBytes
	s := open(t, cfg)
	f := &recoveryFixture{dir: dir, msgs: appendMany(t, s, 0, 150), cpCount: 150}
	require.NoError(t, s.Close())
	s = open(t, cfg)
	f.msgs = append(f.msgs, appendMany(t, s, 150, 250)...)
	f.segments = s.Stats().Segments
	require.GreaterOrEqual(t, f.segments, 4, "the fixture must span several segments")
	return f
}

// index of the first message in the segment of msgs[i] and the next segment.
func (f *recoveryFixture) segmentStart(i int) int {
	seg := f.msgs[i].CommitLogOffset / segBytes
	for j := range f.msgs {
		if f.msgs[j].CommitLogOffset/segBytes == seg {
			return j
		}
	}
	return -1
}

func TestRecoverDamagedFiles(t *testing.T) {
	f := newRecoveryFixture(t)
	n := len(f.msgs)
	last := f.msgs[n-1]
	// A message of the second phase in a sealed segment, not the last one.
	midSealed := f.segmentStart(n-1) - 20
	require.Greater(t, midSealed, f.cpCount)
	cases := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		keep    int  // messages that must survive: msgs[:keep]
		corrupt bool // recovery reports corruption (not just a torn tail)
	}{
		{"crash", func(*testing.T, string) {}, n, false},
		{"tail cut inside the last record", func(t *testing.T, d string) {
			p, at := segmentPath(d, last.CommitLogOffset)
			storetest.Truncate(t, p, at+int64(last.StoreSize)/2)
		}, n - 1, false},
		{"tail cut inside a header, mid-batch", func(t *testing.T, d string) {
			m := f.msgs[n-5]
			p, at := segmentPath(d, m.CommitLogOffset)
			storetest.Truncate(t, p, at+10)
		}, n - 5, false},
		{"record zeroed, later ones on disk", func(t *testing.T, d string) {
			// Pages reach the disk out of order: a lost page with
			// intact frames after it. They must not come back.
			m := f.msgs[n-3]
			p, at := segmentPath(d, m.CommitLogOffset)
			storetest.WriteAt(t, p, at, make([]byte, m.StoreSize))
		}, n - 3, false},
		{"byte flipped in the last record", func(t *testing.T, d string) {
			p, at := segmentPath(d, last.CommitLogOffset)
			storetest.FlipByte(t, p, at+int64(last.StoreSize)-2)
		}, n - 1, false},
		{"byte flipped mid-log after the checkpoint", func(t *testing.T, d string) {
			m := f.msgs[midSealed]
			p, at := segmentPath(d, m.CommitLogOffset)
			storetest.FlipByte(t, p, at+100)
		}, midSealed, true},
		{"garbage after the end of the log", func(t *testing.T, d string) {
			p, at := segmentPath(d, last.CommitLogOffset)
			storetest.WriteAt(t, p, at+int64(last.StoreSize), bytes.Repeat([]byte{0xA5, 0x3C, 0x01}, 200))
		}, n, false},
		{"garbage past the segment file's end", func(t *testing.T, d string) {
			p, _ := segmentPath(d, last.CommitLogOffset)
			storetest.WriteAt(t, p, segBytes, bytes.Repeat([]byte{0xEE}, 5000))
		}, n, false},
		{"consume queues and index deleted", func(t *testing.T, d string) {
			require.NoError(t, os.RemoveAll(filepath.Join(d, "consumequeue")))
			require.NoError(t, os.RemoveAll(filepath.Join(d, "index")))
		}, n, false},
		{"index files deleted", func(t *testing.T, d string) {
			require.NoError(t, os.RemoveAll(filepath.Join(d, "index")))
		}, n, false},
		{"consume-queue file cut short", func(t *testing.T, d string) {
			storetest.Truncate(t, filepath.Join(d, "consumequeue", recTopic, "1", fmt.Sprintf("%020d", 0)), 100)
		}, n, false},
		{"checkpoint deleted", func(t *testing.T, d string) {
			require.NoError(t, os.Remove(filepath.Join(d, "checkpoint")))
		}, n, false},
		{"checkpoint damaged", func(t *testing.T, d string) {
			storetest.FlipByte(t, filepath.Join(d, "checkpoint"), 20)
		}, n, false},
		{"checkpoint deleted and tail torn", func(t *testing.T, d string) {
			require.NoError(t, os.Remove(filepath.Join(d, "checkpoint")))
			p, at := segmentPath(d, last.CommitLogOffset)
			storetest.Truncate(t, p, at+int64(last.StoreSize)-1)
		}, n - 1, false},
		{"log cut below the checkpoint", func(t *testing.T, d string) {
			m := f.msgs[100]
			p, at := segmentPath(d, m.CommitLogOffset)
			storetest.Truncate(t, p, at+50)
		}, 100, true},
		{"segment missing in the middle", func(t *testing.T, d string) {
			p, _ := segmentPath(d, segBytes)
			require.NoError(t, os.Remove(p))
		}, f.segmentStart(0) + countInSegment(f.msgs, 0), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			storetest.CopyDir(t, f.dir, dir)
			tc.damage(t, dir)
			cfg := testConfig(t, dir)
			cfg.SegmentBytes = segBytes
			s := open(t, cfg)
			requirePrefix(t, s, f.msgs, tc.keep)
			st := s.Stats()
			if tc.corrupt {
				require.Positive(t, st.CorruptRecords, "corruption is reported")
				require.Positive(t, st.TruncatedBytes)
			} else {
				require.Zero(t, st.CorruptRecords)
			}
			// The store goes on where the intact data ends, and nothing
			// cut away comes back after another restart.
			more := appendMany(t, s, 1000, 8)
			for _, m := range more {
				require.GreaterOrEqual(t, m.CommitLogOffset, st.MaxCommitLog)
			}
			require.NoError(t, s.Close())
			s = open(t, cfg)
			want := append(append([]*store.Message{}, f.msgs[:tc.keep]...), more...)
			requirePrefix(t, s, want, len(want))
		})
	}
}

func countInSegment(msgs []*store.Message, seg int64) int {
	n := 0
	for _, m := range msgs {
		if m.CommitLogOffset/segBytes == seg {
			n++
		}
	}
	return n
}

// A record damaged below the checkpoint is not rescanned at open (that
// would mean reading the whole log); reads verify every record and report
// it instead, and the rest of the log stays readable.
func TestRecoverFlipBelowCheckpointFoundByRead(t *testing.T) {
	f := newRecoveryFixture(t)
	dir := t.TempDir()
	storetest.CopyDir(t, f.dir, dir)
	bad := f.msgs[42]
	p, at := segmentPath(dir, bad.CommitLogOffset)
	storetest.FlipByte(t, p, at+200)
	cfg := testConfig(t, dir)
	cfg.SegmentBytes = segBytes
	s := open(t, cfg)
	ctx := context.Background()
	_, err := s.Read(ctx, recTopic, bad.QueueID, bad.QueueOffset, 5, 1<<20)
	require.ErrorIs(t, err, store.ErrCorrupt)
	got, err := s.Read(ctx, recTopic, bad.QueueID, bad.QueueOffset-2, 5, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 2, "a read stops before the damaged record")
	_, err = s.Get(ctx, bad.CommitLogOffset)
	require.ErrorIs(t, err, store.ErrCorrupt)
	got, err = s.Read(ctx, recTopic, bad.QueueID, bad.QueueOffset+1, 500, 1<<20)
	require.NoError(t, err)
	require.NotEmpty(t, got, "what follows stays readable")
	require.Positive(t, s.Stats().CorruptRecords)
}

func TestReopenKeepsEverything(t *testing.T) {
	for _, mode := range []store.FlushMode{store.FlushSync, store.FlushAsync} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, t.TempDir())
			cfg.Flush = mode
			cfg.SegmentBytes = segBytes
			s := open(t, cfg)
			msgs := appendMany(t, s, 0, 300)
			require.NoError(t, s.DeleteQueues("gone"))
			storetest.Fill(t, s, "gone", 0, 3)
			require.NoError(t, s.DeleteQueues("gone"))
			before := s.Stats()
			require.NoError(t, s.Close())

			s = open(t, cfg)
			requirePrefix(t, s, msgs, len(msgs))
			after := s.Stats()
			require.Equal(t, before.MaxCommitLog, after.MaxCommitLog)
			require.Equal(t, before.Segments, after.Segments)
			require.Equal(t, store.QueueRange{}, s.Range("gone", 0), "deleted queues stay deleted")
			for _, m := range []*store.Message{msgs[0], msgs[150], msgs[299]} {
				off, err := s.OffsetForTime(context.Background(), recTopic, m.QueueID, m.StoreTime)
				require.NoError(t, err)
				require.LessOrEqual(t, off, m.QueueOffset)
			}
			more := appendMany(t, s, 300, 4)
			require.Equal(t, int64(75), more[0].QueueOffset, "offsets continue")
		})
	}
}

func TestDeleteQueuesSurvivesRebuild(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	s := open(t, cfg)
	storetest.Fill(t, s, "x", 0, 5)
	require.NoError(t, s.DeleteQueues("x"))
	again := storetest.Fill(t, s, "x", 0, 2)
	crash := t.TempDir()
	storetest.CopyDir(t, dir, crash)
	require.NoError(t, os.Remove(filepath.Join(crash, "checkpoint")))
	cfg.Dir = crash
	s2 := open(t, cfg)
	require.Equal(t, store.QueueRange{Min: 0, Max: 2}, s2.Range("x", 0), "the tombstone is replayed")
	got := storetest.ReadAll(t, s2, "x", 0)
	storetest.RequireSame(t, again[0], got[0])
	storetest.RequireSame(t, again[1], got[1])
}

func TestOpenRefusesSecondProcess(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	open(t, cfg)
	_, err := filestore.Open(cfg)
	require.Error(t, err)
}

func TestAppendTooLarge(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentBytes = segBytes
	s := open(t, cfg)
	m := storetest.Message("big", 0, 0)
	m.Body = make([]byte, segBytes)
	require.ErrorIs(t, s.Append(context.Background(), []*store.Message{m}), store.ErrTooLarge)
	m.Body = make([]byte, segBytes-1024) // the largest that fits a segment
	require.NoError(t, s.Append(context.Background(), []*store.Message{m}))
	got, err := s.Get(context.Background(), m.CommitLogOffset)
	require.NoError(t, err)
	storetest.RequireSame(t, m, got)
}
