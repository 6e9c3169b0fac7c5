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
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/nodetest"
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

// stop kills the client once its result is in. The example flows end with
// GracefulStop, which for a push consumer waits out its in-flight long polls
// (request timeout + long polling, ~5 s here) and then sleeps a second: the
// scenarios that do not test shutdown skip that.
func (c *clientProc) stop() {
	c.t.Helper()
	_ = c.stdin.Close()
	_ = c.cmd.Process.Kill()
	for range c.events {
	}
	<-c.exited
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

type fifoResult struct {
	Sent     int
	Complete bool
	Events   []fifoEvent
}

// requireFIFOOrder checks a FIFO consumer's listener calls: per message
// group, the first receipts of the messages are in send order, no message
// is first received before the one sent before it was consumed, and the
// chosen message failed once and then succeeded on its local retry (attempt
// + 1) before its group went on. It returns how many calls were repeats.
func requireFIFOOrder(t *testing.T, res fifoResult, p compatParams) (repeats int) {
	t.Helper()
	type key struct{ group, seq int }
	first, firstOK := map[key]int{}, map[key]int{}
	order := make([][]int, p.Groups)
	var failing []fifoEvent
	for i, e := range res.Events {
		require.True(t, e.Group >= 0 && e.Group < p.Groups && e.Seq >= 0 && e.Seq < p.PerGroup, "unexpected message %+v", e)
		k := key{e.Group, e.Seq}
		if _, seen := first[k]; seen {
			repeats++
		} else {
			first[k] = i
			order[e.Group] = append(order[e.Group], e.Seq)
		}
		if _, ok := firstOK[k]; e.OK && !ok {
			firstOK[k] = i
		}
		if e.Group == p.FailGroup && e.Seq == p.FailSeq {
			failing = append(failing, e)
		}
	}
	require.True(t, res.Complete, "%d of %d messages consumed", len(firstOK), res.Sent)
	want := make([]int, p.PerGroup)
	for i := range want {
		want[i] = i
	}
	// history is a group's listener calls, for failure messages.
	history := func(g int) string {
		var b strings.Builder
		for i, e := range res.Events {
			if e.Group == g {
				fmt.Fprintf(&b, "#%d msg %d attempt %d ok=%v id=%s\n", i, e.Seq, e.Attempt, e.OK, e.ID)
			}
		}
		return b.String()
	}
	for g := range p.Groups {
		require.Equal(t, want, order[g], "message group fifo-%d: first receipts out of send order; calls:\n%s", g, history(g))
		for s := 1; s < p.PerGroup; s++ {
			require.Greater(t, first[key{g, s}], firstOK[key{g, s - 1}],
				"message group fifo-%d: message %d received (call #%d) before message %d was consumed (call #%d); calls:\n%s",
				g, s, first[key{g, s}], s-1, firstOK[key{g, s - 1}], history(g))
		}
	}
	require.GreaterOrEqual(t, len(failing), 2, "the failed message is consumed again: %+v", failing)
	require.False(t, failing[0].OK)
	require.True(t, failing[1].OK)
	require.Equal(t, failing[0].Attempt+1, failing[1].Attempt, "the local retry counts an attempt: %+v", failing)
	return repeats
}

// TestCompatProducerFIFO: example/producer/fifo with 8 message groups of 50
// messages, consumed by a FIFO push consumer group, sees every message group
// in send order, also across a message whose first consumption fails: the
// Go FIFO consumer retries it locally, and its group waits for it.
func TestCompatProducerFIFO(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "fifo-topic", broker.TopicFIFO, 4)
	createGroup(t, b, broker.Group{Name: "fifo-group", Orderly: true})
	p := compatParams{Endpoint: addr, Topic: "fifo-topic", Group: "fifo-group", Groups: 8, PerGroup: 50, FailGroup: 3, FailSeq: 10}
	c := runClient(t, "producer-fifo", p)
	var res fifoResult
	c.expect("result", &res, 2*time.Minute)
	repeats := requireFIFOOrder(t, res, p)
	require.Equal(t, 1, repeats, "nothing but the failed message is consumed twice")
	requireConsumed(t, b, "fifo-group", "fifo-topic")
	c.stop()
}

