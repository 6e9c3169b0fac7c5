package node_test

// Message types with real nodes and restarts, driven by the official Go
// client v5.1.4 in a child process (messagetypes_client_test.go): FIFO
// order and delay delivery across a graceful restart on the same data
// directory, and the server-side trace and query of a message.

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// freeAddr is a loopback address nobody listens on, so a node can be
// restarted where its clients expect it.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func startNodeAt(t *testing.T, dir, addr string) *node.Node {
	t.Helper()
	return nodetest.Start(t, nodetest.WithDataDir(dir), func(c *node.Config) { c.GRPCAddr = addr })
}

// restartNode stops n gracefully and starts a node on the same data
// directory and client address.
func restartNode(t *testing.T, n *node.Node, dir string) (*node.Node, time.Duration) {
	t.Helper()
	addr := n.GRPCAddr()
	start := time.Now()
	require.NoError(t, n.Stop(context.Background()))
	n = startNodeAt(t, dir, addr)
	return n, time.Since(start)
}

// TestMessageTypesFIFORestart: example/producer/fifo (8 message groups of
// 50) consumed by a FIFO push consumer group keeps every message group in
// order across a failed-and-retried message and across a graceful restart
// of the node in the middle of consumption, with messages in flight (the
// listener holds them) while the node is down. The consumer keeps running.
func TestMessageTypesFIFORestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNodeAt(t, dir, freeAddr(t))
	nodetest.CreateTopic(t, n, "fifo-topic", broker.TopicFIFO, 4)
	_, err := n.Broker().CreateGroup(context.Background(), broker.Group{Name: "fifo-group", Orderly: true})
	require.NoError(t, err)
	p := mtParams{Endpoint: n.GRPCAddr(), Topic: "fifo-topic", Group: "fifo-group",
		FIFOParams: clientproc.FIFOParams{Groups: 8, PerGroup: 50, FailGroup: 5, FailSeq: 40}, GateAt: 200}
	c := clientproc.Start(t, "fifo-restart", p)
	var gated struct{ Consumed int }
	c.Expect("gated", &gated, 2*time.Minute)
	n, took := restartNode(t, n, dir)
	t.Logf("node restarted in %s with %d of %d messages consumed", took, gated.Consumed, p.Groups*p.PerGroup)
	c.Say("resume")
	resumed := time.Now()
	var res clientproc.FIFOResult
	c.Expect("result", &res, 3*time.Minute)
	t.Logf("consumption finished %s after the restart", time.Since(resumed))
	logFIFOStalls(t, res.Events)
	repeats := clientproc.RequireFIFOOrder(t, res, p.FIFOParams)
	t.Logf("%d listener calls for %d messages (%d repeated, 1 of them the local retry)", len(res.Events), res.Sent, repeats)
	clientproc.RequireConsumed(t, n.Broker(), "fifo-group", "fifo-topic")
	c.Kill()
}

// logFIFOStalls logs the gaps of over a second between listener calls
// (the local retry of the failed message waits the 1 s backoff).
func logFIFOStalls(t *testing.T, events []clientproc.FIFOEvent) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		if gap := events[i].At.Sub(events[i-1].At); gap > time.Second {
			t.Logf("no listener call for %s before call #%d (%+v)", gap.Round(time.Millisecond), i, events[i])
		}
	}
}

