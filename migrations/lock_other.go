//go:build !unix

package migrations

import "context"

// flockFile is a no-op where flock(2) does not exist: there the in-process
// lock alone guards migrations, which covers the single-process embedded mode.
func flockFile(context.Context, string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
