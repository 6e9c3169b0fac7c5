package admin_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// TestTopicSendCap: max_send_tps is set at create, read back by get and
// list, changed by an update that sets it and kept by one that does not.
func TestTopicSendCap(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()

	created, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "capped", MaxSendTps: 5})
	require.NoError(t, err)
	require.EqualValues(t, 5, created.GetMaxSendTps())
	plain, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "plain"})
	require.NoError(t, err)
	require.Zero(t, plain.GetMaxSendTps())
	b, err := n.broker.GetTopic("capped")
	require.NoError(t, err)
	require.EqualValues(t, 5, b.MaxSendTPS, "the broker stores it")

	steps := []struct {
		name string
		req  *adminpb.UpdateTopicRequest
		want int32
	}{
		{"unset keeps the cap", &adminpb.UpdateTopicRequest{Name: "capped", QueueCount: proto.Int32(12)}, 5},
		{"set changes it", &adminpb.UpdateTopicRequest{Name: "capped", MaxSendTps: proto.Int32(40)}, 40},
		{"alone is an update", &adminpb.UpdateTopicRequest{Name: "capped", MaxSendTps: proto.Int32(41)}, 41},
		{"type change keeps it", &adminpb.UpdateTopicRequest{Name: "capped", Type: adminpb.TopicType_TOPIC_TYPE_FIFO.Enum()}, 41},
		{"zero removes it", &adminpb.UpdateTopicRequest{Name: "capped", MaxSendTps: proto.Int32(0)}, 0},
	}
	for _, s := range steps {
		got, err := c.UpdateTopic(ctx, s.req)
		require.NoError(t, err, s.name)
		require.EqualValues(t, s.want, got.GetMaxSendTps(), s.name)
		read, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "capped"})
		require.NoError(t, err)
		require.True(t, proto.Equal(got, read), "%s: get returns what update did: %v vs %v", s.name, got, read)
	}
	got, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "capped"})
	require.NoError(t, err)
	require.EqualValues(t, 12, got.GetQueueCount())
	require.Equal(t, adminpb.TopicType_TOPIC_TYPE_FIFO, got.GetType())

	_, err = c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "plain", MaxSendTps: proto.Int32(9)})
	require.NoError(t, err)
	list, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{})
	require.NoError(t, err)
	caps := map[string]int32{}
	for _, tp := range list.GetTopics() {
		caps[tp.GetName()] = tp.GetMaxSendTps()
	}
	require.Equal(t, map[string]int32{"capped": 0, "plain": 9}, caps)

	_, err = c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "neg", MaxSendTps: -1})
	requireCode(t, err, codes.InvalidArgument, "max_send_tps -1 must not be negative")
	_, err = c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "plain", MaxSendTps: proto.Int32(-3)})
	requireCode(t, err, codes.InvalidArgument, "must not be negative")
	got, err = c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "plain"})
	require.NoError(t, err)
	require.EqualValues(t, 9, got.GetMaxSendTps(), "a refused update changes nothing")
}

// TestGroupCapsAndRetryInterval: max_receive_tps and
// retry_interval_seconds round-trip through create, update (unset keeps
// the value), get and list, and out-of-range values are refused.
func TestGroupCapsAndRetryInterval(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()

	g, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "slow", MaxReceiveTps: 20, RetryIntervalSeconds: 30})
	require.NoError(t, err)
	require.EqualValues(t, 20, g.GetMaxReceiveTps())
	require.EqualValues(t, 30, g.GetRetryIntervalSeconds())
	plain, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "plain"})
	require.NoError(t, err)
	require.Zero(t, plain.GetMaxReceiveTps())
	require.Zero(t, plain.GetRetryIntervalSeconds())

	steps := []struct {
		name          string
		req           *adminpb.UpdateGroupRequest
		tps, interval int32
		retries       int32
		orderly       bool
	}{
		{"unset keeps both", &adminpb.UpdateGroupRequest{Name: "slow", MaxRetries: proto.Int32(3)}, 20, 30, 3, false},
		{"tps alone", &adminpb.UpdateGroupRequest{Name: "slow", MaxReceiveTps: proto.Int32(50)}, 50, 30, 3, false},
		{"interval alone", &adminpb.UpdateGroupRequest{Name: "slow", RetryIntervalSeconds: proto.Int32(7200)}, 50, 7200, 3, false},
		{"orderly keeps both", &adminpb.UpdateGroupRequest{Name: "slow", Orderly: proto.Bool(true)}, 50, 7200, 3, true},
		{"zeros restore defaults", &adminpb.UpdateGroupRequest{Name: "slow", MaxReceiveTps: proto.Int32(0), RetryIntervalSeconds: proto.Int32(0)}, 0, 0, 3, true},
		{"one second", &adminpb.UpdateGroupRequest{Name: "slow", RetryIntervalSeconds: proto.Int32(1)}, 0, 1, 3, true},
	}
	for _, s := range steps {
		got, err := c.UpdateGroup(ctx, s.req)
		require.NoError(t, err, s.name)
		require.EqualValues(t, s.tps, got.GetMaxReceiveTps(), s.name)
		require.EqualValues(t, s.interval, got.GetRetryIntervalSeconds(), s.name)
		require.EqualValues(t, s.retries, got.GetMaxRetries(), s.name)
		require.Equal(t, s.orderly, got.GetOrderly(), s.name)
		read, err := c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: "slow"})
		require.NoError(t, err)
		require.True(t, proto.Equal(got, read), "%s: get returns what update did: %v vs %v", s.name, got, read)
	}
	b, err := n.broker.GetGroup("slow")
	require.NoError(t, err)
	require.EqualValues(t, 1, b.RetryInterval.Seconds(), "the broker stores a duration")

	list, err := c.ListGroups(ctx, &adminpb.ListGroupsRequest{})
	require.NoError(t, err)
	type caps struct{ tps, interval int32 }
	got := map[string]caps{}
	for _, g := range list.GetGroups() {
		got[g.GetName()] = caps{g.GetMaxReceiveTps(), g.GetRetryIntervalSeconds()}
	}
	require.Equal(t, map[string]caps{"slow": {0, 1}, "plain": {0, 0}}, got)

	bad := []struct {
		name string
		call func() error
		want string
	}{
		{"create negative tps", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "x", MaxReceiveTps: -1})
			return err
		}, "max_receive_tps -1 must not be negative"},
		{"create negative interval", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "x", RetryIntervalSeconds: -1})
			return err
		}, "retry_interval_seconds -1 is out of range"},
		{"create interval over two hours", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "x", RetryIntervalSeconds: 7201})
			return err
		}, "retry_interval_seconds 7201 is out of range"},
		{"update negative tps", func() error {
			_, err := c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "plain", MaxReceiveTps: proto.Int32(-2)})
			return err
		}, "must not be negative"},
		{"update interval over two hours", func() error {
			_, err := c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "plain", RetryIntervalSeconds: proto.Int32(9000)})
			return err
		}, "out of range"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.call(), codes.InvalidArgument, tc.want)
		})
	}
	_, err = c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: "x"})
	requireCode(t, err, codes.NotFound, "not found")
	p, err := c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: "plain"})
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, p), "refused updates change nothing")
}
