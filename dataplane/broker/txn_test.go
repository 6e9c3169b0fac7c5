package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

func txnMsg(topic, id string) *store.Message {
	m := msg(topic, id)
	m.Type = store.TypeTransaction
	return m
}

func (e *env) end(topic, id, txn string, r broker.Resolution) error {
	return e.b.EndTransaction(context.Background(), topic, id, txn, r, false)
}

func TestTxnCommitDeliversOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("tx", broker.TopicTransaction, 2)
	e.group("g", 0)
	res := e.sendOne(txnMsg("tx", "m"))
	require.NotEmpty(t, res.TransactionID)
	require.Empty(t, res.RecallHandle)
	other := e.sendOne(txnMsg("tx", "n"))
	require.NotEqual(t, res.TransactionID, other.TransactionID)

	require.Empty(t, e.recv(recvReq("g", "tx", 10)), "half messages are invisible")
	require.Empty(t, storedIDs(t, e.st, "tx", 2))
	m, state, err := broker.FindParked(e.b, "tx", "m")
	require.NoError(t, err)
	require.Equal(t, broker.MessageHalf, state)
	require.Equal(t, "body-m", string(m.Body))

	require.NoError(t, e.end("tx", "m", res.TransactionID, broker.ResolutionCommit))
	ds := e.recv(recvReq("g", "tx", 10))
	require.Equal(t, []string{"m"}, ids(ds))
	require.Equal(t, store.TypeTransaction, ds[0].Message.Type)
	m, _, err = broker.FindParked(e.b, "tx", "m")
	require.NoError(t, err)
	require.Nil(t, m)

	// Same decision again: fine; the opposite one: refused. Neither delivers.
	require.NoError(t, e.end("tx", "m", res.TransactionID, broker.ResolutionCommit))
	err = e.end("tx", "m", res.TransactionID, broker.ResolutionRollback)
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
	require.ErrorContains(t, err, "already committed")
	require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 2))
}

func TestTxnRollbackNeverDelivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("tx", broker.TopicTransaction, 1)
	e.group("g", 0)
	res := e.sendOne(txnMsg("tx", "m"))
	require.NoError(t, e.end("tx", "m", res.TransactionID, broker.ResolutionRollback))
	require.NoError(t, e.end("tx", "m", res.TransactionID, broker.ResolutionRollback))
	err := e.end("tx", "m", res.TransactionID, broker.ResolutionCommit)
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
	require.ErrorContains(t, err, "already rolled back")
	e.clk.Advance(time.Hour)
	broker.RunParkRound(e.b)
	require.Empty(t, e.recv(recvReq("g", "tx", 10)))
	require.Empty(t, storedIDs(t, e.st, "tx", 1))
	m, _, err := broker.FindParked(e.b, "tx", "m")
	require.NoError(t, err)
	require.Nil(t, m)
}

func TestTxnEndErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("tx", broker.TopicTransaction, 1)
	e.topic("tx2", broker.TopicTransaction, 1)
	res := e.sendOne(txnMsg("tx", "m"))
	id := res.TransactionID
	// Same shape, another sequence number: an id this broker never issued.
	unknown := "ffffffffffffffff" + id[16:]
	cases := []struct {
		name, topic, msgID, txn string
		r                       broker.Resolution
		want                    error
	}{
		{"unknown id", "tx", "m", unknown, broker.ResolutionCommit, broker.ErrTransactionNotFound},
		{"unknown id, rollback", "tx", "m", unknown, broker.ResolutionRollback, broker.ErrTransactionNotFound},
		{"unknown id, unknown", "tx", "m", unknown, broker.ResolutionUnknown, broker.ErrTransactionNotFound},
		{"garbage id", "tx", "m", "not-an-id", broker.ResolutionCommit, broker.ErrTransactionNotFound},
		{"empty id", "tx", "m", "", broker.ResolutionCommit, broker.ErrTransactionNotFound},
		{"wrong salt", "tx", "m", id[:31] + string("0123456789abcdef"[(int(id[31])+1)%16]), broker.ResolutionCommit, broker.ErrTransactionNotFound},
		{"another topic", "tx2", "m", id, broker.ResolutionCommit, broker.ErrInvalidArgument},
		{"another message", "tx", "n", id, broker.ResolutionCommit, broker.ErrInvalidArgument},
		{"another message, rollback", "tx", "n", id, broker.ResolutionRollback, broker.ErrInvalidArgument},
		{"bad resolution", "tx", "m", id, broker.Resolution(7), broker.ErrInvalidArgument},
		{"unknown resolution", "tx", "m", id, broker.ResolutionUnknown, nil},
	}
	for _, c := range cases {
		err := e.end(c.topic, c.msgID, c.txn, c.r)
		if c.want == nil {
			require.NoError(t, err, c.name)
		} else {
			require.ErrorIs(t, err, c.want, c.name)
		}
	}
	// None of that changed the transaction.
	m, state, err := broker.FindParked(e.b, "tx", "m")
	require.NoError(t, err)
	require.Equal(t, broker.MessageHalf, state)
	require.NotNil(t, m)
	require.NoError(t, e.end("tx", "m", id, broker.ResolutionCommit))
	require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 1))
}

