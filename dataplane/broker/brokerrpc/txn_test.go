package brokerrpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc"
	"github.com/orbitmq/orbit/dataplane/store"
)

// endCall is one EndTransaction the backend saw.
type endCall struct {
	topic, messageID, transactionID string
	resolution                      broker.Resolution
	fromCheck                       bool
}

// scriptedBackend is the real broker with the transaction and recall calls
// (and, when results are set, Send) answered from a script, and every
// call's broker.Caller recorded. It lets the wire be tested independently of
// the broker's own transaction and timer code.
type scriptedBackend struct {
	*broker.Broker

	mu          sync.Mutex
	callers     map[string]broker.Caller // by method: the last call's caller
	ends        []endCall
	recalls     [][2]string // topic, handle
	takeMax     []int
	sendResults []broker.SendResult // non-nil: Send answers these without storing
	sendErr     error
	endErr      error
	recallID    string
	recallErr   error
	checks      []broker.TxnCheck
	checksErr   error
}

func (f *scriptedBackend) saw(ctx context.Context, method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.callers == nil {
		f.callers = map[string]broker.Caller{}
	}
	f.callers[method] = broker.CallerFrom(ctx)
}

func (f *scriptedBackend) caller(method string) (broker.Caller, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.callers[method]
	return c, ok
}

func (f *scriptedBackend) Send(ctx context.Context, msgs []*store.Message) ([]broker.SendResult, error) {
	f.saw(ctx, "Send")
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	if f.sendResults != nil {
		return f.sendResults, nil
	}
	return f.Broker.Send(ctx, msgs)
}

func (f *scriptedBackend) Receive(ctx context.Context, req broker.ReceiveRequest) ([]broker.Delivery, error) {
	f.saw(ctx, "Receive")
	return f.Broker.Receive(ctx, req)
}

func (f *scriptedBackend) Ack(ctx context.Context, group, topic, messageID, handle string) error {
	f.saw(ctx, "Ack")
	return f.Broker.Ack(ctx, group, topic, messageID, handle)
}

func (f *scriptedBackend) ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error) {
	f.saw(ctx, "ChangeInvisible")
	return f.Broker.ChangeInvisible(ctx, group, topic, messageID, handle, d)
}

func (f *scriptedBackend) ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error {
	f.saw(ctx, "ForwardToDLQ")
	return f.Broker.ForwardToDLQ(ctx, group, topic, messageID, handle)
}

func (f *scriptedBackend) EndTransaction(ctx context.Context, topic, messageID, transactionID string, r broker.Resolution, fromCheck bool) error {
	f.saw(ctx, "EndTransaction")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ends = append(f.ends, endCall{topic, messageID, transactionID, r, fromCheck})
	return f.endErr
}

func (f *scriptedBackend) Recall(ctx context.Context, topic, handle string) (string, error) {
	f.saw(ctx, "Recall")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recalls = append(f.recalls, [2]string{topic, handle})
	return f.recallID, f.recallErr
}

func (f *scriptedBackend) TakeTxnChecks(ctx context.Context, n int) ([]broker.TxnCheck, error) {
	f.saw(ctx, "TakeTxnChecks")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.takeMax = append(f.takeMax, n)
	return f.checks, f.checksErr
}

// locked runs fn under the backend's lock: the server's goroutines write
// what the test reads.
func (f *scriptedBackend) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func scripted(f *scriptedBackend) func(*broker.Broker) brokerrpc.Backend {
	return func(b *broker.Broker) brokerrpc.Backend {
		f.Broker = b
		return f
	}
}

func TestSendResultCarriesTransactionAndRecall(t *testing.T) {
	f := &scriptedBackend{sendResults: []broker.SendResult{
		{MessageID: "t1", QueueID: 1, QueueOffset: 7, TransactionID: "txn-1"},
		{MessageID: "d1", QueueID: 0, QueueOffset: 8, RecallHandle: "recall-1"},
	}}
	e := newEnvWith(t, scripted(f))
	res, err := e.c.Send(context.Background(), []*store.Message{fullMessage("t1"), fullMessage("d1")})
	require.NoError(t, err)
	require.Equal(t, f.sendResults, res)
}

