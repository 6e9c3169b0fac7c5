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
	"os"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

func TestMain(m *testing.M) {
	clientproc.RunChild(scenarios, nil)
	os.Exit(m.Run())
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

func TestCompatProducerNormal(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "normal-topic", broker.TopicNormal, 4)
	c := clientproc.Start(t, "producer-normal", compatParams{Endpoint: addr, Topic: "normal-topic"})
	var res struct {
		IDs        []string
		BigRefused bool
	}
	c.Expect("result", &res, time.Minute)
	c.Finish()
	require.Len(t, res.IDs, 10)
	require.True(t, res.BigRefused, "max_body_size from Settings applies client-side")
	require.Equal(t, int64(10), queued(t, b, "normal-topic"))
}

func TestCompatProducerAsync(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "async-topic", broker.TopicNormal, 4)
	c := clientproc.Start(t, "producer-async", compatParams{Endpoint: addr, Topic: "async-topic"})
	var res struct{ IDs []string }
	c.Expect("result", &res, time.Minute)
	c.Finish()
	require.Len(t, res.IDs, 10)
	require.Equal(t, int64(10), queued(t, b, "async-topic"))
}

func TestCompatProducerUnknownTopic(t *testing.T) {
	t.Parallel()
	_, addr := startCompat(t)
	c := clientproc.Start(t, "producer-unknown-topic", compatParams{Endpoint: addr, Topic: "no-such-topic"})
	var res struct{ Err string }
	c.Expect("result", &res, time.Minute)
	c.Finish()
	require.Contains(t, res.Err, "TOPIC_NOT_FOUND")
}

func TestCompatSimpleConsumer(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "simple-topic", broker.TopicNormal, 4)
	createGroup(t, b, broker.Group{Name: "simple-group"})
	c := clientproc.Start(t, "simple-consumer", compatParams{Endpoint: addr, Topic: "simple-topic", Group: "simple-group"})
	var res struct {
		EmptyErr      string
		Received      int
		FirstAttempts []int32
		Skipped       string
		Again         string
		AgainAttempt  int32
	}
	c.Expect("result", &res, 2*time.Minute)
	c.Finish()
	require.Contains(t, res.EmptyErr, "MESSAGE_NOT_FOUND")
	require.Equal(t, 20, res.Received)
	for _, a := range res.FirstAttempts {
		require.Equal(t, int32(1), a)
	}
	require.Equal(t, res.Skipped, res.Again, "the unacked message comes back")
	require.Equal(t, int32(2), res.AgainAttempt)
	clientproc.RequireConsumed(t, b, "simple-group", "simple-topic")
}

// TestCompatPushConsumerLoad: 10,000 messages sent by 4 producers all reach
// one push consumer group, none lost, none delivered again after its ack.
func TestCompatPushConsumerLoad(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	const producers, perProd = 4, 2500
	createTopic(t, b, "load-topic", broker.TopicNormal, 8)
	createGroup(t, b, broker.Group{Name: "load-group"})
	c := clientproc.Start(t, "push-load", compatParams{Endpoint: addr, Topic: "load-topic", Group: "load-group", Producers: producers, PerProd: perProd})
	var got struct{ Sent int }
	c.Expect("received", &got, 5*time.Minute)
	require.Equal(t, producers*perProd, got.Sent)
	clientproc.RequireConsumed(t, b, "load-group", "load-topic")
	require.Equal(t, int64(producers*perProd), queued(t, b, "load-topic"))
	c.CloseStdin()
	var res struct{ Sent, Distinct, Deliveries, Missing, Duplicated int }
	c.Expect("result", &res, time.Minute)
	c.Finish()
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
	c := clientproc.Start(t, "push-retry-dlq", compatParams{Endpoint: addr, Topic: "retry-topic", Group: "retry-group", DLQReader: "dlq-reader"})
	var res struct {
		Sent, DeadID, DeadBody, DeadTopic string
		Attempts                          []int32
		Dead                              int
	}
	c.Expect("result", &res, 2*time.Minute)
	c.Finish()
	require.Equal(t, []int32{1, 2}, res.Attempts, "redelivered once with attempt 2, never beyond max attempts")
	require.Equal(t, 1, res.Dead)
	require.Equal(t, res.Sent, res.DeadID)
	require.Equal(t, "this is a message : 7", res.DeadBody)
	require.Equal(t, "%DLQ%retry-group", res.DeadTopic)
	clientproc.RequireConsumed(t, b, "retry-group", "retry-topic")
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
	p := compatParams{Endpoint: addr, Topic: "fifo-topic", Group: "fifo-group", FIFOParams: clientproc.FIFOParams{Groups: 8, PerGroup: 50, FailGroup: 3, FailSeq: 10}}
	c := clientproc.Start(t, "producer-fifo", p)
	var res clientproc.FIFOResult
	c.Expect("result", &res, 2*time.Minute)
	repeats := clientproc.RequireFIFOOrder(t, res, p.FIFOParams)
	require.Equal(t, 1, repeats, "nothing but the failed message is consumed twice")
	clientproc.RequireConsumed(t, b, "fifo-group", "fifo-topic")
	c.Kill()
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
	c := clientproc.Start(t, "producer-delay", p)
	var res clientproc.DelayResult
	c.Expect("result", &res, 2*time.Minute)
	clientproc.RequireOnTime(t, res, p.Count, 2500*time.Millisecond)
	for _, g := range res.Got {
		require.Equal(t, int32(1), g.Attempt)
	}
	clientproc.RequireConsumed(t, b, "delay-group", "delay-topic")
	c.Kill()
}

