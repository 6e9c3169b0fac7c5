package resources

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

// TestResealIsConditional: a reseal based on a stale read (someone resealed
// or replaced the secret since) changes nothing, so a concurrent write is
// never lost.
func TestResealIsConditional(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		now := time.Now().UTC()
		require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES ('acc', 'A', ?)", now).Error)
		require.NoError(t, db.Exec(`INSERT INTO instances (id, account_id, name, spec_code, retention_hours, flush_mode,
			desired, generation, status, admin_token, created_at, updated_at)
			VALUES ('i1', 'acc', 'x', 'rmq.s2.2xlarge', 72, 'async', 'RUNNING', 1, 'RUNNING', 'tok', ?, ?)`, now, now).Error)
		s := NewAccessKeyStore(db)
		require.NoError(t, s.insert(ctx, accessKeyRow{InstanceID: "i1", AccessKey: "AK1", SecretCiphertext: []byte("ct0"), Nonce: []byte("n0"),
			Enabled: true, Permissions: "[]", SourceIPs: "[]", CreatedAt: now, UpdatedAt: now}))
		read, err := s.get(ctx, "i1", "AK1")
		require.NoError(t, err)

		ok, err := s.reseal(ctx, read, []byte("ct1"), []byte("n1"))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.reseal(ctx, read, []byte("ct2"), []byte("n2"))
		require.NoError(t, err)
		require.False(t, ok, "the row no longer holds what was read")
		got, err := s.get(ctx, "i1", "AK1")
		require.NoError(t, err)
		require.Equal(t, []byte("ct1"), got.SecretCiphertext)
		require.Equal(t, []byte("n1"), got.Nonce)

		require.NoError(t, s.delete(ctx, "i1", "AK1"))
		ok, err = s.reseal(ctx, got, []byte("ct3"), []byte("n3"))
		require.NoError(t, err)
		require.False(t, ok, "a deleted row stays deleted")
		var n int64
		require.NoError(t, db.Model(&accessKeyRow{}).Count(&n).Error)
		require.Zero(t, n)
	})
}
