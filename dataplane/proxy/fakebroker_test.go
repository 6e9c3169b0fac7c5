package proxy_test

import (
	"context"
	"sync"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store"
)

// endCall is one EndTransaction the broker saw.
type endCall struct {
	Topic, MessageID, TransactionID string
	Resolution                      broker.Resolution
	FromCheck                       bool
}

// fakeBroker is a real broker with scripted transaction, recall and
// (optionally) send answers, recording the broker.Caller of every call. It
// tests the proxy's side of these features independently of the broker's.
type fakeBroker struct {
	*broker.Broker

	mu      sync.Mutex
	callers map[string][]broker.Caller // by method
	ends    []endCall
	recalls [][2]string // topic, handle
	sent    []*store.Message
	// send, if set, answers Send instead of the broker.
	send      func(msgs []*store.Message) ([]broker.SendResult, error)
	endErr    error
	recallID  string
	recallErr error
	checks    []broker.TxnCheck // handed out by the next TakeTxnChecks
	takes     int               // TakeTxnChecks calls that handed out checks
	takeErrs  []error           // answered, one per call, before any checks
}

var _ proxy.Broker = (*fakeBroker)(nil)

func newFakeBroker(b *broker.Broker) *fakeBroker { return &fakeBroker{Broker: b} }

func (f *fakeBroker) saw(ctx context.Context, method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.callers == nil {
		f.callers = map[string][]broker.Caller{}
	}
	f.callers[method] = append(f.callers[method], broker.CallerFrom(ctx))
}

// callersOf returns the callers of every call of method so far.
func (f *fakeBroker) callersOf(method string) []broker.Caller {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]broker.Caller(nil), f.callers[method]...)
}

func (f *fakeBroker) Send(ctx context.Context, msgs []*store.Message) ([]broker.SendResult, error) {
	f.saw(ctx, "Send")
	f.mu.Lock()
	f.sent = append(f.sent, msgs...)
	send := f.send
	f.mu.Unlock()
	if send != nil {
		return send(msgs)
	}
	return f.Broker.Send(ctx, msgs)
}

func (f *fakeBroker) Receive(ctx context.Context, req broker.ReceiveRequest) ([]broker.Delivery, error) {
	f.saw(ctx, "Receive")
	return f.Broker.Receive(ctx, req)
}

func (f *fakeBroker) Ack(ctx context.Context, group, topic, messageID, handle string) error {
	f.saw(ctx, "Ack")
	return f.Broker.Ack(ctx, group, topic, messageID, handle)
}

func (f *fakeBroker) ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error) {
	f.saw(ctx, "ChangeInvisible")
	return f.Broker.ChangeInvisible(ctx, group, topic, messageID, handle, d)
}

func (f *fakeBroker) ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error {
	f.saw(ctx, "ForwardToDLQ")
	return f.Broker.ForwardToDLQ(ctx, group, topic, messageID, handle)
}

func (f *fakeBroker) EndTransaction(ctx context.Context, topic, messageID, transactionID string, r broker.Resolution, fromCheck bool) error {
	f.saw(ctx, "EndTransaction")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ends = append(f.ends, endCall{topic, messageID, transactionID, r, fromCheck})
	return f.endErr
}

func (f *fakeBroker) endCalls() []endCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]endCall(nil), f.ends...)
}

func (f *fakeBroker) Recall(ctx context.Context, topic, handle string) (string, error) {
	f.saw(ctx, "Recall")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recalls = append(f.recalls, [2]string{topic, handle})
	return f.recallID, f.recallErr
}

func (f *fakeBroker) recallCalls() [][2]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][2]string(nil), f.recalls...)
}

func (f *fakeBroker) TakeTxnChecks(ctx context.Context, n int) ([]broker.TxnCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.takeErrs) > 0 {
		err := f.takeErrs[0]
		f.takeErrs = f.takeErrs[1:]
		return nil, err
	}
	k := min(n, len(f.checks))
	out := f.checks[:k:k]
	f.checks = f.checks[k:]
	if k > 0 {
		f.takes++
	}
	return out, nil
}

// addChecks makes checks due: the proxy takes them on its next round.
func (f *fakeBroker) addChecks(cs ...broker.TxnCheck) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, cs...)
}

// pendingChecks is how many checks the proxy has not taken yet.
func (f *fakeBroker) pendingChecks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.checks)
}

func (f *fakeBroker) set(fn func(f *fakeBroker)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
