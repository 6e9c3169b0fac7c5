package node_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/store"
)

const (
	splitTopic    = "split"
	splitGroup    = "split-group"
	splitMessages = 50
)

// runSplitClient drives a proxy-role node with the official client: it sends
// splitMessages messages ("SENT <body>"), tries a topic that does not exist
// ("UNKNOWN <code> <err>"), then receives and acks every message
// ("ACKED <body>") and prints "DONE".
func runSplitClient(endpoint string) {
	quietClient()
	p, err := rmq.NewProducer(clientConfig(endpoint, ""), rmq.WithTopics(splitTopic))
	if err != nil {
		fatal("producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fatal("producer: start: %v", err)
	}
	for i := range splitMessages {
		body := fmt.Sprintf("split-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := p.Send(ctx, &rmq.Message{Topic: splitTopic, Body: []byte(body)})
		cancel()
		if err != nil {
			fatal("producer: send %s: %v", body, err)
		}
		fmt.Printf("SENT %s\n", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = p.Send(ctx, &rmq.Message{Topic: "no-such-topic", Body: []byte("x")})
	cancel()
	var rs *rmq.ErrRpcStatus
	if errors.As(err, &rs) {
		fmt.Printf("UNKNOWN %d %v\n", rs.GetCode(), err)
	} else {
		fmt.Printf("UNKNOWN none %v\n", err)
	}
	_ = p.GracefulStop()

	c, err := rmq.NewSimpleConsumer(clientConfig(endpoint, splitGroup),
		rmq.WithSimpleAwaitDuration(2*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{splitTopic: rmq.SUB_ALL}))
	if err != nil {
		fatal("consumer: %v", err)
	}
	if err := c.Start(); err != nil {
		fatal("consumer: start: %v", err)
	}
	acked := map[string]bool{}
	for len(acked) < splitMessages {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mvs, err := c.Receive(ctx, 16, 20*time.Second)
		cancel()
		if err != nil {
			continue // MESSAGE_NOT_FOUND between batches is normal
		}
		for _, mv := range mvs {
			if err := c.Ack(context.Background(), mv); err != nil {
				fatal("consumer: ack: %v", err)
			}
			acked[string(mv.GetBody())] = true
			fmt.Printf("ACKED %s\n", mv.GetBody())
		}
	}
	fmt.Println("DONE")
	os.Exit(0)
}

func roleConfig(t *testing.T, role string) node.Config {
	cfg := node.DefaultConfig()
	cfg.Roles = role
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr, cfg.BrokerAddr = "127.0.0.1:0", "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.AdminToken = nodetest.Token
	cfg.AllowAnonymous = true
	cfg.Flush = store.FlushAsync
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

func startRole(t *testing.T, cfg node.Config) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n
}

// TestSplitRoles runs a broker-role node and a proxy-role node and drives
// the proxy with the official Go client (out of process: it has data races
// of its own): every message sent through the proxy is stored by the remote
// broker, received and acked through the proxy, and an unknown topic is
// TOPIC_NOT_FOUND through the remote path.
func TestSplitRoles(t *testing.T) {
	bcfg := roleConfig(t, node.RoleBroker)
	bn := startRole(t, bcfg)
	require.Empty(t, bn.GRPCAddr(), "a broker node has no RocketMQ port")
	require.NotEmpty(t, bn.AdminAddr())
	require.NotEmpty(t, bn.BrokerAddr())
	ctx := context.Background()
	_, err := bn.Broker().CreateTopic(ctx, broker.Topic{Name: splitTopic, Type: broker.TopicNormal, Queues: 4})
	require.NoError(t, err)
	_, err = bn.Broker().CreateGroup(ctx, broker.Group{Name: splitGroup})
	require.NoError(t, err)

	pcfg := roleConfig(t, node.RoleProxy)
	pcfg.DataDir = "" // a proxy node keeps no data
	pcfg.BrokerEndpoint = bn.BrokerAddr()
	pn := startRole(t, pcfg)
	require.Nil(t, pn.Broker())
	require.Empty(t, pn.AdminAddr())
	require.Empty(t, pn.BrokerAddr())

	clientRace := "GORACE=log_path=" + t.TempDir() + "/client-race"
	client := spawn(t, roleEnv+"=split-client", endpointEnv+"="+pn.GRPCAddr(), clientRace)
	sent, acked := map[string]bool{}, map[string]bool{}
	unknown := ""
	timeout := time.After(2 * time.Minute)
	for done := false; !done; {
		select {
		case line, ok := <-client.lines:
			require.True(t, ok, "client exited early (sent %d, acked %d)", len(sent), len(acked))
			switch {
			case strings.HasPrefix(line, "SENT "):
				sent[strings.TrimPrefix(line, "SENT ")] = true
			case strings.HasPrefix(line, "ACKED "):
				acked[strings.TrimPrefix(line, "ACKED ")] = true
			case strings.HasPrefix(line, "UNKNOWN "):
				unknown = line
			case line == "DONE":
				done = true
			}
		case <-timeout:
			t.Fatalf("timed out: sent %d, acked %d", len(sent), len(acked))
		}
	}
	require.Len(t, sent, splitMessages)
	require.Equal(t, sent, acked)
	t.Logf("unknown topic: %s", unknown)
	require.True(t, strings.HasPrefix(unknown, "UNKNOWN 40402 "), "an unknown topic is TOPIC_NOT_FOUND: %q", unknown)

	// The acks reached the broker node: nothing is left to consume.
	require.Eventually(t, func() bool {
		offs, err := bn.Broker().Offsets(splitGroup, splitTopic)
		if err != nil {
			return false
		}
		for _, o := range offs {
			if o.Lag != 0 || o.Inflight != 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond)

	require.NoError(t, pn.Stop(ctx))
	require.NoError(t, bn.Stop(ctx))
}

func TestProxyRoleNeedsNoDataDir(t *testing.T) {
	cfg := roleConfig(t, node.RoleProxy)
	cfg.DataDir = ""
	cfg.BrokerEndpoint = "127.0.0.1:1" // nobody there: the proxy connects lazily
	n := startRole(t, cfg)
	require.NotEmpty(t, n.GRPCAddr())
	require.NoError(t, n.Stop(context.Background()))
}
