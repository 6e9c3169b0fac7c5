package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store"
)

// scriptedSend answers every message with a result naming its transaction
// (TRANSACTION) or recall handle (DELAY), as the broker does.
func scriptedSend(msgs []*store.Message) ([]broker.SendResult, error) {
	out := make([]broker.SendResult, len(msgs))
	for i, m := range msgs {
		out[i] = broker.SendResult{MessageID: m.MessageID, QueueID: 0, QueueOffset: int64(10 + i)}
		switch m.Type {
		case store.TypeTransaction:
			out[i].TransactionID = "txn-" + m.MessageID
		case store.TypeDelay:
			out[i].RecallHandle = "recall-" + m.MessageID
		}
	}
	return out, nil
}

func TestSendFillsTransactionIDAndRecallHandle(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	f.send = scriptedSend
	addr, _ := startProxy(t, f, nil)
	c := dial(t, addr, false)

	txn := normalMessage("pay", "01T", "half")
	txn.SystemProperties.MessageType = v2.MessageType_TRANSACTION
	resp := send(t, c, txn)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
	e := resp.GetEntries()[0]
	require.Equal(t, "txn-01T", e.GetTransactionId(), "the broker's transaction id, for EndTransaction")
	require.Empty(t, e.GetRecallHandle())
	require.Equal(t, "01T", e.GetMessageId())
	require.Equal(t, int64(10), e.GetOffset())

	// Two days ahead is past Apache's 24 h proxy limit but within the
	// broker's MaxDelay (3 days): the broker decides.
	at := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
	delay := normalMessage("later", "01D", "later")
	delay.SystemProperties.MessageType = v2.MessageType_DELAY
	delay.SystemProperties.DeliveryTimestamp = timestamppb.New(at)
	resp = send(t, c, delay)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode(), resp.GetStatus().GetMessage())
	e = resp.GetEntries()[0]
	require.Equal(t, "recall-01D", e.GetRecallHandle())
	require.Empty(t, e.GetTransactionId())
	f.mu.Lock()
	last := f.sent[len(f.sent)-1]
	f.mu.Unlock()
	require.Equal(t, store.TypeDelay, last.Type)
	require.True(t, last.DeliveryTime.Equal(at))

	resp = send(t, c, normalMessage("orders", "01N", "n"))
	require.Empty(t, resp.GetEntries()[0].GetTransactionId())
	require.Empty(t, resp.GetEntries()[0].GetRecallHandle())

	// Beyond the broker's limit: ILLEGAL_DELIVERY_TIME with its wording.
	f.set(func(f *fakeBroker) {
		f.send = func([]*store.Message) ([]broker.SendResult, error) {
			return nil, fmt.Errorf("%w: message 01X is due in 100h, beyond the 72h limit", broker.ErrIllegalDeliveryTime)
		}
	})
	far := normalMessage("later", "01X", "far")
	far.SystemProperties.MessageType = v2.MessageType_DELAY
	far.SystemProperties.DeliveryTimestamp = timestamppb.New(time.Now().Add(100 * time.Hour))
	resp = send(t, c, far)
	require.Equal(t, v2.Code_ILLEGAL_DELIVERY_TIME, resp.GetStatus().GetCode())
	require.Equal(t, v2.Code_ILLEGAL_DELIVERY_TIME, resp.GetEntries()[0].GetStatus().GetCode())
	require.Contains(t, resp.GetStatus().GetMessage(), "72h")
}