func TestEndTransactionCrossesTheWire(t *testing.T) {
	f := &scriptedBackend{}
	e := newEnvWith(t, scripted(f))
	ctx := context.Background()
	require.NoError(t, e.c.EndTransaction(ctx, "orders", "m1", "txn-1", broker.ResolutionCommit, false))
	require.NoError(t, e.c.EndTransaction(ctx, "orders", "m2", "txn-2", broker.ResolutionRollback, true))
	require.NoError(t, e.c.EndTransaction(ctx, "orders", "m3", "txn-3", broker.ResolutionUnknown, true))
	f.locked(func() {
		require.Equal(t, []endCall{
			{"orders", "m1", "txn-1", broker.ResolutionCommit, false},
			{"orders", "m2", "txn-2", broker.ResolutionRollback, true},
			{"orders", "m3", "txn-3", broker.ResolutionUnknown, true},
		}, f.ends)
	})

	// A resolution the wire has no name for is refused before the call.
	err := e.c.EndTransaction(ctx, "orders", "m4", "txn-4", broker.Resolution(9), false)
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
	f.locked(func() {
		require.Len(t, f.ends, 3)
		f.endErr = fmt.Errorf("%w: txn-5", broker.ErrTransactionNotFound)
	})
	err = e.c.EndTransaction(ctx, "orders", "m5", "txn-5", broker.ResolutionCommit, false)
	require.ErrorIs(t, err, broker.ErrTransactionNotFound)
	require.Equal(t, codes.NotFound, status.Code(err))
	require.EqualError(t, err, f.endErr.Error())
}

func TestRecallCrossesTheWire(t *testing.T) {
	f := &scriptedBackend{recallID: "m-recalled"}
	e := newEnvWith(t, scripted(f))
	ctx := context.Background()
	id, err := e.c.Recall(ctx, "orders", "handle-1")
	require.NoError(t, err)
	require.Equal(t, "m-recalled", id)
	f.locked(func() {
		require.Equal(t, [][2]string{{"orders", "handle-1"}}, f.recalls)
		f.recallErr = fmt.Errorf("recall: %w", broker.ErrRecallNotFound)
	})
	_, err = e.c.Recall(ctx, "orders", "handle-2")
	require.ErrorIs(t, err, broker.ErrRecallNotFound)
	require.Equal(t, codes.NotFound, status.Code(err))
	require.NotErrorIs(t, err, broker.ErrTransactionNotFound)
}

func TestTakeTxnChecksCrossesTheWire(t *testing.T) {
	half := fullMessage("half-1")
	half.Type = store.TypeTransaction
	half.QueueID, half.QueueOffset, half.CommitLogOffset, half.StoreSize = 1, 42, 4242, 99
	half.StoreTime = time.Date(2025, 6, 7, 8, 9, 12, 5, time.UTC)
	f := &scriptedBackend{checks: []broker.TxnCheck{{TransactionID: "txn-1", Message: half}}}
	e := newEnvWith(t, scripted(f))
	ctx := context.Background()

	checks, err := e.c.TakeTxnChecks(ctx, 16)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	require.Equal(t, "txn-1", checks[0].TransactionID)
	require.Equal(t, normMsg(half), normMsg(checks[0].Message), "the half message arrives whole")
	f.locked(func() {
		require.Equal(t, []int{16}, f.takeMax)
		f.checks = nil
	})
	checks, err = e.c.TakeTxnChecks(ctx, 16)
	require.NoError(t, err)
	require.Empty(t, checks)

	f.locked(func() { f.checksErr = broker.ErrClosed })
	_, err = e.c.TakeTxnChecks(ctx, 16)
	require.ErrorIs(t, err, broker.ErrClosed)
}