func TestTxnDecisionsSurviveRestart(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open, func(c *broker.Config) { c.TxnKeepResolved = 2 * time.Hour })
			e.topic("tx", broker.TopicTransaction, 1)
			c := e.sendOne(txnMsg("tx", "c")).TransactionID
			r := e.sendOne(txnMsg("tx", "r")).TransactionID
			p := e.sendOne(txnMsg("tx", "p")).TransactionID
			require.NoError(t, e.end("tx", "c", c, broker.ResolutionCommit))
			require.NoError(t, e.end("tx", "r", r, broker.ResolutionRollback))

			e.reopen()
			require.NoError(t, e.end("tx", "c", c, broker.ResolutionCommit))
			require.ErrorIs(t, e.end("tx", "c", c, broker.ResolutionRollback), broker.ErrInvalidArgument)
			require.NoError(t, e.end("tx", "r", r, broker.ResolutionRollback))
			require.ErrorIs(t, e.end("tx", "r", r, broker.ResolutionCommit), broker.ErrInvalidArgument)
			m, state, err := broker.FindParked(e.b, "tx", "p")
			require.NoError(t, err)
			require.Equal(t, broker.MessageHalf, state)
			require.Equal(t, "body-p", string(m.Body))
			require.NoError(t, e.end("tx", "p", p, broker.ResolutionCommit))
			require.Equal(t, []string{"c", "p"}, storedIDs(t, e.st, "tx", 1))

			// Decisions are forgotten after TxnKeepResolved.
			e.clk.Advance(2*time.Hour + time.Second)
			broker.RunParkRound(e.b)
			require.ErrorIs(t, e.end("tx", "c", c, broker.ResolutionCommit), broker.ErrTransactionNotFound)
			require.ErrorIs(t, e.end("tx", "r", r, broker.ResolutionRollback), broker.ErrTransactionNotFound)
			require.Equal(t, []string{"c", "p"}, storedIDs(t, e.st, "tx", 1))
		})
	}
}

// TestTxnCrashAfterAppend: the node dies between appending a committed
// message and recording the commit. Whoever finishes the commit (the
// producer retrying, or the park loop) finds the copy and does not append
// it again.
func TestTxnCrashAfterAppend(t *testing.T) {
	t.Parallel()
	for name, finish := range map[string]func(e *env, id string){
		"producer retries": func(e *env, id string) {
			require.NoError(e.t, e.end("tx", "m", id, broker.ResolutionCommit))
			require.NoError(e.t, e.end("tx", "m", id, broker.ResolutionCommit))
		},
		"park loop": func(e *env, _ string) { broker.RunParkRound(e.b) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, fileStore)
			e.topic("tx", broker.TopicTransaction, 1)
			id := e.sendOne(txnMsg("tx", "m")).TransactionID
			crash := errors.New("crash")
			broker.SetAfterCommitAppend(e.b, func() error { return crash })
			require.ErrorIs(t, e.end("tx", "m", id, broker.ResolutionCommit), crash)
			require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 1))
			require.ErrorIs(t, e.end("tx", "m", id, broker.ResolutionRollback), broker.ErrInvalidArgument, "commit decided")

			e.reopen()
			finish(e, id)
			broker.RunParkRound(e.b)
			require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 1))
			m, _, err := broker.FindParked(e.b, "tx", "m")
			require.NoError(t, err)
			require.Nil(t, m)
			require.NoError(t, e.end("tx", "m", id, broker.ResolutionCommit))
		})
	}
}

// TestTxnAppendFailureRetried: a commit whose append fails is finished by
// the park loop, once.
func TestTxnAppendFailureRetried(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{}
	e := newEnvOn(t, func(t *testing.T, now func() time.Time) store.Store {
		fs.Store = memStore(t, now)
		return fs
	})
	e.topic("tx", broker.TopicTransaction, 1)
	id := e.sendOne(txnMsg("tx", "m")).TransactionID
	fs.fail.Store(1)
	require.ErrorIs(t, e.end("tx", "m", id, broker.ResolutionCommit), errFlaky)
	require.Empty(t, storedIDs(t, e.st, "tx", 1))
	broker.RunParkRound(e.b)
	broker.RunParkRound(e.b)
	require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 1))
	require.NoError(t, e.end("tx", "m", id, broker.ResolutionCommit))
	require.Equal(t, []string{"m"}, storedIDs(t, e.st, "tx", 1))
}