func TestEndTransaction(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	addr, _ := startProxy(t, f, nil)
	c := dial(t, addr, false)
	req := func(mut func(r *v2.EndTransactionRequest)) *v2.EndTransactionRequest {
		r := &v2.EndTransactionRequest{Topic: &v2.Resource{Name: "pay"}, MessageId: "01T", TransactionId: "txn-1", Resolution: v2.TransactionResolution_COMMIT}
		if mut != nil {
			mut(r)
		}
		return r
	}
	cases := []struct {
		name string
		id   string
		req  *v2.EndTransactionRequest
		code v2.Code
		want *endCall // what reaches the broker; nil: nothing
	}{
		{"commit", "p", req(nil), v2.Code_OK, &endCall{"pay", "01T", "txn-1", broker.ResolutionCommit, false}},
		{"rollback", "p", req(func(r *v2.EndTransactionRequest) { r.Resolution = v2.TransactionResolution_ROLLBACK }), v2.Code_OK,
			&endCall{"pay", "01T", "txn-1", broker.ResolutionRollback, false}},
		// Go answers an UNKNOWN check with UNSPECIFIED and no source.
		{"unspecified", "p", req(func(r *v2.EndTransactionRequest) {
			r.Resolution = v2.TransactionResolution_TRANSACTION_RESOLUTION_UNSPECIFIED
		}), v2.Code_OK,
			&endCall{"pay", "01T", "txn-1", broker.ResolutionUnknown, false}},
		// Node marks its answers to checks.
		{"from check", "p", req(func(r *v2.EndTransactionRequest) { r.Source = v2.TransactionSource_SOURCE_SERVER_CHECK }), v2.Code_OK,
			&endCall{"pay", "01T", "txn-1", broker.ResolutionCommit, true}},
		{"client source", "p", req(func(r *v2.EndTransactionRequest) { r.Source = v2.TransactionSource_SOURCE_CLIENT }), v2.Code_OK,
			&endCall{"pay", "01T", "txn-1", broker.ResolutionCommit, false}},
		{"blank transaction id", "p", req(func(r *v2.EndTransactionRequest) { r.TransactionId = " " }), v2.Code_INVALID_TRANSACTION_ID, nil},
		{"no transaction id", "p", req(func(r *v2.EndTransactionRequest) { r.TransactionId = "" }), v2.Code_INVALID_TRANSACTION_ID, nil},
		{"unknown resolution", "p", req(func(r *v2.EndTransactionRequest) { r.Resolution = 7 }), v2.Code_BAD_REQUEST, nil},
		{"bad topic", "p", req(func(r *v2.EndTransactionRequest) { r.Topic.Name = "a b" }), v2.Code_ILLEGAL_TOPIC, nil},
		{"no client id", "", req(nil), v2.Code_CLIENT_ID_REQUIRED, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.endCalls())
			ctx := testContext(t, 5*time.Second)
			if tc.id != "" {
				ctx = asClient(ctx, tc.id)
			}
			resp, err := c.EndTransaction(ctx, tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.code, resp.GetStatus().GetCode(), resp.GetStatus().GetMessage())
			calls := f.endCalls()[before:]
			if tc.want == nil {
				require.Empty(t, calls, "refused before the broker")
				return
			}
			require.Equal(t, []endCall{*tc.want}, calls)
		})
	}

	// The broker's verdicts.
	for _, tc := range []struct {
		err  error
		code v2.Code
	}{
		{fmt.Errorf("end txn-1: %w", broker.ErrTransactionNotFound), v2.Code_INVALID_TRANSACTION_ID},
		{fmt.Errorf("end: %w", broker.ErrTopicNotFound), v2.Code_TOPIC_NOT_FOUND},
		{fmt.Errorf("%w: transaction of another topic", broker.ErrInvalidArgument), v2.Code_BAD_REQUEST},
	} {
		f.set(func(f *fakeBroker) { f.endErr = tc.err })
		resp, err := c.EndTransaction(asClient(testContext(t, 5*time.Second), "p"), req(nil))
		require.NoError(t, err)
		require.Equal(t, tc.code, resp.GetStatus().GetCode(), "%v", tc.err)
		if tc.code == v2.Code_INVALID_TRANSACTION_ID {
			require.Contains(t, resp.GetStatus().GetMessage(), "transaction not found")
		}
	}
}

