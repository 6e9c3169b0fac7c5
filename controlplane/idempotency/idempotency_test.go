package idempotency_test

import (
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestConcurrentRetriesCreateOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := idempotency.NewStore(db)
		ctx := t.Context()
		const n = 8
		var wg sync.WaitGroup
		results := make([]error, n)
		claimed := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				prev, err := s.Begin(ctx, "acct", "k", "POST", "/api/v1/tokens", []byte("h"))
				results[i] = err
				claimed[i] = err == nil && prev == nil
			})
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if claimed[i] {
				winners++
			} else {
				require.ErrorIs(t, results[i], idempotency.ErrInProgress)
			}
		}
		require.Equal(t, 1, winners, "exactly one request may proceed")

		require.NoError(t, s.Complete(ctx, "acct", "k", idempotency.Response{StatusCode: 201, ContentType: "application/json", Body: []byte(`{"id":"1"}`)}))
		prev, err := s.Begin(ctx, "acct", "k", "POST", "/api/v1/tokens", []byte("h"))
		require.NoError(t, err)
		require.Equal(t, &idempotency.Response{StatusCode: 201, ContentType: "application/json", Body: []byte(`{"id":"1"}`)}, prev)

		_, err = s.Begin(ctx, "acct", "k", "POST", "/api/v1/users", []byte("h"))
		require.ErrorIs(t, err, idempotency.ErrMismatch)
		_, err = s.Begin(ctx, "acct", "k", "POST", "/api/v1/tokens", []byte("other"))
		require.ErrorIs(t, err, idempotency.ErrMismatch)

		// Released keys (failed requests) can be claimed again; completed ones cannot be released.
		_, err = s.Begin(ctx, "acct", "k2", "POST", "/x", []byte("h"))
		require.NoError(t, err)
		require.NoError(t, s.Release(ctx, "acct", "k2"))
		prev, err = s.Begin(ctx, "acct", "k2", "POST", "/x", []byte("h"))
		require.NoError(t, err)
		require.Nil(t, prev)
		require.NoError(t, s.Release(ctx, "acct", "k"))
		prev, err = s.Begin(ctx, "acct", "k", "POST", "/api/v1/tokens", []byte("h"))
		require.NoError(t, err)
		require.NotNil(t, prev, "a completed key survives Release")
	})
}