func TestTxnChecks(t *testing.T) {
	t.Parallel()
	tr := &sendTracer{}
	e := newEnv(t, func(c *broker.Config) {
		c.TxnCheckDelay = 6 * time.Second
		c.TxnCheckInterval = 30 * time.Second
		c.TxnCheckMaxInterval = 100 * time.Second
		c.TxnCheckMax = 4
		c.Tracer = tr
	})
	e.topic("tx", broker.TopicTransaction, 1)
	ctx := context.Background()
	orphan := e.sendOne(txnMsg("tx", "orphan")).TransactionID
	resolved := e.sendOne(txnMsg("tx", "resolved")).TransactionID

	take := func() []broker.TxnCheck {
		t.Helper()
		cs, err := e.b.TakeTxnChecks(ctx, 10)
		require.NoError(t, err)
		return cs
	}
	e.clk.Advance(6*time.Second - 1)
	require.Empty(t, take(), "not due before TxnCheckDelay")
	e.clk.Advance(1)
	cs := take()
	require.Len(t, cs, 2)
	require.ElementsMatch(t, []string{orphan, resolved}, []string{cs[0].TransactionID, cs[1].TransactionID})
	for _, c := range cs {
		require.Equal(t, "tx", c.Message.Topic, "the real topic")
		require.Equal(t, store.TypeTransaction, c.Message.Type)
		require.Equal(t, "body-"+c.Message.MessageID, string(c.Message.Body))
	}
	require.Empty(t, take(), "counted as sent")
	require.NoError(t, e.end("tx", "resolved", resolved, broker.ResolutionRollback))

	// Checks 2, 3 and 4 come after 30 s, 60 s and 100 s (doubling, capped);
	// the counts survive a restart.
	for i, gap := range []time.Duration{30 * time.Second, 60 * time.Second, 100 * time.Second} {
		e.clk.Advance(gap - time.Second)
		require.Empty(t, take(), "check %d early", i+2)
		if i == 1 {
			e.reopen()
		}
		e.clk.Advance(time.Second)
		cs := take()
		require.Len(t, cs, 1, "check %d", i+2)
		require.Equal(t, orphan, cs[0].TransactionID)
	}
	// After TxnCheckMax checks, the next due one rolls back instead.
	e.clk.Advance(100 * time.Second)
	require.Empty(t, take())
	require.ErrorIs(t, e.end("tx", "orphan", orphan, broker.ResolutionCommit), broker.ErrInvalidArgument)
	require.NoError(t, e.end("tx", "orphan", orphan, broker.ResolutionRollback))
	require.Empty(t, storedIDs(t, e.st, "tx", 1))

	var attempts []int32
	for _, ev := range tr.of(trace.KindTxnCheck, "orphan") {
		attempts = append(attempts, ev.Attempt)
		require.Equal(t, orphan, ev.Detail)
	}
	require.Equal(t, []int32{1, 2, 3, 4}, attempts)
	rb := tr.of(trace.KindTxnRollback, "orphan")
	require.Len(t, rb, 1)
	require.Equal(t, "max checks reached", rb[0].Status)
	require.Equal(t, orphan, rb[0].Detail)
}

// TestTxnChecksBounded: TakeTxnChecks returns at most max, oldest first;
// the rest stay due.
func TestTxnChecksBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("tx", broker.TopicTransaction, 1)
	var want []string
	for _, id := range []string{"a", "b", "c"} {
		want = append(want, e.sendOne(txnMsg("tx", id)).TransactionID)
		e.clk.Advance(time.Millisecond)
	}
	e.clk.Advance(time.Minute)
	var got []string
	for range 2 {
		cs, err := e.b.TakeTxnChecks(context.Background(), 2)
		require.NoError(t, err)
		for _, c := range cs {
			got = append(got, c.TransactionID)
		}
	}
	require.Equal(t, want, got)
	cs, err := e.b.TakeTxnChecks(context.Background(), 0)
	require.NoError(t, err)
	require.Empty(t, cs)
}

// TestTxnConcurrentEnd: producers racing to resolve one transaction. The
// first decision wins; repeats of it succeed, the opposite is refused, and
// the message is in its topic exactly when the commit won.
func TestTxnConcurrentEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("tx", broker.TopicTransaction, 2)
	for round := range 20 {
		id := fmt.Sprintf("m%d", round)
		txn := e.sendOne(txnMsg("tx", id)).TransactionID
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			oks  = map[broker.Resolution]int{}
			errs = map[broker.Resolution]int{}
		)
		for w := range 8 {
			r := broker.ResolutionCommit
			if w%3 == 2 {
				r = broker.ResolutionRollback
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := e.end("tx", id, txn, r)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					oks[r]++
				case errors.Is(err, broker.ErrInvalidArgument):
					errs[r]++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		committed := oks[broker.ResolutionCommit] > 0
		require.NotEqual(t, committed, oks[broker.ResolutionRollback] > 0, "exactly one decision won: %v", oks)
		n := 0
		for _, m := range storedIDs(t, e.st, "tx", 2) {
			if m == id {
				n++
			}
		}
		if committed {
			require.Equal(t, 1, n)
			require.Equal(t, 0, errs[broker.ResolutionCommit])
		} else {
			require.Equal(t, 0, n)
			require.Equal(t, 0, errs[broker.ResolutionRollback])
		}
	}
}