func TestRecallMessage(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	f.recallID = "01D"
	addr, _ := startProxy(t, f, nil)
	c := dial(t, addr, false)
	ctx := asClient(testContext(t, 10*time.Second), "p")
	recall := func(ctx context.Context, topic, handle string) *v2.RecallMessageResponse {
		t.Helper()
		resp, err := c.RecallMessage(ctx, &v2.RecallMessageRequest{Topic: &v2.Resource{Name: topic}, RecallHandle: handle})
		require.NoError(t, err)
		return resp
	}

	resp := recall(ctx, "later", "recall-01D")
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
	require.Equal(t, "01D", resp.GetMessageId())
	require.Equal(t, [][2]string{{"later", "recall-01D"}}, f.recallCalls())

	// Refused before the broker.
	require.Equal(t, v2.Code_BAD_REQUEST, recall(ctx, "later", "").GetStatus().GetCode())
	require.Equal(t, v2.Code_BAD_REQUEST, recall(ctx, "later", "  ").GetStatus().GetCode())
	require.Equal(t, v2.Code_ILLEGAL_TOPIC, recall(ctx, "%DLQ%g", "h").GetStatus().GetCode())
	require.Equal(t, v2.Code_CLIENT_ID_REQUIRED, recall(testContext(t, 5*time.Second), "later", "h").GetStatus().GetCode())
	require.Len(t, f.recallCalls(), 1)

	// Too late, already recalled, or never scheduled.
	f.set(func(f *fakeBroker) { f.recallID, f.recallErr = "", fmt.Errorf("recall: %w", broker.ErrRecallNotFound) })
	resp = recall(ctx, "later", "recall-01D")
	require.Equal(t, v2.Code_NOT_FOUND, resp.GetStatus().GetCode())
	require.Equal(t, "message already delivered, recalled or unknown", resp.GetStatus().GetMessage())
	require.Empty(t, resp.GetMessageId())

	// A handle that does not decode, or names another topic.
	f.set(func(f *fakeBroker) {
		f.recallErr = fmt.Errorf("%w: recall handle is malformed", broker.ErrInvalidArgument)
	})
	require.Equal(t, v2.Code_BAD_REQUEST, recall(ctx, "later", "garbage").GetStatus().GetCode())
}

// dialRecording is dial (plaintext) that also reports the client's local
// address of its connection: what the proxy sees as the peer.
func dialRecording(t *testing.T, addr string) (v2.MessagingServiceClient, func() string) {
	t.Helper()
	var mu sync.Mutex
	var local string
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", a)
			if err == nil {
				mu.Lock()
				local = c.LocalAddr().String()
				mu.Unlock()
			}
			return c, err
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return v2.NewMessagingServiceClient(conn), func() string {
		mu.Lock()
		defer mu.Unlock()
		return local
	}
}

func TestBrokerCallsNameTheCaller(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	f := newFakeBroker(b)
	addr, _ := startProxy(t, f, nil)
	c, localAddr := dialRecording(t, addr)
	ctx := asClient(testContext(t, 30*time.Second), "caller-1")

	for _, id := range []string{"01A", "01B"} {
		resp, err := c.SendMessage(ctx, &v2.SendMessageRequest{Messages: []*v2.Message{normalMessage("t", id, "x")}})
		require.NoError(t, err)
		require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
	}
	var got []*v2.SystemProperties
	for len(got) < 2 {
		items := receiveAll(t, c, ctx, receiveRequest("g", "t"))
		require.Equal(t, v2.Code_OK, items[0].GetStatus().GetCode())
		for _, it := range items[1 : len(items)-1] {
			got = append(got, it.GetMessage().GetSystemProperties())
		}
	}
	civ, err := c.ChangeInvisibleDuration(ctx, &v2.ChangeInvisibleDurationRequest{Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"},
		MessageId: got[0].GetMessageId(), ReceiptHandle: got[0].GetReceiptHandle(), InvisibleDuration: durationpb.New(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, civ.GetStatus().GetCode())
	ack, err := c.AckMessage(ctx, &v2.AckMessageRequest{Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"},
		Entries: []*v2.AckMessageEntry{{MessageId: got[0].GetMessageId(), ReceiptHandle: civ.GetReceiptHandle()}}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, ack.GetStatus().GetCode())
	dlq, err := c.ForwardMessageToDeadLetterQueue(ctx, &v2.ForwardMessageToDeadLetterQueueRequest{Group: &v2.Resource{Name: "g"},
		Topic: &v2.Resource{Name: "t"}, MessageId: got[1].GetMessageId(), ReceiptHandle: got[1].GetReceiptHandle()})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, dlq.GetStatus().GetCode())
	end, err := c.EndTransaction(ctx, &v2.EndTransactionRequest{Topic: &v2.Resource{Name: "t"}, TransactionId: "txn", Resolution: v2.TransactionResolution_COMMIT})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, end.GetStatus().GetCode())
	rec, err := c.RecallMessage(ctx, &v2.RecallMessageRequest{Topic: &v2.Resource{Name: "t"}, RecallHandle: "h"})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, rec.GetStatus().GetCode())

	want := broker.Caller{ClientID: "caller-1", Addr: localAddr()}
	require.NotEmpty(t, want.Addr)
	for _, m := range []string{"Send", "Receive", "ChangeInvisible", "Ack", "ForwardToDLQ", "EndTransaction", "Recall"} {
		callers := f.callersOf(m)
		require.NotEmpty(t, callers, m)
		for _, got := range callers {
			require.Equal(t, want, got, m)
		}
	}
}

