package iam_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func activeKeys(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var ids []string
	require.NoError(t, db.Table("signing_keys").Where("retired_at IS NULL").Order("id").Pluck("id", &ids).Error)
	return ids
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		first := activeKeys(t, db)
		require.Len(t, first, 1)

		// A replica issuing access tokens that outlive any key rotation, to
		// tell "rejected because retired" apart from "rejected because expired".
		longCfg := e.cfg
		longCfg.AccessTokenTTL = 1000 * time.Hour
		long := iam.NewService(e.store, longCfg, nil)
		_, sess := e.signUp(t, "ana@example.com")
		_, longSess, err := long.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)

		replica := e.newService(t)
		_, err = replica.Authenticate(ctx(t), sess.AccessToken)
		require.NoError(t, err)

		second, err := e.svc.RotateSigningKey(ctx(t))
		require.NoError(t, err)
		require.ElementsMatch(t, []string{first[0], second}, activeKeys(t, db))

		// Tokens signed by the old key still verify, here and on the replica.
		_, err = e.svc.Authenticate(ctx(t), sess.AccessToken)
		require.NoError(t, err)
		_, err = replica.Authenticate(ctx(t), sess.AccessToken)
		require.NoError(t, err)

		// New tokens use the new key; the replica has not seen it yet and
		// reloads on the unknown kid.
		_, newSess, err := e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)
		_, err = replica.Authenticate(ctx(t), newSess.AccessToken)
		require.NoError(t, err)

		// Past SigningKeyMaxAge + AccessTokenTTL, rotation retires both old
		// keys, and the long-lived token of the first key, though unexpired,
		// is rejected everywhere.
		e.clock.Advance(e.cfg.SigningKeyMaxAge + e.cfg.AccessTokenTTL + time.Second)
		third, err := e.svc.RotateSigningKey(ctx(t))
		require.NoError(t, err)
		require.Equal(t, []string{third}, activeKeys(t, db))
		_, err = e.svc.Authenticate(ctx(t), longSess.AccessToken)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		_, err = replica.Authenticate(ctx(t), longSess.AccessToken)
		require.ErrorIs(t, err, iam.ErrUnauthenticated, "the replica's key cache expires too")

		_, fresh, err := e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)
		_, err = replica.Authenticate(ctx(t), fresh.AccessToken)
		require.NoError(t, err)
	})
}

func TestEnsureSigningKey(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		k1 := activeKeys(t, db)
		require.NoError(t, e.svc.EnsureSigningKey(ctx(t)))
		require.Equal(t, k1, activeKeys(t, db), "a fresh key is kept")

		// Once the active key reaches SigningKeyMaxAge, a new one takes over
		// and the old one keeps verifying for one more access-token lifetime.
		e.clock.Advance(e.cfg.SigningKeyMaxAge)
		require.NoError(t, e.svc.EnsureSigningKey(ctx(t)))
		require.Len(t, activeKeys(t, db), 2)
		e.clock.Advance(e.cfg.AccessTokenTTL)
		require.NoError(t, e.svc.EnsureSigningKey(ctx(t)))
		require.Len(t, activeKeys(t, db), 2)
		e.clock.Advance(time.Second)
		require.NoError(t, e.svc.EnsureSigningKey(ctx(t)))
		require.Len(t, activeKeys(t, db), 1)
		require.NotEqual(t, k1, activeKeys(t, db))

		// Signing rotates on its own when the active key is too old, so a
		// replica that runs for months needs no restart.
		e.clock.Advance(e.cfg.SigningKeyMaxAge - e.cfg.AccessTokenTTL - time.Second)
		e.signUp(t, "ana@example.com")
		require.Len(t, activeKeys(t, db), 2)
	})
}

func TestEnsureSigningKeyConcurrentReplicas(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		c := &clock{t: time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)}
		store := iamdb.New(db)
		const replicas = 4
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		for i := range replicas {
			svc := iam.NewService(store, testConfig(c), nil)
			wg.Go(func() { errs[i] = svc.EnsureSigningKey(ctx(t)) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, activeKeys(t, db), 1)
	})
}
