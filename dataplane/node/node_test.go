package node_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestConfigValidate(t *testing.T) {
	base := node.DefaultConfig()
	base.AdminToken = "t"
	tests := []struct {
		name   string
		mutate func(*node.Config)
		ok     bool
	}{
		{"defaults with token", func(*node.Config) {}, true},
		{"no token", func(c *node.Config) { c.AdminToken = "" }, false},
		{"bad flush", func(c *node.Config) { c.Flush = "sometimes" }, false},
		{"no data dir", func(c *node.Config) { c.DataDir = "" }, false},
		{"negative retention", func(c *node.Config) { c.RetentionHours = -1 }, false},
		{"disk threshold off", func(c *node.Config) { c.MaxDiskUsedPercent = 0 }, true},
		{"disk threshold 100", func(c *node.Config) { c.MaxDiskUsedPercent = 100 }, false},
		{"empty roles means all", func(c *node.Config) { c.Roles = "" }, true},
		{"unknown role", func(c *node.Config) { c.Roles = "namesrv" }, false},
		{"broker role", func(c *node.Config) { c.Roles = node.RoleBroker }, true},
		{"broker role without broker addr", func(c *node.Config) { c.Roles, c.BrokerAddr = node.RoleBroker, "" }, false},
		{"broker role with broker endpoint", func(c *node.Config) { c.Roles, c.BrokerEndpoint = node.RoleBroker, "127.0.0.1:9083" }, false},
		{"all role with broker endpoint", func(c *node.Config) { c.BrokerEndpoint = "127.0.0.1:9083" }, false},
		{"proxy role", func(c *node.Config) {
			c.Roles, c.BrokerEndpoint, c.DataDir, c.AllowAnonymous = node.RoleProxy, "127.0.0.1:9083", "", true
		}, true},
		{"proxy role checks the broker's keys", func(c *node.Config) {
			c.Roles, c.BrokerEndpoint, c.DataDir = node.RoleProxy, "127.0.0.1:9083", ""
		}, true},
		{"negative key sync interval", func(c *node.Config) {
			c.Roles, c.BrokerEndpoint, c.KeySyncInterval = node.RoleProxy, "127.0.0.1:9083", -time.Second
		}, false},
		{"proxy role without broker endpoint", func(c *node.Config) { c.Roles = node.RoleProxy }, false},
		{"proxy role without token", func(c *node.Config) { c.Roles, c.BrokerEndpoint, c.AdminToken = node.RoleProxy, "127.0.0.1:9083", "" }, false},
		{"proxy role ignores flush", func(c *node.Config) {
			c.Roles, c.BrokerEndpoint, c.Flush, c.AllowAnonymous = node.RoleProxy, "127.0.0.1:9083", "", true
		}, true},
		{"proxy role without grpc addr", func(c *node.Config) { c.Roles, c.BrokerEndpoint, c.GRPCAddr = node.RoleProxy, "127.0.0.1:9083", "" }, false},
		{"broker role without grpc addr", func(c *node.Config) { c.Roles, c.GRPCAddr = node.RoleBroker, "" }, true},
		{"broker defaults by zero", func(c *node.Config) {
			c.MaxDelay, c.TxnCheckDelay, c.TxnCheckInterval, c.TxnCheckMaxInterval, c.TxnCheckMax = 0, 0, 0, 0, 0
		}, true},
		{"negative max delay", func(c *node.Config) { c.MaxDelay = -time.Second }, false},
		{"negative txn check delay", func(c *node.Config) { c.TxnCheckDelay = -time.Second }, false},
		{"negative txn check interval", func(c *node.Config) { c.TxnCheckInterval = -time.Second }, false},
		{"negative txn check max interval", func(c *node.Config) { c.TxnCheckMaxInterval = -time.Second }, false},
		{"negative txn check max", func(c *node.Config) { c.TxnCheckMax = -1 }, false},
		{"instance limits", func(c *node.Config) { c.MaxTopics, c.MaxGroups, c.MaxTPS = 10, 20, 1000 }, true},
		{"negative max topics", func(c *node.Config) { c.MaxTopics = -1 }, false},
		{"negative max groups", func(c *node.Config) { c.MaxGroups = -1 }, false},
		{"negative max tps", func(c *node.Config) { c.MaxTPS = -1 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mutate(&c)
			if tc.ok {
				require.NoError(t, c.Validate())
			} else {
				require.Error(t, c.Validate())
			}
		})
	}
}

func TestDefaultConfigBrokerSettings(t *testing.T) {
	c := node.DefaultConfig()
	require.Equal(t, 72*time.Hour, c.MaxDelay)
	require.Equal(t, 6*time.Second, c.TxnCheckDelay)
	require.Equal(t, 30*time.Second, c.TxnCheckInterval)
	require.Equal(t, 5*time.Minute, c.TxnCheckMaxInterval)
	require.Equal(t, 15, c.TxnCheckMax)
	err := node.Config{Roles: node.RoleBroker, DataDir: "d", AdminAddr: "a", BrokerAddr: "b", AdminToken: "t", Flush: store.FlushSync,
		MaxDelay: -1, TxnCheckMax: -1}.Validate()
	require.ErrorContains(t, err, "--max-delay must not be negative")
	require.ErrorContains(t, err, "--txn-check-max must not be negative")
}

func TestConfigValidateLimits(t *testing.T) {
	err := node.Config{Roles: node.RoleAll, DataDir: "d", AdminAddr: "a", GRPCAddr: "g", AdminToken: "t", Flush: store.FlushSync,
		MaxTopics: -1, MaxGroups: -2, MaxTPS: -3}.Validate()
	require.ErrorContains(t, err, "--max-topics must not be negative")
	require.ErrorContains(t, err, "--max-groups must not be negative")
	require.ErrorContains(t, err, "--max-tps must not be negative")
}

func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	nodetest.Start(t, nodetest.WithDataDir(dir))
	cfg := node.DefaultConfig()
	cfg.DataDir = dir
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.AdminToken = "x"
	_, err := node.Start(context.Background(), cfg)
	require.ErrorContains(t, err, "in use by another orbit node")
}

func TestMetricsAndGracefulStop(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, nodetest.WithDataDir(dir), nodetest.WithFlush(store.FlushSync))
	nodetest.CreateTopic(t, n, "metrics", broker.TopicNormal, 2)

	res, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(body), "orbit_store_disk_used_bytes")

	grpcAddr := n.GRPCAddr()
	require.NoError(t, n.Stop(context.Background()))
	_, err = net.DialTimeout("tcp", grpcAddr, time.Second)
	require.Error(t, err, "the client port is closed after Stop")

	// The directory is free again and the topic survived.
	n2 := nodetest.Start(t, nodetest.WithDataDir(dir))
	_, err = n2.Broker().GetTopic("metrics")
	require.NoError(t, err)
}