// teleClient is a raw Telemetry stream whose server commands arrive on cmds.
type teleClient struct {
	stream grpc.BidiStreamingClient[v2.TelemetryCommand, v2.TelemetryCommand]
	cmds   chan *v2.TelemetryCommand
}

// openTelemetry opens a stream as clientID, sends settings and waits for
// the reply, as a client's Start() does.
func openTelemetry(t *testing.T, c v2.MessagingServiceClient, clientID string, settings *v2.Settings) *teleClient {
	t.Helper()
	stream, err := c.Telemetry(asClient(testContext(t, time.Minute), clientID))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: settings}}))
	reply, err := stream.Recv()
	require.NoError(t, err)
	require.NotNil(t, reply.GetSettings())
	tc := &teleClient{stream: stream, cmds: make(chan *v2.TelemetryCommand, 64)}
	go func() {
		defer close(tc.cmds)
		for {
			cmd, err := stream.Recv()
			if err != nil {
				return
			}
			tc.cmds <- cmd
		}
	}()
	return tc
}

func (tc *teleClient) next(t *testing.T) *v2.TelemetryCommand {
	t.Helper()
	select {
	case cmd, ok := <-tc.cmds:
		require.True(t, ok, "the stream ended")
		return cmd
	case <-time.After(10 * time.Second):
		t.Fatal("no command arrived")
		return nil
	}
}

func producerSettings(topics ...string) *v2.Settings {
	ct := v2.ClientType_PRODUCER
	p := &v2.Publishing{}
	for _, name := range topics {
		p.Topics = append(p.Topics, &v2.Resource{Name: name})
	}
	return &v2.Settings{ClientType: &ct, RequestTimeout: durationpb.New(3 * time.Second), PubSub: &v2.Settings_Publishing{Publishing: p}}
}

func txnCheck(topic, id string) broker.TxnCheck {
	return broker.TxnCheck{TransactionID: "txn-" + id, Message: &store.Message{
		Topic: topic, MessageID: id, Type: store.TypeTransaction, Tag: "tag", Keys: []string{"k"},
		Properties: map[string]string{"order": id}, Body: []byte("half-" + id),
		BornTime: time.Now(), BornHost: "producer-host", StoreTime: time.Now(),
	}}
}

// txnChecks reads orbit_proxy_txn_checks_total{result}.
func txnChecks(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "orbit_proxy_txn_checks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestTxnChecksReachOneProducerOfTheTopic: each orphan check goes out once,
// as RecoverOrphanedTransactionCommand, on the stream of one connected
// producer that publishes to the message's topic, rotating among them;
// consumers and other topics' producers get nothing, and a check no
// producer can take is dropped.
func TestTxnChecksReachOneProducerOfTheTopic(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	reg := prometheus.NewRegistry()
	addr, _ := startProxy(t, f, func(c *proxy.Config) { c.TxnCheckPeriod = 20 * time.Millisecond; c.Metrics = reg })
	c := dial(t, addr, false)

	a := openTelemetry(t, c, "producer-a", producerSettings("pay"))
	b := openTelemetry(t, c, "producer-b", producerSettings("pay", "extra"))
	other := openTelemetry(t, c, "producer-c", producerSettings("other"))
	ct := v2.ClientType_PUSH_CONSUMER
	consumer := openTelemetry(t, c, "consumer-d", &v2.Settings{ClientType: &ct, PubSub: &v2.Settings_Subscription{Subscription: &v2.Subscription{
		Group:         &v2.Resource{Name: "g"},
		Subscriptions: []*v2.SubscriptionEntry{{Topic: &v2.Resource{Name: "pay"}, Expression: &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "*"}}},
	}}})
	// A producer that left: its stream is gone once the client sees EOF.
	gone := openTelemetry(t, c, "producer-e", producerSettings("gone"))
	require.NoError(t, gone.stream.CloseSend())
	for range gone.cmds {
	}

	f.addChecks(txnCheck("pay", "P1"), txnCheck("pay", "P2"), txnCheck("pay", "P3"), txnCheck("pay", "P4"),
		txnCheck("other", "O1"), txnCheck("orphan", "X1"), txnCheck("gone", "G1"))

	got := map[string][]string{}
	for name, tc := range map[string]*teleClient{"a": a, "b": b} {
		for range 2 {
			cmd := tc.next(t)
			rc := cmd.GetRecoverOrphanedTransactionCommand()
			require.NotNil(t, rc, "%v", cmd)
			m := rc.GetMessage()
			id := m.GetSystemProperties().GetMessageId()
			require.Equal(t, "txn-"+id, rc.GetTransactionId())
			require.Equal(t, "pay", m.GetTopic().GetName())
			require.Equal(t, "half-"+id, string(m.GetBody()))
			require.Equal(t, map[string]string{"order": id}, m.GetUserProperties())
			require.Equal(t, "tag", m.GetSystemProperties().GetTag())
			require.NotEmpty(t, m.GetSystemProperties().GetBodyDigest().GetChecksum())
			require.Nil(t, m.GetSystemProperties().ReceiptHandle)
			got[name] = append(got[name], id)
		}
	}
	require.ElementsMatch(t, []string{"P1", "P2", "P3", "P4"}, append(got["a"], got["b"]...), "each check once")
	require.Len(t, got["a"], 2, "rotated among the topic's producers")
	require.Len(t, got["b"], 2, "rotated among the topic's producers")
	oc := other.next(t).GetRecoverOrphanedTransactionCommand()
	require.Equal(t, "O1", oc.GetMessage().GetSystemProperties().GetMessageId())
	require.Equal(t, "other", oc.GetMessage().GetTopic().GetName())

	// Five checks were sent and five arrived above: the consumer got none.
	require.Eventually(t, func() bool {
		return txnChecks(t, reg, "sent") == 5 && txnChecks(t, reg, "no_producer") == 2
	}, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, f.pendingChecks())
	require.Empty(t, consumer.cmds)

	// The streams keep answering Settings after the pushes.
	require.NoError(t, a.stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: producerSettings("pay")}}))
	require.NotNil(t, a.next(t).GetSettings())
}

