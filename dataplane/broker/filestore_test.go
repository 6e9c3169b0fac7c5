package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
)

// fileStore opens a small filestore: tiny segments and indexes keep the test
// cheap, and async flush is enough since nothing here crashes.
func fileStore(t *testing.T, now func() time.Time) store.Store {
	t.Helper()
	st, err := filestore.Open(filestore.Config{
		Dir:              t.TempDir(),
		Flush:            store.FlushAsync,
		SegmentBytes:     4 << 20,
		QueueFileEntries: 1 << 10,
		IndexSlots:       1 << 10,
		IndexEntries:     1 << 12,
		NoPretouch:       true,
		Now:              now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
}

func TestScenariosFilestore(t *testing.T) {
	t.Parallel()
	storeScenarios(t, fileStore)
}