type delayResult struct {
	Sent []delaySent
	Got  []delayReceipt
}

// requireOnTime checks that every sent delay message was delivered exactly
// once, not before its delivery timestamp and at most maxLate after it, and
// logs how late each one was.
func requireOnTime(t *testing.T, res delayResult, count int, maxLate time.Duration) {
	t.Helper()
	require.Len(t, res.Sent, count)
	byID := map[string][]delayReceipt{}
	for _, g := range res.Got {
		byID[g.ID] = append(byID[g.ID], g)
	}
	var late []time.Duration
	for _, s := range res.Sent {
		got := byID[s.ID]
		require.Len(t, got, 1, "message %s is delivered exactly once: %+v", s.ID, got)
		// The wire carries milliseconds.
		due := s.Due.Truncate(time.Millisecond)
		require.False(t, got[0].Got.Before(due), "message %s delivered %s before its delivery time", s.ID, due.Sub(got[0].Got))
		require.WithinDuration(t, due, got[0].Stamp, time.Millisecond, "message %s carries its delivery timestamp", s.ID)
		require.Equal(t, int32(1), got[0].Attempt)
		late = append(late, got[0].Got.Sub(s.Due))
	}
	t.Logf("delay messages delivered %v after their delivery time", late)
	for i, l := range late {
		require.LessOrEqual(t, l, maxLate, "message %s delivered too late", res.Sent[i].ID)
	}
}

// TestCompatProducerDelay: example/producer/delay with delivery timestamps
// 2–3 s ahead; each message arrives once, never early, and about on time
// (timer precision 1 s; 1.5 s more slack for noisy CI machines).
func TestCompatProducerDelay(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "delay-topic", broker.TopicDelay, 4)
	createGroup(t, b, broker.Group{Name: "delay-group"})
	p := compatParams{Endpoint: addr, Topic: "delay-topic", Group: "delay-group", Count: 5, Delay: 2 * time.Second, Spread: 250 * time.Millisecond}
	c := runClient(t, "producer-delay", p)
	var res delayResult
	c.expect("result", &res, 2*time.Minute)
	requireOnTime(t, res, p.Count, 2500*time.Millisecond)
	requireConsumed(t, b, "delay-group", "delay-topic")
	c.stop()
}

// TestCompatProducerDelayRecall: example/producer/delay_recall. The recalled
// message is never delivered while the others are; recalling it again, with
// a made-up handle, or after a message fired fails.
func TestCompatProducerDelayRecall(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "topic-delay-new", broker.TopicDelay, 4)
	createGroup(t, b, broker.Group{Name: "recall-group"})
	c := runClient(t, "producer-delay-recall", compatParams{Endpoint: addr, Topic: "topic-delay-new", Group: "recall-group", Delay: 2 * time.Second})
	var res struct {
		IDs, Handles                    []string
		Recalled, RecallErr             string
		AgainErr, BogusErr, FiredErr    string
		AgainCode, BogusCode, FiredCode int32
		FiredTried                      bool
		Got                             map[string]int
	}
	c.expect("result", &res, 2*time.Minute)
	c.stop()
	require.Len(t, res.IDs, 3)
	for i, h := range res.Handles {
		require.NotEmpty(t, h, "the send receipt of delay message %d has a recall handle", i+1)
	}
	require.Empty(t, res.RecallErr, "recall message 1")
	require.Equal(t, res.IDs[0], res.Recalled, "the recall answers the recalled message's id")
	require.NotEmpty(t, res.AgainErr, "a second recall of message 1 fails")
	require.NotEmpty(t, res.BogusErr, "a recall with a made-up handle fails")
	require.True(t, res.FiredTried, "messages 2 and 3 were delivered: %v", res.Got)
	require.NotEmpty(t, res.FiredErr, "recalling a message that already fired fails")
	t.Logf("recall again: %s; made-up handle: %s; fired: %s", res.AgainErr, res.BogusErr, res.FiredErr)
	require.Zero(t, res.Got[res.IDs[0]], "the recalled message is never delivered")
	require.Equal(t, 1, res.Got[res.IDs[1]])
	require.Equal(t, 1, res.Got[res.IDs[2]])
	requireConsumed(t, b, "recall-group", "topic-delay-new")
}