// TestTxnChecksDoNotRaceSettingsReplies pushes checks while the same stream
// answers a burst of Settings (run with -race): every reply and every check
// arrives intact.
func TestTxnChecksDoNotRaceSettingsReplies(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	addr, _ := startProxy(t, f, func(c *proxy.Config) { c.TxnCheckPeriod = 5 * time.Millisecond })
	c := dial(t, addr, false)
	p := openTelemetry(t, c, "producer-a", producerSettings("pay"))

	// Together within the stream's queue (64): nothing is dropped as busy.
	const checks, resyncs = 25, 25
	go func() {
		for i := range checks {
			f.addChecks(txnCheck("pay", fmt.Sprintf("P%02d", i)))
		}
	}()
	for range resyncs {
		require.NoError(t, p.stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: producerSettings("pay")}}))
	}
	settings, seen := 0, map[string]bool{}
	for settings < resyncs || len(seen) < checks {
		cmd := p.next(t)
		switch {
		case cmd.GetSettings() != nil:
			require.Equal(t, v2.Code_OK, cmd.GetStatus().GetCode())
			settings++
		case cmd.GetRecoverOrphanedTransactionCommand() != nil:
			id := cmd.GetRecoverOrphanedTransactionCommand().GetMessage().GetSystemProperties().GetMessageId()
			require.False(t, seen[id], "check %s sent twice", id)
			seen[id] = true
		default:
			t.Fatalf("unexpected command %v", cmd)
		}
	}
}

// TestTxnChecksOutliveBrokerErrors: a broker that cannot be asked for a
// while (a proxy node's broker node restarting) delays checks, never stops
// them.
func TestTxnChecksOutliveBrokerErrors(t *testing.T) {
	t.Parallel()
	f := newFakeBroker(newBroker(t))
	f.takeErrs = []error{errors.New("broker rpc TakeTxnChecks: connection refused"), context.DeadlineExceeded, broker.ErrUnsupported}
	addr, _ := startProxy(t, f, func(c *proxy.Config) { c.TxnCheckPeriod = 5 * time.Millisecond })
	c := dial(t, addr, false)
	p := openTelemetry(t, c, "producer-a", producerSettings("pay"))
	f.addChecks(txnCheck("pay", "P1"))
	rc := p.next(t).GetRecoverOrphanedTransactionCommand()
	require.Equal(t, "P1", rc.GetMessage().GetSystemProperties().GetMessageId())
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.takeErrs)
}
