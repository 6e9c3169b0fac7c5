package memstore_test

import (
	"testing"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
	"github.com/orbitmq/orbit/dataplane/store/storetest"
)

// TestConformance runs the Store suite every implementation must pass.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New(memstore.Config{}) })
}
