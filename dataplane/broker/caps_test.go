package broker_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// TestCapsPersist: a topic's send cap and a group's receive cap and retry
// interval are stored with the definitions, survive a restart, and are
// replaced (not merged) by updates.
func TestCapsPersist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.b.CreateTopic(ctx, broker.Topic{Name: "capped", Type: broker.TopicNormal, Queues: 2, MaxSendTPS: 5})
	require.NoError(t, err)
	e.topic("open", broker.TopicNormal, 2)
	_, err = e.b.CreateGroup(ctx, broker.Group{Name: "slow", MaxReceiveTPS: 7, RetryInterval: 2 * time.Second})
	require.NoError(t, err)
	e.group("plain", 0)

	e.reopen()
	capped, err := e.b.GetTopic("capped")
	require.NoError(t, err)
	require.Equal(t, int32(5), capped.MaxSendTPS)
	open, err := e.b.GetTopic("open")
	require.NoError(t, err)
	require.Zero(t, open.MaxSendTPS)
	slow, err := e.b.GetGroup("slow")
	require.NoError(t, err)
	require.Equal(t, int32(7), slow.MaxReceiveTPS)
	require.Equal(t, 2*time.Second, slow.RetryInterval)
	plain, err := e.b.GetGroup("plain")
	require.NoError(t, err)
	require.Zero(t, plain.MaxReceiveTPS)
	require.Zero(t, plain.RetryInterval)

	capped.MaxSendTPS = 0
	_, err = e.b.UpdateTopic(ctx, capped)
	require.NoError(t, err)
	slow.MaxReceiveTPS, slow.RetryInterval = 100, time.Hour
	_, err = e.b.UpdateGroup(ctx, slow)
	require.NoError(t, err)
	e.reopen()
	capped, err = e.b.GetTopic("capped")
	require.NoError(t, err)
	require.Zero(t, capped.MaxSendTPS)
	slow, err = e.b.GetGroup("slow")
	require.NoError(t, err)
	require.Equal(t, int32(100), slow.MaxReceiveTPS)
	require.Equal(t, time.Hour, slow.RetryInterval)
}

// TestCapsOldMetadataLoads: definitions written before the caps existed
// (JSON without the fields) load with no caps.
func TestCapsOldMetadataLoads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.NoError(t, e.b.Close())
	e.b = nil
	db, err := bolt.Open(filepath.Join(e.cfg.DataDir, "meta.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("topics")).Put([]byte("old"),
			[]byte(`{"Name":"old","Type":"NORMAL","Queues":4,"CreatedAt":"2025-01-02T03:04:05Z","UpdatedAt":"2025-01-02T03:04:05Z"}`)); err != nil {
			return err
		}
		return tx.Bucket([]byte("groups")).Put([]byte("oldg"),
			[]byte(`{"Name":"oldg","Orderly":false,"MaxRetries":16,"CreatedAt":"2025-01-02T03:04:05Z","UpdatedAt":"2025-01-02T03:04:05Z"}`))
	}))
	require.NoError(t, db.Close())
	e.open()
	tp, err := e.b.GetTopic("old")
	require.NoError(t, err)
	require.Equal(t, int32(4), tp.Queues)
	require.Zero(t, tp.MaxSendTPS)
	g, err := e.b.GetGroup("oldg")
	require.NoError(t, err)
	require.Equal(t, int32(16), g.MaxRetries)
	require.Zero(t, g.MaxReceiveTPS)
	require.Zero(t, g.RetryInterval)
}

func TestCapsValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.topic("existing", broker.TopicNormal, 1)
	e.group("existing-g", 0)
	topics := []struct {
		name string
		tps  int32
		ok   bool
	}{
		{"no cap", 0, true},
		{"one", 1, true},
		{"large", 1_000_000, true},
		{"negative", -1, false},
	}
	for i, c := range topics {
		t.Run("topic "+c.name, func(t *testing.T) {
			_, err := e.b.CreateTopic(ctx, broker.Topic{Name: "t" + string(rune('a'+i)), Type: broker.TopicNormal, Queues: 1, MaxSendTPS: c.tps})
			_, uerr := e.b.UpdateTopic(ctx, broker.Topic{Name: "existing", Type: broker.TopicNormal, Queues: 1, MaxSendTPS: c.tps})
			if c.ok {
				require.NoError(t, err)
				require.NoError(t, uerr)
				return
			}
			require.ErrorIs(t, err, broker.ErrInvalidArgument)
			require.ErrorIs(t, uerr, broker.ErrInvalidArgument)
		})
	}
	groups := []struct {
		name  string
		tps   int32
		retry time.Duration
		ok    bool
	}{
		{"defaults", 0, 0, true},
		{"one second", 10, time.Second, true},
		{"two hours", 0, 2 * time.Hour, true},
		{"negative tps", -5, 0, false},
		{"negative interval", 0, -time.Second, false},
		{"sub-second", 0, 500 * time.Millisecond, false},
		{"fractional", 0, 1500 * time.Millisecond, false},
		{"over two hours", 0, 7201 * time.Second, false},
	}
	for i, c := range groups {
		t.Run("group "+c.name, func(t *testing.T) {
			_, err := e.b.CreateGroup(ctx, broker.Group{Name: "g" + string(rune('a'+i)), MaxReceiveTPS: c.tps, RetryInterval: c.retry})
			_, uerr := e.b.UpdateGroup(ctx, broker.Group{Name: "existing-g", MaxReceiveTPS: c.tps, RetryInterval: c.retry})
			if c.ok {
				require.NoError(t, err)
				require.NoError(t, uerr)
				return
			}
			require.ErrorIs(t, err, broker.ErrInvalidArgument)
			require.ErrorIs(t, uerr, broker.ErrInvalidArgument)
		})
	}
	// A refused update leaves the stored definition alone.
	g, err := e.b.GetGroup("existing-g")
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, g.RetryInterval)
}
