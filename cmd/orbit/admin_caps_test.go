package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAdminCapsFlags: --max-send-tps on topics and --max-receive-tps and
// --retry-interval on groups reach the node at create and update, an
// update without them keeps them, and both outputs show them.
func TestAdminCapsFlags(t *testing.T) {
	addr, b := startAdminNode(t)

	type topic struct {
		Name       string
		QueueCount int32
		MaxSendTps int32
	}
	topicSteps := []struct {
		args []string
		want topic
	}{
		{[]string{"topic", "create", "--name", "orders", "--max-send-tps", "5"}, topic{"orders", 8, 5}},
		{[]string{"topic", "update", "--name", "orders", "--queues", "10"}, topic{"orders", 10, 5}},
		{[]string{"topic", "update", "--name", "orders", "--max-send-tps", "50"}, topic{"orders", 10, 50}},
		{[]string{"topic", "get", "--name", "orders"}, topic{"orders", 10, 50}},
		{[]string{"topic", "update", "--name", "orders", "--max-send-tps", "0"}, topic{"orders", 10, 0}},
	}
	for _, s := range topicSteps {
		require.Equal(t, s.want, adminJSON[topic](t, addr, s.args...), strings.Join(s.args, " "))
	}

	type group struct {
		Name                 string
		MaxRetries           int32
		MaxReceiveTps        int32
		RetryIntervalSeconds int32
	}
	groupSteps := []struct {
		args []string
		want group
	}{
		{[]string{"group", "create", "--name", "billing", "--max-receive-tps", "20", "--retry-interval", "30s"}, group{"billing", 16, 20, 30}},
		{[]string{"group", "update", "--name", "billing", "--max-retries", "3"}, group{"billing", 3, 20, 30}},
		{[]string{"group", "update", "--name", "billing", "--retry-interval", "2h"}, group{"billing", 3, 20, 7200}},
		{[]string{"group", "update", "--name", "billing", "--max-receive-tps", "0", "--retry-interval", "0"}, group{"billing", 3, 0, 0}},
		{[]string{"group", "update", "--name", "billing", "--retry-interval", "1m"}, group{"billing", 3, 0, 60}},
		{[]string{"group", "get", "--name", "billing"}, group{"billing", 3, 0, 60}},
	}
	for _, s := range groupSteps {
		require.Equal(t, s.want, adminJSON[group](t, addr, s.args...), strings.Join(s.args, " "))
	}
	g, err := b.GetGroup("billing")
	require.NoError(t, err)
	require.Equal(t, time.Minute, g.RetryInterval)

	out, err := adminRun(t, addr, "topic", "create", "--name", "capped", "--max-send-tps", "7")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^capped\s+NORMAL\s+8\s+7\s`, out)
	out, err = adminRun(t, addr, "group", "create", "--name", "slow", "--max-receive-tps", "9", "--retry-interval", "5s")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^NAME\s+ORDERLY\s+MAX RETRIES\s+RETRY INTERVAL\s+MAX RECEIVE TPS\s+CREATED\s+UPDATED$`, out)
	require.Regexp(t, `(?m)^slow\s+false\s+16\s+5s\s+9\s`, out)
	out, err = adminRun(t, addr, "group", "create", "--name", "plain")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^plain\s+false\s+16\s+backoff\s+-\s`, out)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"group", "update", "--name", "slow", "--retry-interval", "1500ms"}, "--retry-interval 1.5s: want whole seconds"},
		{[]string{"group", "create", "--name", "x", "--retry-interval", "3h"}, "--retry-interval 3h0m0s"},
		{[]string{"group", "create", "--name", "x", "--retry-interval", "-1s"}, "--retry-interval -1s"},
		{[]string{"group", "create", "--name", "x", "--max-receive-tps", "-1"}, "max_receive_tps -1 must not be negative"},
		{[]string{"topic", "update", "--name", "capped", "--max-send-tps", "-2"}, "must not be negative"},
	} {
		_, err := adminRun(t, addr, c.args...)
		require.ErrorContains(t, err, c.want, strings.Join(c.args, " "))
	}
}
