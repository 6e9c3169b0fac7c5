package resources_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func insertInstance(t *testing.T, db *gorm.DB, id string) {
	t.Helper()
	now := time.Now().UTC()
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES (?, 'A', ?)", "acc-"+id, now).Error)
	require.NoError(t, db.Exec(`INSERT INTO instances (id, account_id, name, spec_code, retention_hours, flush_mode,
		desired, generation, status, admin_token, created_at, updated_at)
		VALUES (?, ?, 'x', 'rmq.s2.2xlarge', 72, 'async', 'RUNNING', 1, 'RUNNING', 'tok', ?, ?)`, id, "acc-"+id, now, now).Error)
}

func TestStoreQuotaFilterAndCascade(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		insertInstance(t, db, "i1")
		insertInstance(t, db, "i2")
		s := resources.NewStore(db)
		now := time.Now().UTC().Truncate(time.Microsecond)
		topic := func(inst, name, typ string) resources.Topic {
			return resources.Topic{InstanceID: inst, Name: name, MessageType: typ, QueueCount: 8, CreatedAt: now, UpdatedAt: now}
		}
		require.NoError(t, s.CreateTopic(ctx, topic("i1", "a_b", resources.TypeNormal), 3))
		require.NoError(t, s.CreateTopic(ctx, topic("i1", "axb", resources.TypeFIFO), 3))
		require.ErrorIs(t, s.CreateTopic(ctx, topic("i1", "a_b", resources.TypeNormal), 3), resources.ErrTopicExists)
		require.NoError(t, s.CreateTopic(ctx, topic("i1", "c", resources.TypeNormal), 3))
		require.ErrorIs(t, s.CreateTopic(ctx, topic("i1", "d", resources.TypeNormal), 3), resources.ErrQuotaExceeded)
		// The quota is per instance.
		require.NoError(t, s.CreateTopic(ctx, topic("i2", "d", resources.TypeNormal), 3))

		names := func(f resources.TopicFilter) []string {
			ts, err := s.ListTopics(ctx, "i1", f)
			require.NoError(t, err)
			var out []string
			for _, t := range ts {
				out = append(out, t.Name)
			}
			return out
		}
		require.Equal(t, []string{"a_b", "axb", "c"}, names(resources.TopicFilter{}))
		require.Equal(t, []string{"a_b"}, names(resources.TopicFilter{NameLike: "_"}), "LIKE wildcards are escaped")
		require.Equal(t, []string{"axb"}, names(resources.TopicFilter{MessageType: resources.TypeFIFO}))
		require.Equal(t, []string{"axb", "c"}, names(resources.TopicFilter{After: "a_b"}))
		require.Equal(t, []string{"a_b"}, names(resources.TopicFilter{Limit: 1}))

		got, err := s.GetTopic(ctx, "i1", "c")
		require.NoError(t, err)
		require.Equal(t, now, got.CreatedAt)
		_, err = s.GetTopic(ctx, "i2", "c")
		require.ErrorIs(t, err, resources.ErrTopicNotFound)

		require.NoError(t, s.CreateGroup(ctx, resources.Group{InstanceID: "i1", GroupID: "g", DeliveryOrderType: resources.OrderConcurrently,
			MaxRetryTimes: 16, RetryPolicy: resources.RetryDefault, CreatedAt: now, UpdatedAt: now}, 1))
		require.ErrorIs(t, s.CreateGroup(ctx, resources.Group{InstanceID: "i1", GroupID: "h", DeliveryOrderType: resources.OrderConcurrently,
			MaxRetryTimes: 16, RetryPolicy: resources.RetryDefault, CreatedAt: now, UpdatedAt: now}, 1), resources.ErrQuotaExceeded)

		// Purging an instance drops its topics and groups.
		require.NoError(t, db.Exec("DELETE FROM instances WHERE id = 'i1'").Error)
		var n int64
		require.NoError(t, db.Table("topics").Where("instance_id = 'i1'").Count(&n).Error)
		require.Zero(t, n)
		require.NoError(t, db.Table("consumer_groups").Count(&n).Error)
		require.Zero(t, n)
	})
}
