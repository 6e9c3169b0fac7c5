package proxy_test

// Official-client compatibility tests: a real broker and proxy in this
// process, the RocketMQ Go client v5.1.4 in a child process running the
// scenarios of compat_client_test.go.
//
// Why a child process: the client has data races of its own (the Settings
// the server pushes are applied without synchronization while its resync
// timer marshals them: producer_options.go:155 against client.go:196,
// push_consumer_options.go:228 against :288), so with -race an in-process
// client fails any test. The child reports its races to a log file instead
// (GORACE exitcode=0) while the proxy and broker stay under the race
// detector here.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envScenario); name != "" {
		os.Exit(runScenario(name))
	}
	os.Exit(m.Run())
}

// clientProc is one child process running a client scenario.
type clientProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan [2]string // name, JSON payload
	mu     sync.Mutex
	output bytes.Buffer // everything but events
	exited chan error
	logDir string
}

func runClient(t *testing.T, scenario string, p compatParams) *clientProc {
	t.Helper()
	params, err := json.Marshal(p)
	require.NoError(t, err)
	logDir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envScenario+"="+scenario,
		envParams+"="+string(params),
		// The client logs to $HOME/logs/rocketmq unless told otherwise.
		"rocketmq.client.logRoot="+logDir,
		"GORACE=exitcode=0 log_path="+filepath.Join(logDir, "client-race"),
	)
	c := &clientProc{t: t, cmd: cmd, events: make(chan [2]string, 16), exited: make(chan error, 1), logDir: logDir}
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.output}
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			if ev, ok := strings.CutPrefix(line, "compat:"); ok {
				name, payload, _ := strings.Cut(ev, " ")
				c.events <- [2]string{name, payload}
				continue
			}
			c.mu.Lock()
			c.output.WriteString(line + "\n")
			c.mu.Unlock()
		}
		c.exited <- cmd.Wait()
		close(c.events)
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		_ = cmd.Process.Kill()
	})
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *clientProc) fail(format string, args ...any) {
	c.t.Helper()
	c.mu.Lock()
	out := c.output.String()
	c.mu.Unlock()
	c.t.Fatalf(format+"\nclient output:\n%s\nclient logs in %s", append(args, out, c.logDir)...)
}

// expect waits for the named event and decodes its payload into v.
func (c *clientProc) expect(name string, v any, timeout time.Duration) {
	c.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.fail("client exited before %q: %v", name, <-c.exited)
			}
			if ev[0] != name {
				continue
			}
			require.NoError(c.t, json.Unmarshal([]byte(ev[1]), v))
			return
		case <-timer.C:
			c.fail("no %q from the client within %s", name, timeout)
		}
	}
}

// finish lets the client stop and requires a clean exit.
func (c *clientProc) finish() {
	c.t.Helper()
	_ = c.stdin.Close()
	for range c.events {
	}
	select {
	case err := <-c.exited:
		if err != nil {
			c.fail("client failed: %v", err)
		}
	case <-time.After(time.Minute):
		c.fail("client did not exit")
	}
}

func startCompat(t *testing.T) (*broker.Broker, string) {
	t.Helper()
	b := newBroker(t)
	addr, _ := startProxy(t, b, func(c *proxy.Config) {
		// A push consumer's graceful stop waits for its long polls.
		c.LongPollingTimeout = 2 * time.Second
		c.MinPoll = time.Second
	})
	return b, addr
}

// queued counts the messages in a topic's queues.
func queued(t *testing.T, b *broker.Broker, topic string) int64 {
	t.Helper()
	probe := "probe-" + topic
	if _, err := b.GetGroup(probe); err != nil {
		createGroup(t, b, broker.Group{Name: probe})
	}
	offs, err := b.Offsets(probe, topic)
	require.NoError(t, err)
	var total int64
	for _, o := range offs {
		total += o.MaxOffset - o.MinOffset
	}
	return total
}

// requireConsumed waits until group has acked everything on topic.
func requireConsumed(t *testing.T, b *broker.Broker, group, topic string) {
	t.Helper()
	require.Eventually(t, func() bool {
		offs, err := b.Offsets(group, topic)
		if err != nil || len(offs) == 0 {
			return false
		}
		for _, o := range offs {
			if o.Lag != 0 || o.Inflight != 0 {
				return false
			}
		}
		return true
	}, time.Minute, 20*time.Millisecond)
}