// TestCompatProducerTransaction: example/producer/transaction against a node
// with 1 s transaction checks. Committed messages are delivered, rolled-back
// ones never are, and a transaction the producer leaves open is checked by
// the server over the producer's Telemetry stream (after TxnCheckDelay); the
// checker's COMMIT delivers it. Resolved transactions are never checked.
func TestCompatProducerTransaction(t *testing.T) {
	t.Parallel()
	// A node, for its transaction check settings and their wiring.
	const checkDelay = time.Second
	n := nodetest.Start(t, nodetest.WithTxnChecks(checkDelay, time.Second, 0))
	b, addr := n.Broker(), n.GRPCAddr()
	createTopic(t, b, "txn-topic", broker.TopicTransaction, 4)
	createGroup(t, b, broker.Group{Name: "txn-group"})
	c := runClient(t, "producer-transaction", compatParams{Endpoint: addr, Topic: "txn-topic", Group: "txn-group"})
	var res struct {
		Complete     bool
		Sent         []txnSent
		Got, Checked []txnEvent
	}
	c.expect("result", &res, 2*time.Minute)
	c.stop()
	require.Len(t, res.Sent, 6)
	got, checked := map[string]int{}, map[string][]txnEvent{}
	for _, g := range res.Got {
		got[g.Body]++
	}
	for _, ch := range res.Checked {
		checked[ch.Body] = append(checked[ch.Body], ch)
	}
	t.Logf("delivered %v; checked %v", got, res.Checked)
	for _, s := range res.Sent {
		require.NotEmpty(t, s.TxID, "%s: the send receipt names the transaction", s.Body)
		require.Empty(t, s.EndErr, "%s: end the transaction", s.Body)
		switch s.Kind {
		case "commit":
			require.Equal(t, 1, got[s.Body], "%s: a committed message is delivered once", s.Body)
			require.Empty(t, checked[s.Body], "%s: a resolved transaction is not checked", s.Body)
		case "rollback":
			require.Zero(t, got[s.Body], "%s: a rolled-back message is never delivered", s.Body)
			require.Empty(t, checked[s.Body], "%s: a resolved transaction is not checked", s.Body)
		case "orphan":
			require.NotEmpty(t, checked[s.Body], "%s: the open transaction is checked", s.Body)
			first := checked[s.Body][0]
			require.Equal(t, s.ID, first.ID, "the check carries the message")
			wait := first.At.Sub(s.At)
			t.Logf("open transaction checked %s after its send", wait)
			// Less a little for the send's answer to reach the client.
			require.GreaterOrEqual(t, wait, checkDelay-100*time.Millisecond, "checked before TxnCheckDelay")
			require.Equal(t, 1, got[s.Body], "%s: committed by the checker, delivered once", s.Body)
		}
	}
	require.True(t, res.Complete)
	requireConsumed(t, b, "txn-group", "txn-topic")
}

// TestCompatMessageTypeMismatch: a NORMAL message to a FIFO topic and a
// FIFO message to a NORMAL topic are refused with
// MESSAGE_PROPERTY_CONFLICT_WITH_TYPE (40014), and nothing is stored.
func TestCompatMessageTypeMismatch(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "mismatch-fifo", broker.TopicFIFO, 2)
	createTopic(t, b, "mismatch-normal", broker.TopicNormal, 2)
	c := runClient(t, "type-mismatch", compatParams{Endpoint: addr, Topic: "mismatch-fifo", Topic2: "mismatch-normal"})
	var res struct {
		NormalToFIFO, FIFOToNormal         string
		NormalToFIFOCode, FIFOToNormalCode int32
	}
	c.expect("result", &res, time.Minute)
	c.stop()
	require.Equal(t, int32(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE), res.NormalToFIFOCode, "NORMAL message to a FIFO topic: %q", res.NormalToFIFO)
	require.Equal(t, int32(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE), res.FIFOToNormalCode, "FIFO message to a NORMAL topic: %q", res.FIFOToNormal)
	require.Zero(t, queued(t, b, "mismatch-fifo"))
	require.Zero(t, queued(t, b, "mismatch-normal"))
}
