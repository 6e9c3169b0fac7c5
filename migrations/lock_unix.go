//go:build unix

package migrations

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll bounds how long a waiting migrator sleeps between attempts at the
// file lock. Migrations of the embedded SQLite database take milliseconds.
const lockPoll = 50 * time.Millisecond

// flockFile takes an exclusive flock(2) on path, creating it if needed. The
// lock file is left in place afterwards: deleting it would let a waiter lock
// the unlinked inode while a newcomer locks a fresh file.
//
// flock is used non-blocking in a loop because a blocking flock cannot be
// interrupted by ctx. The kernel drops the lock if the process dies, so a
// crashed migrator never wedges the next one.
func flockFile(ctx context.Context, path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open migration lock file: %w", err)
	}
	wait := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("wait for migration lock %s: %w", path, ctx.Err())
		}
		wait = min(2*wait, lockPoll)
	}
	return func() error {
		// Closing the descriptor releases the lock; an explicit LOCK_UN first
		// keeps the release visible even if something else duplicated the fd.
		errUn := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		if err := errors.Join(errUn, f.Close()); err != nil {
			return fmt.Errorf("unlock %s: %w", path, err)
		}
		return nil
	}, nil
}
