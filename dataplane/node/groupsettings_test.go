package node_test

// A consumer group changed through the admin service reaches the push
// consumers already running on it, seen by the official Go client v5.1.4
// in a child process (groupsettings_client_test.go).

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// TestGroupRetryIntervalChangeClient: a push consumer runs on a group with
// a fixed retry interval of 1 s; the interval becomes 3 s through the
// admin service; once the proxy has pushed the new Settings to the
// consumer's telemetry stream, a failed message comes back no sooner than
// ~3 s (the consumer would otherwise keep its 1 s policy until its next
// settings sync, 5 minutes later). Only lower bounds are checked. Run on
// one node and with the proxy apart from the broker.
func TestGroupRetryIntervalChangeClient(t *testing.T) {
	t.Parallel()
	t.Run("one node", func(t *testing.T) {
		n := nodetest.Start(t)
		testRetryIntervalChange(t, n, n)
	})
	t.Run("split roles", func(t *testing.T) {
		bn := startRole(t, roleConfig(t, node.RoleBroker))
		pcfg := roleConfig(t, node.RoleProxy)
		pcfg.DataDir = ""
		pcfg.HTTPAddr = "127.0.0.1:0"
		pcfg.BrokerEndpoint = bn.BrokerAddr()
		pn := startRole(t, pcfg)
		testRetryIntervalChange(t, bn, pn)
	})
}

// testRetryIntervalChange administers brokerNode and connects the client to
// proxyNode.
func testRetryIntervalChange(t *testing.T, brokerNode, proxyNode *node.Node) {
	admin := capsAdmin(t, brokerNode)
	const topic, group = "retry-change-topic", "retry-change-group"
	_, err := admin.CreateTopic(t.Context(), &adminpb.CreateTopicRequest{Name: topic, QueueCount: 2})
	require.NoError(t, err)
	_, err = admin.CreateGroup(t.Context(), &adminpb.CreateGroupRequest{Name: group, RetryIntervalSeconds: 1})
	require.NoError(t, err)

	c := clientproc.Start(t, "retry-interval-change", mtParams{Endpoint: proxyNode.GRPCAddr(), Topic: topic, Group: group})
	type receipts struct {
		Complete bool
		Got      []clientproc.DelayReceipt
	}
	var before receipts
	c.Expect("before", &before, 2*time.Minute)
	require.True(t, before.Complete, "delivered twice: %+v", before.Got)
	require.Len(t, before.Got, 2)
	t.Logf("with 1 s: redelivered %s after the failed delivery", before.Got[1].Got.Sub(before.Got[0].Got))
	pushes, err := groupPushes(proxyNode)
	require.NoError(t, err)
	require.Zero(t, pushes, "an unchanged group pushes nothing")

	interval := int32(3)
	_, err = admin.UpdateGroup(t.Context(), &adminpb.UpdateGroupRequest{Name: group, RetryIntervalSeconds: &interval})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		pushes, err := groupPushes(proxyNode)
		return err == nil && pushes >= 1
	}, time.Minute, 100*time.Millisecond,
		"the proxy pushes the changed group to its consumer")
	// The push is queued on the consumer's stream; a moment for the client
	// to read it.
	time.Sleep(time.Second)

	c.Say("changed")
	var res receipts
	c.Expect("result", &res, 2*time.Minute)
	c.Kill()
	require.True(t, res.Complete, "delivered twice: %+v", res.Got)
	var second []clientproc.DelayReceipt
	for _, d := range res.Got {
		if d.ID != before.Got[0].ID {
			second = append(second, d)
		}
	}
	require.Len(t, second, 2, "%+v", res.Got)
	require.Equal(t, []int32{1, 2}, []int32{second[0].Attempt, second[1].Attempt})
	gap := second[1].Got.Sub(second[0].Got)
	t.Logf("with 3 s: redelivered %s after the failed delivery", gap)
	require.GreaterOrEqual(t, gap, 2500*time.Millisecond, "the consumer applies the new 3 s interval")
}

// groupPushes is orbit_proxy_group_settings_pushes_total{result="sent"} of
// n's metrics.
func groupPushes(n *node.Node) (float64, error) {
	res, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `orbit_proxy_group_settings_pushes_total{result="sent"} `); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, sc.Err()
}