// TestMessageTypesDelayRestart: delay messages (example/producer/delay, due
// 3 s after sending) survive a graceful restart of the node between their
// send and their delivery time: each arrives exactly once, not early.
func TestMessageTypesDelayRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNodeAt(t, dir, freeAddr(t))
	nodetest.CreateTopic(t, n, "delay-topic", broker.TopicDelay, 4)
	_, err := n.Broker().CreateGroup(context.Background(), broker.Group{Name: "delay-group"})
	require.NoError(t, err)
	p := mtParams{Endpoint: n.GRPCAddr(), Topic: "delay-topic", Group: "delay-group",
		Count: 3, Delay: 3 * time.Second, Spread: 250 * time.Millisecond}
	c := clientproc.Start(t, "delay-restart", p)
	var sent clientproc.DelayResult
	c.Expect("sent", &sent, time.Minute)
	require.Len(t, sent.Sent, p.Count)
	n, took := restartNode(t, n, dir)
	restarted := time.Now()
	t.Logf("node restarted in %s, %s before the first delivery time", took, sent.Sent[0].Due.Sub(restarted))
	require.True(t, restarted.Before(sent.Sent[0].Due), "the restart ends before the messages are due")

	var res clientproc.DelayResult
	c.Expect("result", &res, 2*time.Minute)
	// Generous: the client reconnects with gRPC's backoff after the restart.
	clientproc.RequireOnTime(t, res, p.Count, 5*time.Second)
	clientproc.RequireConsumed(t, n.Broker(), "delay-group", "delay-topic")
	c.Kill()
}