func TestCompatProducerNormal(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "normal-topic", broker.TopicNormal, 4)
	c := runClient(t, "producer-normal", compatParams{Endpoint: addr, Topic: "normal-topic"})
	var res struct {
		IDs        []string
		BigRefused bool
	}
	c.expect("result", &res, time.Minute)
	c.finish()
	require.Len(t, res.IDs, 10)
	require.True(t, res.BigRefused, "max_body_size from Settings applies client-side")
	require.Equal(t, int64(10), queued(t, b, "normal-topic"))
}

func TestCompatProducerAsync(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "async-topic", broker.TopicNormal, 4)
	c := runClient(t, "producer-async", compatParams{Endpoint: addr, Topic: "async-topic"})
	var res struct{ IDs []string }
	c.expect("result", &res, time.Minute)
	c.finish()
	require.Len(t, res.IDs, 10)
	require.Equal(t, int64(10), queued(t, b, "async-topic"))
}

func TestCompatProducerUnknownTopic(t *testing.T) {
	t.Parallel()
	_, addr := startCompat(t)
	c := runClient(t, "producer-unknown-topic", compatParams{Endpoint: addr, Topic: "no-such-topic"})
	var res struct{ Err string }
	c.expect("result", &res, time.Minute)
	c.finish()
	require.Contains(t, res.Err, "TOPIC_NOT_FOUND")
}

func TestCompatSimpleConsumer(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "simple-topic", broker.TopicNormal, 4)
	createGroup(t, b, broker.Group{Name: "simple-group"})
	c := runClient(t, "simple-consumer", compatParams{Endpoint: addr, Topic: "simple-topic", Group: "simple-group"})
	var res struct {
		EmptyErr      string
		Received      int
		FirstAttempts []int32
		Skipped       string
		Again         string
		AgainAttempt  int32
	}
	c.expect("result", &res, 2*time.Minute)
	c.finish()
	require.Contains(t, res.EmptyErr, "MESSAGE_NOT_FOUND")
	require.Equal(t, 20, res.Received)
	for _, a := range res.FirstAttempts {
		require.Equal(t, int32(1), a)
	}
	require.Equal(t, res.Skipped, res.Again, "the unacked message comes back")
	require.Equal(t, int32(2), res.AgainAttempt)
	requireConsumed(t, b, "simple-group", "simple-topic")
}

// TestCompatPushConsumerLoad: 10,000 messages sent by 4 producers all reach
// one push consumer group, none lost, none delivered again after its ack.
func TestCompatPushConsumerLoad(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	const producers, perProd = 4, 2500
	createTopic(t, b, "load-topic", broker.TopicNormal, 8)
	createGroup(t, b, broker.Group{Name: "load-group"})
	c := runClient(t, "push-load", compatParams{Endpoint: addr, Topic: "load-topic", Group: "load-group", Producers: producers, PerProd: perProd})
	var got struct{ Sent int }
	c.expect("received", &got, 5*time.Minute)
	require.Equal(t, producers*perProd, got.Sent)
	requireConsumed(t, b, "load-group", "load-topic")
	require.Equal(t, int64(producers*perProd), queued(t, b, "load-topic"))
	c.stdin.Close()
	var res struct{ Sent, Distinct, Deliveries, Missing, Duplicated int }
	c.expect("result", &res, time.Minute)
	c.finish()
	require.Zero(t, res.Missing)
	require.Zero(t, res.Duplicated)
	require.Equal(t, producers*perProd, res.Distinct)
	require.Equal(t, producers*perProd, res.Deliveries)
}

// TestCompatPushConsumerRetryAndDLQ: a message the consumer fails comes back
// with delivery attempt 2; after the group's max attempts it is in
// %DLQ%<group>, readable with the official client.
func TestCompatPushConsumerRetryAndDLQ(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "retry-topic", broker.TopicNormal, 2)
	createGroup(t, b, broker.Group{Name: "retry-group", MaxRetries: 1}) // 2 deliveries
	createGroup(t, b, broker.Group{Name: "dlq-reader"})
	c := runClient(t, "push-retry-dlq", compatParams{Endpoint: addr, Topic: "retry-topic", Group: "retry-group", DLQReader: "dlq-reader"})
	var res struct {
		Sent, DeadID, DeadBody, DeadTopic string
		Attempts                          []int32
		Dead                              int
	}
	c.expect("result", &res, 2*time.Minute)
	c.finish()
	require.Equal(t, []int32{1, 2}, res.Attempts, "redelivered once with attempt 2, never beyond max attempts")
	require.Equal(t, 1, res.Dead)
	require.Equal(t, res.Sent, res.DeadID)
	require.Equal(t, "this is a message : 7", res.DeadBody)
	require.Equal(t, "%DLQ%retry-group", res.DeadTopic)
	requireConsumed(t, b, "retry-group", "retry-topic")
}
