package node_test

// Topic send caps and group retry intervals set through the admin service,
// seen by the official Go client v5.1.4 in a child process
// (caps_client_test.go).

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

const codeTooManyRequests = 42900

func capsAdmin(t *testing.T, n *node.Node) *adminclient.Client {
	t.Helper()
	admin, err := adminclient.New(adminclient.Config{Addr: n.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	return admin
}

// TestTopicSendCapClient: a producer sending 30 messages as fast as it can
// to a topic capped at 5 messages per second has some sends refused with
// TOO_MANY_REQUESTS (42900) even after the client's own retries, and the
// node stores exactly the messages whose sends succeeded.
func TestTopicSendCapClient(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t)
	admin := capsAdmin(t, n)
	const topic, group, count = "capped-topic", "capped-group", 30
	_, err := admin.CreateTopic(t.Context(), &adminpb.CreateTopicRequest{Name: topic, QueueCount: 2, MaxSendTps: 5})
	require.NoError(t, err)
	_, err = admin.CreateGroup(t.Context(), &adminpb.CreateGroupRequest{Name: group})
	require.NoError(t, err)

	c := clientproc.Start(t, "send-cap", mtParams{Endpoint: n.GRPCAddr(), Topic: topic, Count: count})
	var res capSendResult
	c.Expect("result", &res, 2*time.Minute)
	c.Kill()
	t.Logf("%d of %d sends succeeded in %s; refusals: %d", len(res.IDs), count, res.Duration, len(res.Codes))
	require.Len(t, res.Codes, count-len(res.IDs))
	require.NotEmpty(t, res.IDs, "sends within the cap succeed")
	require.NotEmpty(t, res.Codes, "sends beyond the cap are refused")
	for i, code := range res.Codes {
		require.EqualValues(t, codeTooManyRequests, code, "refusal %d: %s", i, res.Errors[i])
		require.Contains(t, res.Errors[i], "topic capped-topic allows 5 messages per second")
	}

	offs, err := n.Broker().Offsets(group, topic)
	require.NoError(t, err)
	var stored int64
	for _, o := range offs {
		stored += o.MaxOffset - o.MinOffset
	}
	require.EqualValues(t, len(res.IDs), stored, "the node stores exactly the messages that were acknowledged")
}

// TestGroupRetryIntervalClient: a push consumer of a group with a fixed
// retry interval of 2 s that fails a message gets it again no sooner than
// that (the default policy would redeliver it after 1 s). Only a lower
// bound is checked: a loaded machine may be later.
func TestGroupRetryIntervalClient(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t)
	admin := capsAdmin(t, n)
	const topic, group = "retry-topic", "retry-group"
	_, err := admin.CreateTopic(t.Context(), &adminpb.CreateTopicRequest{Name: topic, QueueCount: 2})
	require.NoError(t, err)
	_, err = admin.CreateGroup(t.Context(), &adminpb.CreateGroupRequest{Name: group, RetryIntervalSeconds: 2})
	require.NoError(t, err)

	c := clientproc.Start(t, "retry-interval", mtParams{Endpoint: n.GRPCAddr(), Topic: topic, Group: group})
	var res struct {
		Complete bool
		Got      []clientproc.DelayReceipt
	}
	c.Expect("result", &res, 2*time.Minute)
	require.True(t, res.Complete, "delivered twice: %+v", res.Got)
	clientproc.RequireConsumed(t, n.Broker(), group, topic)
	c.Kill()
	require.GreaterOrEqual(t, len(res.Got), 2)
	first, second := res.Got[0], res.Got[1]
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, []int32{1, 2}, []int32{first.Attempt, second.Attempt})
	gap := second.Got.Sub(first.Got)
	t.Logf("redelivered %s after the failed delivery", gap)
	require.GreaterOrEqual(t, gap, 1500*time.Millisecond, "a fixed 2 s retry interval")
}
