package consumequeue_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
)

func TestQueuePutReadSearchReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t", "0")
	q := consumequeue.New(dir, 64)
	for i := range int64(200) {
		require.NoError(t, q.Put(i, consumequeue.Entry{Offset: i * 100, Size: 90, TagHash: uint32(i), Stamp: i * 10}))
	}
	got := make([]consumequeue.Entry, 5)
	require.NoError(t, q.Read(62, got)) // crosses a file boundary
	require.Equal(t, int64(6200), got[0].Offset)
	require.Equal(t, int64(6600), got[4].Offset)
	require.Equal(t, int64(120), q.Search(0, 200, func(e consumequeue.Entry) bool { return e.Stamp >= 1195 }))
	require.NoError(t, q.Sync())
	require.NoError(t, q.Close())

	q, err := consumequeue.Open(dir, 64, 150) // a checkpoint at 150: later files go
	require.NoError(t, err)
	e, err := q.Get(149)
	require.NoError(t, err)
	require.Equal(t, int64(14900), e.Offset)
	require.NoError(t, q.Put(150, consumequeue.Entry{Offset: 1, Size: 1}), "the writer continues at the checkpoint")
	freed, err := q.DeleteBefore(130)
	require.NoError(t, err)
	require.Positive(t, freed)
	_, err = q.Get(10)
	require.ErrorIs(t, err, consumequeue.ErrDamaged, "entries of deleted files are gone")
	require.Equal(t, int64(128), q.Search(0, 150, func(e consumequeue.Entry) bool { return e.Offset >= 0 }))
	_, err = q.DeleteBefore(1000)
	require.NoError(t, err)
	_, err = q.Get(150)
	require.NoError(t, err, "the newest file stays: it keeps the queue's end")
	require.NoError(t, q.Close())
}

func TestQueueOpenRejectsDamage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	q := consumequeue.New(dir, 64)
	for i := range int64(100) {
		require.NoError(t, q.Put(i, consumequeue.Entry{Offset: i, Size: 1}))
	}
	require.NoError(t, q.Close())
	_, err := consumequeue.Open(dir, 64, 101)
	require.ErrorIs(t, err, consumequeue.ErrDamaged, "an entry the checkpoint promised is missing")
	_, err = consumequeue.Open(dir, 32, 100)
	require.ErrorIs(t, err, consumequeue.ErrDamaged, "other file geometry")
	require.NoError(t, os.Truncate(filepath.Join(dir, "00000000000000000064"), 10))
	_, err = consumequeue.Open(dir, 64, 100)
	require.ErrorIs(t, err, consumequeue.ErrDamaged)
	_, err = consumequeue.Open(filepath.Join(dir, "missing"), 64, 1)
	require.ErrorIs(t, err, consumequeue.ErrDamaged)
}
