package filestore_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/store/storetest"
)

// testConfig is a small store in dir: 256 KiB segments, small index and
// queue files, and no background flushes or retention during a test (the
// intervals are an hour), so tests decide when checkpoints and retention
// happen.
func testConfig(t testing.TB, dir string) filestore.Config {
	cfg := filestore.DefaultConfig()
	cfg.Dir = dir
	cfg.SegmentBytes = 256 << 10
	cfg.QueueFileEntries = 64
	cfg.IndexSlots = 64
	cfg.IndexEntries = 256
	cfg.FlushInterval = time.Hour
	cfg.RetentionInterval = time.Hour
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	return cfg
}

func open(t testing.TB, cfg filestore.Config) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, mode := range []store.FlushMode{store.FlushSync, store.FlushAsync} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) store.Store {
				cfg := testConfig(t, t.TempDir())
				cfg.Flush = mode
				cfg.SegmentBytes = 1 << 20
				return open(t, cfg)
			})
		})
	}
}
