// Package nodetest starts in-process data-plane nodes on loopback for tests.
package nodetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/store"
)

// Token is the admin token of test nodes.
const Token = "nodetest-admin-token"

// Option adjusts a test node's configuration.
type Option func(*node.Config)

// WithFlush sets the flush mode (default async: tests rarely need fsync).
func WithFlush(m store.FlushMode) Option { return func(c *node.Config) { c.Flush = m } }

// WithDataDir reuses a data directory, e.g. to restart a node.
func WithDataDir(dir string) Option { return func(c *node.Config) { c.DataDir = dir } }

// WithTxnChecks shortens orphan transaction checks: the first comes delay
// after a send, the next ones every interval (no backoff), at most n of
// them (0: the default, 15). The proxy pushes due checks about every second.
// Other settings need no option of their own: an Option is any
// func(*node.Config).
func WithTxnChecks(delay, interval time.Duration, n int) Option {
	return func(c *node.Config) {
		c.TxnCheckDelay, c.TxnCheckInterval, c.TxnCheckMaxInterval, c.TxnCheckMax = delay, interval, interval, n
	}
}

// WithAuth makes the node require signed requests (node.Config.AllowAnonymous
// false); add keys through its admin service.
func WithAuth() Option { return func(c *node.Config) { c.AllowAnonymous = false } }

// WithMaxDelay sets how far ahead delay messages may be scheduled.
func WithMaxDelay(d time.Duration) Option { return func(c *node.Config) { c.MaxDelay = d } }

// Start runs a node on 127.0.0.1 with free ports and a fresh data directory,
// stopped when the test ends.
func Start(t testing.TB, opts ...Option) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.AdminToken = Token
	cfg.Flush = store.FlushAsync
	cfg.AllowAnonymous = true // tests of authentication use WithAuth
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, o := range opts {
		o(&cfg)
	}
	n, err := node.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

// CreateTopic creates a topic on n.
func CreateTopic(t testing.TB, n *node.Node, name string, typ broker.TopicType, queues int32) {
	t.Helper()
	_, err := n.Broker().CreateTopic(context.Background(), broker.Topic{Name: name, Type: typ, Queues: queues})
	require.NoError(t, err)
}
