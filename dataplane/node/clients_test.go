package node_test

// The clients of a node as its admin service reports them (ListClients,
// GetGroupSubscriptions) and the lag history it samples, with the official
// Go client in a child process (clients_client_test.go).

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// TestClientsAndSubscriptions: on a node requiring signed requests, a
// producer, a push consumer (tag "a") and a simple consumer (tag "b") of one
// group, all signing with ak-clients, are listed with what the Go client
// tells about itself (language GOLANG and version 5.1.4 from its Settings,
// kind, group, subscriptions, host name), the address they connect from and
// their access key. The group's subscriptions of the topic disagree until
// the simple consumer stops (NotifyClientTermination). The node samples the
// group's lag every 50 ms.
func TestClientsAndSubscriptions(t *testing.T) {
	t.Parallel()
	const topic, group = "cl-topic", "cl-group"
	n := nodetest.Start(t, nodetest.WithAuth(), func(c *node.Config) { c.LagSampleInterval = 50 * time.Millisecond })
	nodetest.CreateTopic(t, n, topic, broker.TopicNormal, 2)
	ctx := t.Context()
	_, err := n.Broker().CreateGroup(ctx, broker.Group{Name: group})
	require.NoError(t, err)
	admin, err := adminclient.New(adminclient.Config{Addr: n.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-clients", SecretKey: "sk-clients", Enabled: true, Permissions: []*adminpb.Permission{
		perm(topicRes, topic, allow, pub, sub), perm(groupRes, group, allow, sub),
	}})

	b, err := json.Marshal(clParams{Endpoint: n.GRPCAddr(), Topic: topic, Group: group,
		AccessKey: "ak-clients", Secret: "sk-clients", PushTag: "a", SimpleTag: "b"})
	require.NoError(t, err)
	c := clientproc.Start(t, "clients", mtParams{Key: string(b)})
	defer c.Kill()
	c.Expect("started", &struct{}{}, time.Minute)

	resp, err := admin.ListClients(ctx, &adminpb.ListClientsRequest{})
	require.NoError(t, err)
	require.Len(t, resp.GetClients(), 3)
	kinds := map[adminpb.ClientKind]*adminpb.Client{}
	for _, cl := range resp.GetClients() {
		kinds[cl.GetKind()] = cl
		require.Equal(t, "GOLANG", cl.GetLanguage(), "client %s", cl.GetClientId())
		require.Equal(t, "5.1.4", cl.GetVersion())
		require.NotEmpty(t, cl.GetHostname())
		require.Regexp(t, `^127\.0\.0\.1:\d+$`, cl.GetAddress())
		require.Equal(t, "ak-clients", cl.GetAccessKey())
		require.NotNil(t, cl.GetFirstSeen())
		require.False(t, cl.GetLastHeartbeat().AsTime().Before(cl.GetFirstSeen().AsTime()))
	}
	producer := kinds[adminpb.ClientKind_CLIENT_KIND_PRODUCER]
	push := kinds[adminpb.ClientKind_CLIENT_KIND_PUSH_CONSUMER]
	simple := kinds[adminpb.ClientKind_CLIENT_KIND_SIMPLE_CONSUMER]
	require.NotNil(t, producer, "clients: %v", resp.GetClients())
	require.NotNil(t, push, "clients: %v", resp.GetClients())
	require.NotNil(t, simple, "clients: %v", resp.GetClients())
	require.Equal(t, []string{topic}, producer.GetTopics())
	require.Empty(t, producer.GetGroup())
	tag := adminpb.FilterType_FILTER_TYPE_TAG
	for _, cl := range []*adminpb.Client{push, simple} {
		require.Equal(t, group, cl.GetGroup())
		require.Len(t, cl.GetSubscriptions(), 1)
		require.Equal(t, topic, cl.GetSubscriptions()[0].GetTopic())
		require.Equal(t, tag, cl.GetSubscriptions()[0].GetFilterType())
	}
	require.Equal(t, "a", push.GetSubscriptions()[0].GetExpression())
	require.Equal(t, "b", simple.GetSubscriptions()[0].GetExpression())

	inGroup, err := admin.ListClients(ctx, &adminpb.ListClientsRequest{Group: group})
	require.NoError(t, err)
	require.Len(t, inGroup.GetClients(), 2, "the consumers of the group")

	subs, err := admin.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: group})
	require.NoError(t, err)
	require.EqualValues(t, 2, subs.GetClientCount())
	require.False(t, subs.GetConsistent())
	require.Len(t, subs.GetSubscriptions(), 1)
	ts := subs.GetSubscriptions()[0]
	require.Equal(t, topic, ts.GetTopic())
	require.False(t, ts.GetConsistent())
	require.Len(t, ts.GetVariants(), 2)

	c.Say("stop-simple")
	c.Expect("stopped", &struct{}{}, time.Minute)
	// The termination has been answered: the simple consumer is gone.
	subs, err = admin.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: group})
	require.NoError(t, err)
	require.EqualValues(t, 1, subs.GetClientCount())
	require.True(t, subs.GetConsistent())
	require.Len(t, subs.GetSubscriptions(), 1)
	require.True(t, subs.GetSubscriptions()[0].GetConsistent())
	require.Len(t, subs.GetSubscriptions()[0].GetVariants(), 1)
	require.Equal(t, []string{push.GetClientId()}, subs.GetSubscriptions()[0].GetVariants()[0].GetClientIds())
	inGroup, err = admin.ListClients(ctx, &adminpb.ListClientsRequest{Group: group})
	require.NoError(t, err)
	require.Len(t, inGroup.GetClients(), 1)
	require.Equal(t, push.GetClientId(), inGroup.GetClients()[0].GetClientId())

	require.Eventually(t, func() bool {
		h, err := admin.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: []string{group}})
		return err == nil && len(h.GetSeries()) == 1 && len(h.GetSeries()[0].GetPoints()) >= 2
	}, time.Minute, 20*time.Millisecond, "the group's lag is sampled")
	h, err := admin.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: []string{group}})
	require.NoError(t, err)
	require.Equal(t, 50*time.Millisecond, h.GetInterval().AsDuration())
	require.Equal(t, group, h.GetSeries()[0].GetGroup())
}
