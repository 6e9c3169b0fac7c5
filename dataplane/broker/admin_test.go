package broker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestTopicCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	created, err := e.b.CreateTopic(ctx, broker.Topic{Name: "orders", Type: broker.TopicNormal, Queues: 4})
	require.NoError(t, err)
	require.Equal(t, e.clk.Now(), created.CreatedAt)
	_, err = e.b.CreateTopic(ctx, broker.Topic{Name: "orders", Type: broker.TopicNormal, Queues: 4})
	require.ErrorIs(t, err, broker.ErrTopicExists)

	e.topic("a-fifo", broker.TopicFIFO, 2)
	e.topic("z_delay", broker.TopicDelay, 1)
	names := func(ts []broker.Topic) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	require.Equal(t, []string{"a-fifo", "orders", "z_delay"}, names(e.b.ListTopics("", 0)))
	require.Equal(t, []string{"orders"}, names(e.b.ListTopics("a-fifo", 1)))

	e.clk.Advance(1)
	updated, err := e.b.UpdateTopic(ctx, broker.Topic{Name: "orders", Type: broker.TopicNormal, Queues: 8})
	require.NoError(t, err)
	require.Equal(t, int32(8), updated.Queues)
	require.Equal(t, created.CreatedAt, updated.CreatedAt)
	require.True(t, updated.UpdatedAt.After(created.UpdatedAt))
	_, err = e.b.UpdateTopic(ctx, broker.Topic{Name: "orders", Type: broker.TopicNormal, Queues: 2})
	require.ErrorIs(t, err, broker.ErrInvalidArgument, "queues never shrink")
	_, err = e.b.UpdateTopic(ctx, broker.Topic{Name: "nope", Type: broker.TopicNormal, Queues: 2})
	require.ErrorIs(t, err, broker.ErrTopicNotFound)

	require.NoError(t, e.b.DeleteTopic(ctx, "orders"))
	_, err = e.b.GetTopic("orders")
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
	require.ErrorIs(t, e.b.DeleteTopic(ctx, "orders"), broker.ErrTopicNotFound)

	// Definitions survive a restart.
	e.reopen()
	got, err := e.b.GetTopic("a-fifo")
	require.NoError(t, err)
	require.Equal(t, broker.TopicFIFO, got.Type)
	require.Equal(t, []string{"a-fifo", "z_delay"}, names(e.b.ListTopics("", 0)))
}

func TestTopicValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name  string
		topic broker.Topic
		ok    bool
	}{
		{"plain", broker.Topic{Name: "t1", Type: broker.TopicNormal, Queues: 1}, true},
		{"percent and bar", broker.Topic{Name: "a%b|c", Type: broker.TopicNormal, Queues: 64}, true},
		{"longest", broker.Topic{Name: strings.Repeat("x", 127), Type: broker.TopicTransaction, Queues: 3}, true},
		{"too long", broker.Topic{Name: strings.Repeat("x", 128), Type: broker.TopicNormal, Queues: 1}, false},
		{"empty name", broker.Topic{Type: broker.TopicNormal, Queues: 1}, false},
		{"space", broker.Topic{Name: "a b", Type: broker.TopicNormal, Queues: 1}, false},
		{"dot", broker.Topic{Name: "a.b", Type: broker.TopicNormal, Queues: 1}, false},
		{"nul", broker.Topic{Name: "a\x00b", Type: broker.TopicNormal, Queues: 1}, false},
		{"retry", broker.Topic{Name: "%RETRY%g", Type: broker.TopicNormal, Queues: 1}, false},
		{"dlq", broker.Topic{Name: "%DLQ%g", Type: broker.TopicNormal, Queues: 1}, false},
		{"lmq", broker.Topic{Name: "%LMQ%x", Type: broker.TopicNormal, Queues: 1}, false},
		{"rmq sys", broker.Topic{Name: "RMQ_SYS_TRACE_TOPIC", Type: broker.TopicNormal, Queues: 1}, false},
		{"rmq sys lower", broker.Topic{Name: "rmq_sys_wheel_timer", Type: broker.TopicNormal, Queues: 1}, false},
		{"schedule", broker.Topic{Name: "SCHEDULE_TOPIC_XXXX", Type: broker.TopicNormal, Queues: 1}, false},
		{"tbw102", broker.Topic{Name: "TBW102", Type: broker.TopicNormal, Queues: 1}, false},
		{"no type", broker.Topic{Name: "t2", Queues: 1}, false},
		{"bad type", broker.Topic{Name: "t3", Type: "MIXED", Queues: 1}, false},
		{"zero queues", broker.Topic{Name: "t4", Type: broker.TopicNormal}, false},
		{"65 queues", broker.Topic{Name: "t5", Type: broker.TopicNormal, Queues: 65}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.b.CreateTopic(context.Background(), c.topic)
			if c.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, broker.ErrInvalidArgument)
		})
	}
}

func TestGroupCRUDAndValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	g, err := e.b.CreateGroup(ctx, broker.Group{Name: "g1"})
	require.NoError(t, err)
	require.Equal(t, broker.DefaultMaxRetries, g.MaxRetries, "0 takes the default")
	g, err = e.b.CreateGroup(ctx, broker.Group{Name: "g2", MaxRetries: broker.NoRetries, Orderly: true})
	require.NoError(t, err)
	require.Equal(t, broker.NoRetries, g.MaxRetries)
	_, err = e.b.CreateGroup(ctx, broker.Group{Name: "g1"})
	require.ErrorIs(t, err, broker.ErrGroupExists)

	g, err = e.b.UpdateGroup(ctx, broker.Group{Name: "g1", MaxRetries: 3})
	require.NoError(t, err)
	require.Equal(t, int32(3), g.MaxRetries)
	_, err = e.b.UpdateGroup(ctx, broker.Group{Name: "nope"})
	require.ErrorIs(t, err, broker.ErrGroupNotFound)

	for _, bad := range []broker.Group{
		{Name: ""}, {Name: strings.Repeat("g", 121)}, {Name: "a b"}, {Name: "CID_RMQ_SYS_TRANS"},
		{Name: "TOOLS_CONSUMER"}, {Name: "%DLQ%x"}, {Name: "ok", MaxRetries: -2}, {Name: "ok", MaxRetries: 1001},
	} {
		_, err := e.b.CreateGroup(ctx, bad)
		require.ErrorIs(t, err, broker.ErrInvalidArgument, "group %+v", bad)
	}
	_, err = e.b.CreateGroup(ctx, broker.Group{Name: strings.Repeat("g", 120)})
	require.NoError(t, err)

	require.Len(t, e.b.ListGroups("", 0), 3)
	require.Len(t, e.b.ListGroups("g1", 0), 2)
	require.Len(t, e.b.ListGroups("", 1), 1)

	e.reopen()
	g, err = e.b.GetGroup("g2")
	require.NoError(t, err)
	require.True(t, g.Orderly)
	require.NoError(t, e.b.DeleteGroup(ctx, "g2"))
	_, err = e.b.GetGroup("g2")
	require.ErrorIs(t, err, broker.ErrGroupNotFound)
	require.ErrorIs(t, e.b.DeleteGroup(ctx, "g2"), broker.ErrGroupNotFound)
}

func TestClosedBroker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	require.NoError(t, e.b.Close())
	require.NoError(t, e.b.Close(), "closing twice is harmless")
	ctx := context.Background()
	_, err := e.b.CreateTopic(ctx, broker.Topic{Name: "u", Type: broker.TopicNormal, Queues: 1})
	require.ErrorIs(t, err, broker.ErrClosed)
	_, err = e.b.Send(ctx, nil)
	require.Error(t, err)
	_, err = e.b.Send(ctx, []*store.Message{msg("t", "m")})
	require.ErrorIs(t, err, broker.ErrClosed)
	_, err = e.b.Receive(ctx, recvReq("g", "t", 1))
	require.ErrorIs(t, err, broker.ErrClosed)
	e.open() // reopen on the same files works
}