func TestIllegalDeliveryTimeKeepsItsSentinel(t *testing.T) {
	f := &scriptedBackend{sendErr: fmt.Errorf("%w: message d1 is due in 100h, beyond 72h", broker.ErrIllegalDeliveryTime)}
	e := newEnvWith(t, scripted(f))
	_, err := e.c.Send(context.Background(), []*store.Message{fullMessage("d1")})
	require.ErrorIs(t, err, broker.ErrIllegalDeliveryTime)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.EqualError(t, err, f.sendErr.Error())
}

// TestNewMethodsMatchTheBroker calls the real broker's transaction and recall
// methods in process and over the wire: whatever the broker answers, the
// remote error says the same and matches the same sentinels.
func TestNewMethodsMatchTheBroker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	all := []error{
		broker.ErrTransactionNotFound, broker.ErrRecallNotFound, broker.ErrIllegalDeliveryTime,
		broker.ErrInvalidArgument, broker.ErrUnsupported, broker.ErrTopicNotFound,
	}
	same := func(t *testing.T, local, remote error) {
		t.Helper()
		if local == nil {
			require.NoError(t, remote)
			return
		}
		require.EqualError(t, remote, local.Error())
		for _, s := range all {
			require.Equal(t, errors.Is(local, s), errors.Is(remote, s), "errors.Is(%v)", s)
		}
	}
	same(t, e.b.EndTransaction(ctx, "orders", "m", "no-such-txn", broker.ResolutionCommit, false),
		e.c.EndTransaction(ctx, "orders", "m", "no-such-txn", broker.ResolutionCommit, false))
	_, local := e.b.Recall(ctx, "orders", "no-such-handle")
	_, remote := e.c.Recall(ctx, "orders", "no-such-handle")
	same(t, local, remote)
	lc, local := e.b.TakeTxnChecks(ctx, 8)
	rc, remote := e.c.TakeTxnChecks(ctx, 8)
	same(t, local, remote)
	require.Len(t, rc, len(lc))
}

func TestCallerCrossesTheWire(t *testing.T) {
	f := &scriptedBackend{}
	e := newEnvWith(t, scripted(f))
	bg := context.Background()
	// Client ids are whatever the client sent: binary metadata keeps them.
	want := broker.Caller{ClientID: "producer-ü\x00 1@host", Addr: "10.1.2.3:4567"}
	ctx := broker.WithCaller(bg, want)

	_, err := e.c.Send(ctx, []*store.Message{fullMessage("c1")})
	require.NoError(t, err)
	rr := broker.ReceiveRequest{Group: "g", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute, PollTimeout: 2 * time.Second}
	ds, err := e.c.Receive(ctx, rr)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	h, err := e.c.ChangeInvisible(ctx, "g", "orders", "c1", ds[0].ReceiptHandle, time.Minute)
	require.NoError(t, err)
	require.NoError(t, e.c.Ack(ctx, "g", "orders", "c1", h))
	_ = e.c.ForwardToDLQ(ctx, "g", "orders", "c1", h)
	require.NoError(t, e.c.EndTransaction(ctx, "orders", "m", "txn", broker.ResolutionCommit, false))
	_, err = e.c.Recall(ctx, "orders", "h")
	require.NoError(t, err)
	for _, m := range []string{"Send", "Receive", "ChangeInvisible", "Ack", "ForwardToDLQ", "EndTransaction", "Recall"} {
		got, ok := f.caller(m)
		require.True(t, ok, m)
		require.Equal(t, want, got, m)
	}

	// Only what is known travels; no caller, no caller.
	require.NoError(t, e.c.EndTransaction(broker.WithCaller(bg, broker.Caller{ClientID: "only-id"}), "orders", "m", "txn", broker.ResolutionCommit, false))
	got, _ := f.caller("EndTransaction")
	require.Equal(t, broker.Caller{ClientID: "only-id"}, got)
	_, err = e.c.TakeTxnChecks(bg, 1)
	require.NoError(t, err)
	got, ok := f.caller("TakeTxnChecks")
	require.True(t, ok)
	require.Zero(t, got)
}
