package migrations

import (
	"context"
	"fmt"
	"sync"
)

// fileLocks holds one single-slot channel per SQLite file being migrated in
// this process. A channel rather than a sync.Mutex so that waiting honours
// ctx. Entries are never removed: there is one per distinct file, which is a
// handful in production and one per test in tests.
var (
	fileLocksMu sync.Mutex
	fileLocks   = map[string]chan struct{}{}
)

func inProcessLock(ctx context.Context, file string) (unlock func(), err error) {
	fileLocksMu.Lock()
	ch, ok := fileLocks[file]
	if !ok {
		ch = make(chan struct{}, 1)
		fileLocks[file] = ch
	}
	fileLocksMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for migration lock: %w", ctx.Err())
	}
}

// lockSQLite serialises migrations of one SQLite file across goroutines and
// processes. An in-memory database (file == "") is private to its pool, so
// the in-process lock is all it needs.
func lockSQLite(ctx context.Context, file string) (unlock func() error, err error) {
	release, err := inProcessLock(ctx, file)
	if err != nil {
		return nil, err
	}
	if file == "" {
		return func() error { release(); return nil }, nil
	}
	unlockFile, err := flockFile(ctx, file+".migrate.lock")
	if err != nil {
		release()
		return nil, err
	}
	return func() error {
		err := unlockFile()
		release()
		return err
	}, nil
}
