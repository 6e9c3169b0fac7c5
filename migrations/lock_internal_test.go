//go:build unix

package migrations

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flock(2) locks belong to open file descriptions, so two flockFile calls in
// one process contend just as two processes would: this covers the
// cross-process case that the in-process lock hides in TestUpConcurrent.
func TestFlockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orbit.db.migrate.lock")
	unlock, err := flockFile(t.Context(), path)
	require.NoError(t, err)

	// While held, a second taker can only give up when its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = flockFile(ctx, path)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, unlock())
	unlock2, err := flockFile(t.Context(), path)
	require.NoError(t, err, "free again after unlock")
	require.NoError(t, unlock2())
	require.FileExists(t, path, "the lock file stays, so waiters and newcomers lock the same inode")
}

func TestInProcessLockHonoursContext(t *testing.T) {
	release, err := inProcessLock(t.Context(), "/x.db")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = inProcessLock(ctx, "/x.db")
	require.ErrorIs(t, err, context.Canceled)
	release()
	release, err = inProcessLock(t.Context(), "/x.db")
	require.NoError(t, err)
	release()
}
