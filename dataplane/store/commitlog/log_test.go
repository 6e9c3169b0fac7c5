package commitlog_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store/commitlog"
)

const segSize = 8192

func frame(payload []byte) []byte {
	f := make([]byte, commitlog.Overhead+len(payload))
	commitlog.PutHeader(f, len(f), 1, 1)
	copy(f[commitlog.HeaderSize:], payload)
	return f
}

// write appends frames with payloads of n bytes and returns their offsets.
func write(t *testing.T, l *commitlog.Log, count, n int) []int64 {
	var offs []int64
	for i := range count {
		f := frame(bytes.Repeat([]byte{byte(i + 1)}, n))
		if !l.Fits(len(f)) {
			require.NoError(t, l.Roll())
		}
		off := l.Pos()
		commitlog.Finish(f, off, int64(1000+i))
		require.NoError(t, l.Write(f, 1, int64(1000+i)))
		offs = append(offs, off)
	}
	require.NoError(t, l.Sync())
	return offs
}

func openLog(t *testing.T, dir string) *commitlog.Log {
	l, err := commitlog.Open(commitlog.Config{Dir: dir, SegmentBytes: segSize})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func recoverAll(t *testing.T, l *commitlog.Log, durable int64) ([]int64, commitlog.Result) {
	var seen []int64
	res, err := l.Recover(commitlog.RecoverOptions{From: l.Min(), Durable: durable}, func(off int64, f []byte) error {
		seen = append(seen, off)
		return nil
	})
	require.NoError(t, err)
	return seen, res
}

func TestLogRollsSealsAndReads(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	_, err := l.Recover(commitlog.RecoverOptions{}, nil)
	require.NoError(t, err)
	offs := write(t, l, 40, 500)
	segs := l.Segments()
	require.Greater(t, len(segs), 2)
	for _, s := range segs[:len(segs)-1] {
		require.True(t, s.Sealed, "a full segment is sealed")
		require.Positive(t, s.Stamp)
	}
	for i, off := range offs {
		f, err := l.ReadFrame(off, nil)
		require.NoError(t, err)
		require.Equal(t, byte(i+1), commitlog.Payload(f)[0])
	}
	_, err = l.ReadFrame(offs[3]+1, nil)
	require.ErrorIs(t, err, commitlog.ErrNoFrame)
	require.NoError(t, l.Close())

	l = openLog(t, dir)
	seen, res := recoverAll(t, l, 0)
	require.Equal(t, offs, seen)
	require.Nil(t, res.Cut)
	require.NoError(t, l.DeleteOldest(0))
	_, err = l.ReadFrame(offs[0], nil)
	require.ErrorIs(t, err, commitlog.ErrGone)
	require.Error(t, l.DeleteOldest(l.Segments()[len(l.Segments())-1].Base), "never the active segment")
}

func TestLogRecoverClassifiesDamage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string, offs []int64)
		keep    int
		corrupt bool
	}{
		{"torn last frame", func(t *testing.T, p string, offs []int64) {
			require.NoError(t, os.Truncate(p, offs[len(offs)-1]%segSize+40))
		}, -1, false},
		{"flipped byte before an intact frame", func(t *testing.T, p string, offs []int64) {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte{0xFF}, offs[len(offs)-3]%segSize+commitlog.HeaderSize+3)
			require.NoError(t, err)
		}, -3, true},
		{"bad length field", func(t *testing.T, p string, offs []int64) {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			b := binary.LittleEndian.AppendUint32(nil, 1<<30)
			_, err = f.WriteAt(b, offs[len(offs)-2]%segSize+4)
			require.NoError(t, err)
		}, -2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			_, err := l.Recover(commitlog.RecoverOptions{}, nil)
			require.NoError(t, err)
			offs := write(t, l, 8, 300) // one segment
			require.Len(t, l.Segments(), 1)
			require.NoError(t, l.Close())
			tc.damage(t, filepath.Join(dir, "00000000000000000000"), offs)
			l = openLog(t, dir)
			seen, res := recoverAll(t, l, 0)
			keep := len(offs) + tc.keep
			require.Equal(t, offs[:keep], seen)
			require.NotNil(t, res.Cut)
			require.Equal(t, offs[keep], res.Cut.At)
			require.Equal(t, tc.corrupt, res.Cut.Corrupt)
			require.Equal(t, offs[keep], l.Pos(), "writing goes on at the cut")
		})
	}
}

func TestLogKeepsItsSegmentSize(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	require.NoError(t, l.Close())
	l2, err := commitlog.Open(commitlog.Config{Dir: dir, SegmentBytes: 2 * segSize})
	require.NoError(t, err)
	defer l2.Close()
	require.Equal(t, int64(segSize), l2.SegmentBytes())
}