// TestCompatProducerDelayRecall: example/producer/delay_recall. The recalled
// message is never delivered while the others are; recalling it again, with
// a made-up handle, or after a message fired fails.
func TestCompatProducerDelayRecall(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "topic-delay-new", broker.TopicDelay, 4)
	createGroup(t, b, broker.Group{Name: "recall-group"})
	c := clientproc.Start(t, "producer-delay-recall", compatParams{Endpoint: addr, Topic: "topic-delay-new", Group: "recall-group", Delay: 2 * time.Second})
	var res struct {
		IDs, Handles                    []string
		Recalled, RecallErr             string
		AgainErr, BogusErr, FiredErr    string
		AgainCode, BogusCode, FiredCode int32
		FiredTried                      bool
		Got                             map[string]int
	}
	c.Expect("result", &res, 2*time.Minute)
	c.Kill()
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
	clientproc.RequireConsumed(t, b, "recall-group", "topic-delay-new")
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
	c := clientproc.Start(t, "producer-transaction", compatParams{Endpoint: addr, Topic: "txn-topic", Group: "txn-group"})
	var res struct {
		Complete     bool
		Sent         []txnSent
		Got, Checked []txnEvent
	}
	c.Expect("result", &res, 2*time.Minute)
	c.Kill()
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
	clientproc.RequireConsumed(t, b, "txn-group", "txn-topic")
}

// TestCompatMessageTypeMismatch: a NORMAL message to a FIFO topic and a
// FIFO message to a NORMAL topic are refused with
// MESSAGE_PROPERTY_CONFLICT_WITH_TYPE (40014), and nothing is stored.
func TestCompatMessageTypeMismatch(t *testing.T) {
	t.Parallel()
	b, addr := startCompat(t)
	createTopic(t, b, "mismatch-fifo", broker.TopicFIFO, 2)
	createTopic(t, b, "mismatch-normal", broker.TopicNormal, 2)
	c := clientproc.Start(t, "type-mismatch", compatParams{Endpoint: addr, Topic: "mismatch-fifo", Topic2: "mismatch-normal"})
	var res struct {
		NormalToFIFO, FIFOToNormal         string
		NormalToFIFOCode, FIFOToNormalCode int32
	}
	c.Expect("result", &res, time.Minute)
	c.Kill()
	require.Equal(t, int32(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE), res.NormalToFIFOCode, "NORMAL message to a FIFO topic: %q", res.NormalToFIFO)
	require.Equal(t, int32(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE), res.FIFOToNormalCode, "FIFO message to a NORMAL topic: %q", res.FIFOToNormal)
	require.Zero(t, queued(t, b, "mismatch-fifo"))
	require.Zero(t, queued(t, b, "mismatch-normal"))
}
