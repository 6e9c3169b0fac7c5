package broker_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
)

func TestQuotaTopicsAndGroups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		maxTopics, maxGroups int
		topics, groups       int // how many creations succeed before the first refusal; -1: none refused
	}{
		{name: "unlimited", topics: -1, groups: -1},
		{name: "one each", maxTopics: 1, maxGroups: 1, topics: 1, groups: 1},
		{name: "topics only", maxTopics: 2, topics: 2, groups: -1},
		{name: "groups only", maxGroups: 3, topics: -1, groups: 3},
	}
	const tries = 4
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *broker.Config) { c.MaxTopics, c.MaxGroups = tc.maxTopics, tc.maxGroups })
			ctx := context.Background()
			for i := range tries {
				_, err := e.b.CreateTopic(ctx, broker.Topic{Name: "t" + string(rune('a'+i)), Type: broker.TopicNormal, Queues: 1})
				if tc.topics < 0 || i < tc.topics {
					require.NoError(t, err, "topic %d", i)
					continue
				}
				require.ErrorIs(t, err, broker.ErrQuotaExceeded, "topic %d", i)
				require.ErrorContains(t, err, "instance allows")
			}
			for i := range tries {
				_, err := e.b.CreateGroup(ctx, broker.Group{Name: "g" + string(rune('a'+i))})
				if tc.groups < 0 || i < tc.groups {
					require.NoError(t, err, "group %d", i)
					continue
				}
				require.ErrorIs(t, err, broker.ErrQuotaExceeded, "group %d", i)
				require.ErrorContains(t, err, "instance allows")
			}
		})
	}
}

// TestQuotaSystemTopicsNotCounted fills the topic quota, then makes the
// broker create a dead-letter topic: it is never refused and does not use up
// the quota, so deleting a user topic frees a slot again.
func TestQuotaSystemTopicsNotCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *broker.Config) { c.MaxTopics, c.MaxGroups = 1, 1 })
	ctx := context.Background()
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	ds := e.recv(recvReq("g", "t", 1))
	require.Len(t, ds, 1)
	require.NoError(t, e.b.ForwardToDLQ(ctx, "g", "t", "m-0", ds[0].ReceiptHandle), "the broker's own topic is never refused")
	_, err := e.b.GetTopic(broker.DLQTopic("g"))
	require.NoError(t, err)

	_, err = e.b.CreateTopic(ctx, broker.Topic{Name: "u", Type: broker.TopicNormal, Queues: 1})
	require.ErrorIs(t, err, broker.ErrQuotaExceeded)
	require.ErrorContains(t, err, "the instance allows 1 topics")

	require.NoError(t, e.b.DeleteTopic(ctx, "t"))
	_, err = e.b.CreateTopic(ctx, broker.Topic{Name: "u", Type: broker.TopicNormal, Queues: 1})
	require.NoError(t, err, "the DLQ topic does not count against the quota")

	// The quota holds after a restart too.
	e.reopen()
	_, err = e.b.CreateTopic(ctx, broker.Topic{Name: "v", Type: broker.TopicNormal, Queues: 1})
	require.ErrorIs(t, err, broker.ErrQuotaExceeded)
	_, err = e.b.CreateGroup(ctx, broker.Group{Name: "h"})
	require.ErrorIs(t, err, broker.ErrQuotaExceeded)
}

func TestConfigValidateQuotas(t *testing.T) {
	t.Parallel()
	for _, c := range []broker.Config{{MaxTopics: -1}, {MaxGroups: -1}} {
		c.DataDir, c.Store = t.TempDir(), memStore(t, nil)
		require.ErrorContains(t, c.Validate(), "must not be negative")
	}
}
