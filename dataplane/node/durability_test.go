package node_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/store"
)

// The test binary re-executes itself in three roles, each a real process:
// the node (killed with SIGKILL), and producer and consumer clients. The
// official Go client has data races of its own (settings applied while its
// resync timer reads them), so it runs outside the race-checked test process.
const (
	roleEnv     = "ORBIT_NODE_TEST_ROLE" // node | produce | consume | split-client
	dirEnv      = "ORBIT_NODE_TEST_DIR"
	endpointEnv = "ORBIT_NODE_TEST_ENDPOINT"

	durableTopic = "durable"
	durableGroup = "durable-check"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "node":
		runNode(os.Getenv(dirEnv))
	case "produce":
		runProducer(os.Getenv(endpointEnv))
	case "consume":
		runConsumer(os.Getenv(endpointEnv))
	case "split-client":
		runSplitClient(os.Getenv(endpointEnv))
	default:
		os.Exit(m.Run())
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

// runNode is a node with sync flush that says where it listens, then serves.
func runNode(dir string) {
	cfg := node.DefaultConfig()
	cfg.DataDir = dir
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.AdminToken = nodetest.Token
	cfg.AllowAnonymous = true
	cfg.Flush = store.FlushSync
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		fatal("node: start: %v", err)
	}
	ctx := context.Background()
	if _, err := n.Broker().CreateTopic(ctx, broker.Topic{Name: durableTopic, Type: broker.TopicNormal, Queues: 4}); err != nil && !errors.Is(err, broker.ErrTopicExists) {
		fatal("node: create topic: %v", err)
	}
	if _, err := n.Broker().CreateGroup(ctx, broker.Group{Name: durableGroup}); err != nil && !errors.Is(err, broker.ErrGroupExists) {
		fatal("node: create group: %v", err)
	}
	fmt.Printf("READY %s\n", n.GRPCAddr())
	<-n.Done()
	os.Exit(1)
}

func clientConfig(endpoint, group string) *rmq.Config {
	return &rmq.Config{Endpoint: endpoint, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

func quietClient() {
	dir, _ := os.MkdirTemp("", "rocketmq-client-log-")
	_ = os.Setenv("rocketmq.client.logRoot", dir)
	_ = os.Setenv("rocketmq.client.logLevel", "error")
	rmq.ResetLogger()
	rmq.EnableSsl = false
}

// runProducer sends from 8 goroutines until killed and prints "ACK <body>"
// for every message the node acknowledged.
func runProducer(endpoint string) {
	quietClient()
	p, err := rmq.NewProducer(clientConfig(endpoint, ""), rmq.WithTopics(durableTopic))
	if err != nil {
		fatal("producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fatal("producer: start: %v", err)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				body := fmt.Sprintf("m-%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := p.Send(ctx, &rmq.Message{Topic: durableTopic, Body: []byte(body)})
				cancel()
				if err == nil {
					mu.Lock()
					fmt.Fprintf(out, "ACK %s\n", body)
					_ = out.Flush()
					mu.Unlock()
				}
			}
		}()
	}
	select {}
}

// runConsumer receives and acks until killed, printing "GOT <body>".
func runConsumer(endpoint string) {
	quietClient()
	c, err := rmq.NewSimpleConsumer(clientConfig(endpoint, durableGroup),
		rmq.WithSimpleAwaitDuration(2*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{durableTopic: rmq.SUB_ALL}))
	if err != nil {
		fatal("consumer: %v", err)
	}
	if err := c.Start(); err != nil {
		fatal("consumer: start: %v", err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		mvs, err := c.Receive(ctx, 32, 20*time.Second)
		cancel()
		if err != nil {
			continue // MESSAGE_NOT_FOUND between batches is normal
		}
		for _, mv := range mvs {
			fmt.Printf("GOT %s\n", mv.GetBody())
			_ = c.Ack(context.Background(), mv)
		}
	}
}

type proc struct {
	cmd   *exec.Cmd
	lines chan string
}

// spawn starts this test binary in a role and streams its stdout lines.
func spawn(t *testing.T, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		close(p.lines)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func startNode(t *testing.T, dir string) string {
	t.Helper()
	p := spawn(t, roleEnv+"=node", dirEnv+"="+dir)
	for line := range p.lines {
		if addr, ok := strings.CutPrefix(line, "READY "); ok {
			t.Cleanup(p.kill)
			nodes = append(nodes, p)
			return addr
		}
	}
	t.Fatal("node exited before it was ready")
	return ""
}

var nodes []*proc

// TestSyncFlushSurvivesKill9: every message acknowledged to a producer under
// sync flush is delivered after the node is SIGKILLed mid-stream and restarted.
func TestSyncFlushSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr := startNode(t, dir)
	// The client's own race reports go to a file, not into this test's verdict.
	clientRace := "GORACE=log_path=" + t.TempDir() + "/client-race"
	producer := spawn(t, roleEnv+"=produce", endpointEnv+"="+addr, clientRace)

	acked := map[string]bool{}
	timeout := time.After(2 * time.Minute)
	for len(acked) < 3000 {
		select {
		case line, ok := <-producer.lines:
			require.True(t, ok, "producer exited")
			acked[strings.TrimPrefix(line, "ACK ")] = true
		case <-timeout:
			t.Fatalf("only %d messages acknowledged", len(acked))
		}
	}
	nodes[len(nodes)-1].kill() // SIGKILL while the producer is sending
	// Acknowledgements already on their way were given before the kill: count them too.
	producer.kill()
	for line := range producer.lines {
		acked[strings.TrimPrefix(line, "ACK ")] = true
	}
	t.Logf("%d messages acknowledged before SIGKILL", len(acked))

	addr = startNode(t, dir)
	consumer := spawn(t, roleEnv+"=consume", endpointEnv+"="+addr, clientRace)
	missing := len(acked)
	seen := map[string]bool{}
	timeout = time.After(2 * time.Minute)
	for missing > 0 {
		select {
		case line, ok := <-consumer.lines:
			require.True(t, ok, "consumer exited")
			body := strings.TrimPrefix(line, "GOT ")
			if acked[body] && !seen[body] {
				missing--
			}
			seen[body] = true
		case <-timeout:
			t.Fatalf("%d of %d acknowledged messages lost after kill -9", missing, len(acked))
		}
	}
	t.Logf("all %d acknowledged messages delivered after kill -9 and restart (%d received)", len(acked), len(seen))
}
