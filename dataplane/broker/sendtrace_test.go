package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// TestSendTraceEvents: the producer side of a message's trace, for each
// message type and for a failed send.
func TestSendTraceEvents(t *testing.T) {
	t.Parallel()
	tr := &sendTracer{}
	e := newEnv(t, func(c *broker.Config) {
		c.Tracer = tr
		c.TxnCheckMax = 1
	})
	e.topic("n", broker.TopicNormal, 2)
	e.topic("d", broker.TopicDelay, 1)
	e.topic("tx", broker.TopicTransaction, 1)
	caller := broker.Caller{ClientID: "producer-1", Addr: "10.0.0.1:5000"}
	ctx := broker.WithCaller(context.Background(), caller)
	send := func(m *store.Message) (broker.SendResult, error) {
		res, err := e.b.Send(ctx, []*store.Message{m})
		if err != nil {
			return broker.SendResult{}, err
		}
		return res[0], nil
	}
	end := func(topic, id, txn string, r broker.Resolution) {
		require.NoError(t, e.b.EndTransaction(ctx, topic, id, txn, r, false))
	}
	now := e.clk.Now()

	// Normal: one SEND with the caller, queue and offset.
	_, err := send(msg("n", "a"))
	require.NoError(t, err)
	r, err := send(msg("n", "b"))
	require.NoError(t, err)
	require.Equal(t, []trace.Kind{trace.KindSend}, tr.kinds("b"))
	ev := tr.of(trace.KindSend, "b")[0]
	require.Equal(t, trace.Event{
		Kind: trace.KindSend, Time: now, MessageID: "b", Topic: "n", ClientID: "producer-1", Host: "10.0.0.1:5000",
		QueueID: r.QueueID, QueueOffset: r.QueueOffset,
	}, ev)

	// A failed send: SEND with the error as status, nothing else.
	_, err = send(msg("missing", "f"))
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
	require.Equal(t, []trace.Kind{trace.KindSend}, tr.kinds("f"))
	require.Contains(t, tr.of(trace.KindSend, "f")[0].Status, "topic not found")
	_, err = send(delayMsg("d", "toofar", now.Add(1000*time.Hour)))
	require.ErrorIs(t, err, broker.ErrIllegalDeliveryTime)
	require.Contains(t, tr.of(trace.KindSend, "toofar")[0].Status, "illegal delivery time")

	// Delay: SEND, TIMER_SCHEDULE, then TIMER_FIRE with its queue; a
	// recalled one: TIMER_RECALL and no fire.
	due := now.Add(time.Minute)
	_, err = send(delayMsg("d", "timer", due))
	require.NoError(t, err)
	rec, err := send(delayMsg("d", "recalled", due))
	require.NoError(t, err)
	_, err = e.b.Recall(ctx, "d", rec.RecallHandle)
	require.NoError(t, err)
	e.clk.Advance(time.Minute)
	broker.RunParkRound(e.b)
	require.Equal(t, []trace.Kind{trace.KindSend, trace.KindTimerSchedule, trace.KindTimerFire}, tr.kinds("timer"))
	sched := tr.of(trace.KindTimerSchedule, "timer")[0]
	require.True(t, sched.DeliverAt.Equal(due))
	require.Equal(t, "producer-1", sched.ClientID)
	fire := tr.of(trace.KindTimerFire, "timer")[0]
	require.Empty(t, fire.Status)
	require.True(t, fire.DeliverAt.Equal(due))
	require.Equal(t, int64(0), fire.QueueOffset)
	require.Equal(t, []trace.Kind{trace.KindSend, trace.KindTimerSchedule, trace.KindTimerRecall}, tr.kinds("recalled"))
	require.Equal(t, "producer-1", tr.of(trace.KindTimerRecall, "recalled")[0].ClientID)

	// Transactions: SEND + TXN_HALF carrying the id; then the decision.
	cases := []struct {
		id    string
		r     broker.Resolution
		final trace.Kind
	}{
		{"commit", broker.ResolutionCommit, trace.KindTxnCommit},
		{"rollback", broker.ResolutionRollback, trace.KindTxnRollback},
	}
	for _, c := range cases {
		res, err := send(txnMsg("tx", c.id))
		require.NoError(t, err)
		end("tx", c.id, res.TransactionID, broker.ResolutionUnknown)
		end("tx", c.id, res.TransactionID, c.r)
		require.Equal(t, []trace.Kind{trace.KindSend, trace.KindTxnHalf, trace.KindTxnUnknown, c.final}, tr.kinds(c.id), c.id)
		for _, k := range []trace.Kind{trace.KindTxnHalf, trace.KindTxnUnknown, c.final} {
			ev := tr.of(k, c.id)[0]
			require.Equal(t, res.TransactionID, ev.Detail, "%s %s", c.id, k)
			require.Equal(t, "producer-1", ev.ClientID)
		}
	}
	commit := tr.of(trace.KindTxnCommit, "commit")[0]
	require.Equal(t, int64(0), commit.QueueOffset)
	require.Empty(t, commit.Status)

	// Orphan checks: TXN_CHECK with the attempt, then the checker's rollback.
	res, err := send(txnMsg("tx", "orphan"))
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	for range 2 {
		_, err := e.b.TakeTxnChecks(ctx, 10)
		require.NoError(t, err)
		e.clk.Advance(time.Hour)
	}
	require.Equal(t, []trace.Kind{trace.KindSend, trace.KindTxnHalf, trace.KindTxnCheck, trace.KindTxnRollback}, tr.kinds("orphan"))
	require.Equal(t, int32(1), tr.of(trace.KindTxnCheck, "orphan")[0].Attempt)
	rb := tr.of(trace.KindTxnRollback, "orphan")[0]
	require.Equal(t, "max checks reached", rb.Status)
	require.Equal(t, res.TransactionID, rb.Detail)
}

// TestSendTraceCost: Cost is the time from Send's start to the message
// being stored, on the broker's clock.
func TestSendTraceCost(t *testing.T) {
	t.Parallel()
	tr := &sendTracer{}
	slow := &slowStore{}
	e := newEnvOn(t, func(t *testing.T, now func() time.Time) store.Store {
		slow.Store = memStore(t, now)
		return slow
	}, func(c *broker.Config) { c.Tracer = tr })
	slow.advance = func() { e.clk.Advance(25 * time.Millisecond) }
	e.topic("n", broker.TopicNormal, 1)
	e.sendOne(msg("n", "m"))
	require.Equal(t, 25*time.Millisecond, tr.of(trace.KindSend, "m")[0].Cost)
}

// slowStore moves the test clock during every append.
type slowStore struct {
	store.Store
	advance func()
}

func (s *slowStore) Append(ctx context.Context, msgs []*store.Message) error {
	s.advance()
	return s.Store.Append(ctx, msgs)
}
