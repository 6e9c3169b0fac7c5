package index_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store/index"
)

func lookup(t *testing.T, x *index.Index, h uint64) []int64 {
	var out []int64
	require.NoError(t, x.Lookup(h, func(off int64) bool { out = append(out, off); return true }))
	return out
}

func TestIndexAcrossFilesAndRecovery(t *testing.T) {
	cfg := index.Config{Dir: t.TempDir(), Slots: 7, Entries: 16}
	x, err := index.Open(cfg, nil, false)
	require.NoError(t, err)
	// Hash h%5 for offsets 0..99: chains share slots and span files.
	for off := range int64(100) {
		require.NoError(t, x.Add(uint64(off%5), off))
	}
	want := func(h uint64, below int64) []int64 {
		var w []int64
		for off := below - 1; off >= 0; off-- {
			if uint64(off%5) == h {
				w = append(w, off)
			}
		}
		return w
	}
	require.Equal(t, want(3, 100), lookup(t, x, 3), "newest first across files")
	require.Empty(t, lookup(t, x, 12345))
	pos := x.Position()
	require.NoError(t, x.Sync())
	for off := int64(100); off < 110; off++ { // after the "checkpoint"
		require.NoError(t, x.Add(uint64(off%5), off))
	}
	require.NoError(t, x.Close())

	// Reopen at the checkpoint as after a crash: later entries are dropped
	// and the slot table rebuilt from the entries that remain.
	x, err = index.Open(cfg, &pos, false)
	require.NoError(t, err)
	require.Equal(t, want(3, 100), lookup(t, x, 3))
	require.NoError(t, x.Add(3, 200))
	require.Equal(t, append([]int64{200}, want(3, 100)...), lookup(t, x, 3))
	n, _, err := x.DeleteBefore(50)
	require.NoError(t, err)
	require.Positive(t, n)
	got := lookup(t, x, 3)
	require.True(t, slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }))
	require.Contains(t, got, int64(53))
	require.NoError(t, x.Close())

	_, err = index.Open(index.Config{Dir: cfg.Dir, Slots: 8, Entries: 16}, &pos, true)
	require.ErrorIs(t, err, index.ErrDamaged, "other sizes need a rebuild")
}