// TestMessageTypesTrace: one message with a key, consumed by a push
// consumer that fails it once (nack) and acks the second delivery. The
// node's admin service (GetTrace) shows its send and store by the producer,
// delivery attempt 1 and its nack or timeout, delivery attempt 2 and its ack,
// with times and the consumer's client id; QueryMessages by message id, by
// key and by store time each find it, acked by the group.
func TestMessageTypesTrace(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t)
	const topic, group = "trace-topic", "trace-group"
	nodetest.CreateTopic(t, n, topic, broker.TopicNormal, 2)
	_, err := n.Broker().CreateGroup(context.Background(), broker.Group{Name: group})
	require.NoError(t, err)
	key := fmt.Sprintf("order-%d", time.Now().UnixNano())
	c := clientproc.Start(t, "trace", mtParams{Endpoint: n.GRPCAddr(), Topic: topic, Group: group, Key: key})
	var res struct {
		Complete              bool
		ID                    string
		Pid                   int
		SentAfter, SentBefore time.Time
		Attempts              []int32
	}
	c.Expect("result", &res, time.Minute)
	require.True(t, res.Complete, "delivered twice: %v", res.Attempts)
	require.Equal(t, []int32{1, 2}, res.Attempts)
	clientproc.RequireConsumed(t, n.Broker(), group, topic)
	c.Kill()
	// Client ids are host@pid@index@time; the child made the producer first.
	producerID := fmt.Sprintf("@%d@0@", res.Pid)
	consumerID := fmt.Sprintf("@%d@1@", res.Pid)

	admin, err := adminclient.New(adminclient.Config{Addr: n.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()

	// Trace events are buffered before they are stored: poll.
	var tr *adminpb.Trace
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := admin.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: topic, MessageId: res.ID})
		require.NoError(c, err)
		var types []string
		for _, e := range got.GetEvents() {
			types = append(types, e.GetType())
		}
		require.Contains(c, types, "ACK", "a trace ending in an ack")
		tr = got
	}, 30*time.Second, 50*time.Millisecond)
	for _, e := range tr.GetEvents() {
		t.Logf("trace: %s %s attempt=%d group=%q client=%q queue=%d@%d status=%q cost=%s detail=%q",
			e.GetTime().AsTime().Format("15:04:05.000"), e.GetType(), e.GetAttempt(), e.GetGroup(), e.GetClientId(),
			e.GetQueueId(), e.GetQueueOffset(), e.GetStatus(), e.GetCost().AsDuration(), e.GetDetail())
	}
	plausible := func(what string, ts interface{ AsTime() time.Time }) time.Time {
		t.Helper()
		require.NotNil(t, ts, "%s has a time", what)
		at := ts.AsTime()
		require.False(t, at.Before(res.SentAfter.Add(-time.Second)), "%s at %s: before the send", what, at)
		require.False(t, at.After(time.Now()), "%s at %s: in the future", what, at)
		return at
	}

	// Send and store, by the producer.
	require.Len(t, tr.GetProducer().GetRecords(), 1)
	prod := tr.GetProducer().GetRecords()[0]
	require.Equal(t, "SUCCESS", prod.GetStatus(), prod.GetError())
	require.Contains(t, prod.GetClientId(), producerID)
	arrived := plausible("send", prod.GetArriveTime())
	stored := plausible("store", prod.GetProduceTime())
	require.False(t, stored.Before(arrived), "stored before it arrived")
	require.Equal(t, tr.GetMessage().GetQueueOffset(), prod.GetQueueOffset())

	// The group's two attempts.
	var cons *adminpb.ConsumerInfo
	for _, ci := range tr.GetConsumers() {
		if ci.GetGroup() == group {
			cons = ci
		}
	}
	require.NotNil(t, cons, "the trace has %s", group)
	require.Equal(t, adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS, cons.GetStatus())
	require.Len(t, cons.GetRecords(), 2, "two delivery attempts")
	first, second := cons.GetRecords()[0], cons.GetRecords()[1]
	require.Equal(t, int32(1), first.GetAttempt())
	require.Equal(t, int32(2), second.GetAttempt())
	for _, r := range cons.GetRecords() {
		require.Contains(t, r.GetClientId(), consumerID, "attempt %d: the consumer's client id", r.GetAttempt())
	}
	require.Equal(t, "RETRY", first.GetStatus())
	require.Equal(t, "SUCCESS", second.GetStatus())
	delivered1 := plausible("delivery 1", first.GetDeliverTime())
	require.NotEmpty(t, first.GetOperations(), "attempt 1 ends in a nack or timeout")
	end1 := first.GetOperations()[0]
	require.Contains(t, []string{"NACK", "TIMEOUT"}, end1.GetType())
	ended1 := plausible("end of attempt 1", end1.GetTime())
	delivered2 := plausible("delivery 2", second.GetDeliverTime())
	require.NotEmpty(t, second.GetOperations(), "attempt 2 ends in an ack")
	ack := second.GetOperations()[0]
	require.Equal(t, "ACK", ack.GetType())
	require.Contains(t, ack.GetClientId(), consumerID)
	acked := plausible("ack", ack.GetTime())
	order := []time.Time{stored, delivered1, ended1, delivered2, acked}
	for i := 1; i < len(order); i++ {
		require.False(t, order[i].Before(order[i-1]), "trace steps out of time order: %v", order)
	}
	t.Logf("stored %s after arrival; attempt 1 %s after store, %s to its %s; attempt 2 %s later, acked after %s",
		stored.Sub(arrived), delivered1.Sub(stored), ended1.Sub(delivered1), end1.GetType(), delivered2.Sub(ended1), acked.Sub(delivered2))

	// Query by id, by key and by store time.
	queries := map[string]*adminpb.QueryMessagesRequest{
		"id":   {Topic: topic, MessageId: res.ID},
		"key":  {Topic: topic, Key: key},
		"time": {Topic: topic, StartTime: timestamppb.New(res.SentAfter.Add(-time.Second)), EndTime: timestamppb.New(res.SentBefore.Add(time.Second))},
	}
	for by, q := range queries {
		msgs, err := admin.QueryAllMessages(ctx, q, 0)
		require.NoError(t, err, "query by %s", by)
		var m *adminpb.Message
		for _, x := range msgs {
			if x.GetMessageId() == res.ID {
				m = x
			}
		}
		require.NotNil(t, m, "query by %s finds the message among %d", by, len(msgs))
		require.Equal(t, adminpb.MessageState_MESSAGE_STATE_STORED, m.GetState())
		require.Contains(t, m.GetKeys(), key)
		var state adminpb.DeliveryState
		for _, d := range m.GetDeliveries() {
			if d.GetGroup() == group {
				state = d.GetState()
			}
		}
		require.Equal(t, adminpb.DeliveryState_DELIVERY_STATE_ACKED, state, "query by %s: %s acked it", by, group)
	}
	m, err := admin.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: topic, MessageId: res.ID})
	require.NoError(t, err)
	require.Equal(t, "this is a message : 0", string(m.GetBody()))
}
