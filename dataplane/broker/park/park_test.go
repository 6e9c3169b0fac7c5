package park_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
)

var (
	ctx = context.Background()
	t0  = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

func open(t *testing.T, path string) *park.Park {
	t.Helper()
	p, err := park.Open(path, park.Options{NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newPark(t *testing.T) (*park.Park, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "park.db")
	return open(t, path), path
}

func delayed(topic, id string, due time.Time) *store.Message {
	return &store.Message{Topic: topic, MessageID: id, Type: store.TypeDelay, Body: []byte("body-" + id), DeliveryTime: due}
}

func ids(ts []park.Timer) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Message.MessageID)
	}
	return out
}

func counts(t *testing.T, p *park.Park) map[string]int64 {
	t.Helper()
	cs, err := p.Counts()
	require.NoError(t, err)
	out := map[string]int64{}
	for _, c := range cs {
		out[c.Kind.String()+"/"+c.Topic] = c.N
	}
	return out
}

func TestTimersFireInDueOrder(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	_, ok, err := p.NextDue()
	require.NoError(t, err)
	require.False(t, ok)

	keys, err := p.Schedule(ctx, []*store.Message{
		delayed("a", "m3", t0.Add(3*time.Second)),
		delayed("a", "m1", t0.Add(time.Second)),
		delayed("b", "m2", t0.Add(2*time.Second)),
		delayed("a", "m1b", t0.Add(time.Second)), // same due: sequence order
	})
	require.NoError(t, err)
	require.Len(t, keys, 4)
	require.Equal(t, map[string]int64{"timer/a": 3, "timer/b": 1}, counts(t, p))
	due, ok, err := p.NextDue()
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, due.Equal(t0.Add(time.Second)))

	// Nothing is due a nanosecond early.
	got, _, err := p.TakeDue(ctx, t0.Add(time.Second-1), 10, 1<<20, 0)
	require.NoError(t, err)
	require.Empty(t, got)

	got, dropped, err := p.TakeDue(ctx, t0.Add(2*time.Second), 10, 1<<20, 42)
	require.NoError(t, err)
	require.Zero(t, dropped)
	require.Equal(t, []string{"m1", "m1b", "m2"}, ids(got))
	for _, tm := range got {
		require.Equal(t, int64(42), tm.Mark)
	}
	// Marked ones are not taken again, and are listed as firing until Fired.
	again, _, err := p.TakeDue(ctx, t0.Add(2*time.Second), 10, 1<<20, 43)
	require.NoError(t, err)
	require.Empty(t, again)
	firing, err := p.FiringTimers(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"m1", "m1b", "m2"}, ids(firing))
	require.Equal(t, int64(42), firing[0].Mark)

	require.NoError(t, p.Fired(ctx, got))
	firing, err = p.FiringTimers(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, firing)
	require.Equal(t, map[string]int64{"timer/a": 1}, counts(t, p))
	require.NoError(t, p.Fired(ctx, got), "recording twice is harmless")
	require.Equal(t, map[string]int64{"timer/a": 1}, counts(t, p))
}

func TestTakeDueLimits(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	var msgs []*store.Message
	for i := range 5 {
		msgs = append(msgs, delayed("a", fmt.Sprint(i), t0.Add(time.Duration(i+1))))
	}
	_, err := p.Schedule(ctx, msgs)
	require.NoError(t, err)
	got, _, err := p.TakeDue(ctx, t0.Add(time.Hour), 2, 1<<20, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"0", "1"}, ids(got))
	// The byte limit still lets one message through.
	got, _, err = p.TakeDue(ctx, t0.Add(time.Hour), 10, 1, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"2"}, ids(got))
}

func TestTimerCancel(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	keys, err := p.Schedule(ctx, []*store.Message{delayed("a", "m", t0.Add(time.Minute)), delayed("a", "n", t0.Add(time.Second))})
	require.NoError(t, err)

	for name, c := range map[string]struct {
		key       park.TimerKey
		topic, id string
	}{
		"wrong topic":   {keys[0], "b", "m"},
		"wrong id":      {keys[0], "a", "n"},
		"unknown key":   {park.TimerKey{Due: keys[0].Due, Seq: 999}, "a", "m"},
		"wrong due":     {park.TimerKey{Due: keys[0].Due + 1, Seq: keys[0].Seq}, "a", "m"},
		"never existed": {park.TimerKey{Due: 1, Seq: 1}, "a", "m"},
	} {
		_, err := p.Cancel(ctx, c.key, c.topic, c.id)
		require.ErrorIs(t, err, park.ErrNotFound, name)
	}
	m, err := p.Cancel(ctx, keys[0], "a", "m")
	require.NoError(t, err)
	require.Equal(t, "m", m.MessageID)
	_, err = p.Cancel(ctx, keys[0], "a", "m")
	require.ErrorIs(t, err, park.ErrNotFound, "already cancelled")

	// A firing timer can no longer be cancelled.
	got, _, err := p.TakeDue(ctx, t0.Add(time.Hour), 10, 1<<20, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"n"}, ids(got))
	_, err = p.Cancel(ctx, keys[1], "a", "n")
	require.ErrorIs(t, err, park.ErrNotFound)
	require.Equal(t, map[string]int64{"timer/a": 1}, counts(t, p))
}

func TestParkSurvivesReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "park.db")
	p := open(t, path)
	_, err := p.Schedule(ctx, []*store.Message{delayed("a", "later", t0.Add(time.Hour)), delayed("a", "soon", t0)})
	require.NoError(t, err)
	_, _, err = p.TakeDue(ctx, t0, 10, 1<<20, 7)
	require.NoError(t, err)
	txns, err := p.Begin(ctx, []*store.Message{{Topic: "tx", MessageID: "h", Type: store.TypeTransaction, Body: []byte("x")}}, t0, t0.Add(time.Second))
	require.NoError(t, err)
	require.NoError(t, p.Close())
	_, err = p.Schedule(ctx, []*store.Message{delayed("a", "x", t0)})
	require.ErrorIs(t, err, park.ErrClosed)

	p = open(t, path)
	firing, err := p.FiringTimers(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"soon"}, ids(firing))
	require.Equal(t, int64(7), firing[0].Mark)
	m, kind, err := p.Find(ctx, "a", "later")
	require.NoError(t, err)
	require.Equal(t, park.KindTimer, kind)
	require.True(t, m.DeliveryTime.Equal(t0.Add(time.Hour)))
	tx, err := p.Txn(ctx, txns[0])
	require.NoError(t, err)
	require.Equal(t, park.TxnPending, tx.State)
	require.Equal(t, map[string]int64{"timer/a": 2, "half/tx": 1}, counts(t, p))
}

func TestFind(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	_, err := p.Schedule(ctx, []*store.Message{delayed("a", "m", t0.Add(time.Hour)), delayed("a", "due", t0)})
	require.NoError(t, err)
	txns, err := p.Begin(ctx, []*store.Message{{Topic: "tx", MessageID: "h", Type: store.TypeTransaction, Body: []byte("x")}}, t0, t0)
	require.NoError(t, err)
	_, _, err = p.TakeDue(ctx, t0, 10, 1<<20, 0)
	require.NoError(t, err)

	cases := []struct {
		topic, id string
		want      park.Kind // 0: not found
	}{
		{"a", "m", park.KindTimer},
		{"b", "m", 0},
		{"a", "mm", 0},
		{"a", "due", park.KindTimer}, // firing, not yet recorded as fired
		{"tx", "h", park.KindHalf},
		{"a", "h", 0},
	}
	for _, c := range cases {
		m, kind, err := p.Find(ctx, c.topic, c.id)
		require.NoError(t, err)
		require.Equal(t, c.want, kind, "%s/%s", c.topic, c.id)
		if c.want != 0 {
			require.Equal(t, c.id, m.MessageID)
		} else {
			require.Nil(t, m)
		}
	}
	_, _, err = p.Resolve(ctx, txns[0], "tx", "h", false, 0, t0)
	require.NoError(t, err)
	m, _, err := p.Find(ctx, "tx", "h")
	require.NoError(t, err)
	require.Nil(t, m, "rolled back")
}

func half(topic, id string) *store.Message {
	return &store.Message{Topic: topic, MessageID: id, Type: store.TypeTransaction, Body: []byte("half-" + id)}
}

func TestTxnResolve(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	ids, err := p.Begin(ctx, []*store.Message{half("t", "c"), half("t", "r")}, t0, t0.Add(6*time.Second))
	require.NoError(t, err)
	c, r := ids[0], ids[1]
	require.NotEqual(t, c.String(), r.String())
	parsed, err := park.ParseTxnID(c.String())
	require.NoError(t, err)
	require.Equal(t, c, parsed)

	// Errors first: nothing changes.
	_, _, err = p.Resolve(ctx, park.TxnID{Seq: c.Seq, Salt: c.Salt + 1}, "t", "c", true, 0, t0)
	require.ErrorIs(t, err, park.ErrNotFound, "wrong salt")
	_, _, err = p.Resolve(ctx, park.TxnID{Seq: 99}, "t", "c", true, 0, t0)
	require.ErrorIs(t, err, park.ErrNotFound)
	_, _, err = p.Resolve(ctx, c, "other", "c", true, 0, t0)
	require.ErrorIs(t, err, park.ErrMismatch)
	_, _, err = p.Resolve(ctx, c, "t", "r", true, 0, t0)
	require.ErrorIs(t, err, park.ErrMismatch)

	prev, tx, err := p.Resolve(ctx, c, "t", "c", true, 11, t0)
	require.NoError(t, err)
	require.Equal(t, park.TxnPending, prev)
	require.Equal(t, park.TxnCommitting, tx.State)
	require.Equal(t, int64(11), tx.Mark)
	require.Equal(t, "half-c", string(tx.Message.Body))
	stuck, err := p.Committing(ctx, 10)
	require.NoError(t, err)
	require.Len(t, stuck, 1)
	// A second commit finds it committing, with the first mark.
	prev, tx, err = p.Resolve(ctx, c, "t", "c", true, 12, t0)
	require.NoError(t, err)
	require.Equal(t, park.TxnCommitting, prev)
	require.Equal(t, int64(11), tx.Mark)
	require.NoError(t, p.FinishCommit(ctx, c, t0.Add(time.Second)))
	prev, tx, err = p.Resolve(ctx, c, "t", "c", false, 0, t0)
	require.NoError(t, err)
	require.Equal(t, park.TxnCommitted, prev)
	require.Equal(t, park.TxnCommitted, tx.State, "a rollback does not undo a commit")
	require.Nil(t, tx.Message)
	stuck, err = p.Committing(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, stuck)

	prev, tx, err = p.Resolve(ctx, r, "t", "r", false, 0, t0)
	require.NoError(t, err)
	require.Equal(t, park.TxnPending, prev)
	require.Equal(t, park.TxnRolledBack, tx.State)
	prev, _, err = p.Resolve(ctx, r, "t", "r", true, 0, t0)
	require.NoError(t, err)
	require.Equal(t, park.TxnRolledBack, prev)
	require.Empty(t, counts(t, p))

	// Resolved transactions leave the check schedule.
	checks, rolled, err := p.TakeChecks(ctx, t0.Add(time.Hour), 10, func(int32) (time.Time, bool) { return t0, false })
	require.NoError(t, err)
	require.Empty(t, checks)
	require.Empty(t, rolled)

	// Decisions are forgotten after their time.
	n, err := p.ForgetResolved(ctx, t0.Add(time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the rollback at t0 is older")
	_, err = p.Txn(ctx, r)
	require.ErrorIs(t, err, park.ErrNotFound)
	_, err = p.Txn(ctx, c)
	require.NoError(t, err)
}

func TestParseTxnID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "xyz", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"} {
		_, err := park.ParseTxnID(s)
		require.Error(t, err, s)
	}
}

func TestTxnChecks(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	ids, err := p.Begin(ctx, []*store.Message{half("t", "a")}, t0, t0.Add(6*time.Second))
	require.NoError(t, err)
	_, err = p.Begin(ctx, []*store.Message{half("t", "b")}, t0, t0.Add(time.Hour))
	require.NoError(t, err)

	policy := func(done int32) (time.Time, bool) {
		if done >= 2 {
			return time.Time{}, true
		}
		return t0.Add(time.Duration(10*(done+1)) * time.Second), false
	}
	checks, rolled, err := p.TakeChecks(ctx, t0.Add(5*time.Second), 10, policy)
	require.NoError(t, err)
	require.Empty(t, checks, "not due yet")
	require.Empty(t, rolled)
	at, ok, err := p.NextCheck()
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, at.Equal(t0.Add(6*time.Second)))

	checks, _, err = p.TakeChecks(ctx, t0.Add(6*time.Second), 10, policy)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	require.Equal(t, ids[0], checks[0].ID)
	require.Equal(t, int32(1), checks[0].Checks)
	require.Equal(t, "half-a", string(checks[0].Message.Body))
	require.True(t, checks[0].NextCheck.Equal(t0.Add(10*time.Second)))

	checks, _, err = p.TakeChecks(ctx, t0.Add(10*time.Second), 10, policy)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	require.Equal(t, int32(2), checks[0].Checks)

	checks, rolled, err = p.TakeChecks(ctx, t0.Add(20*time.Second), 10, policy)
	require.NoError(t, err)
	require.Empty(t, checks)
	require.Len(t, rolled, 1)
	tx, err := p.Txn(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, park.TxnRolledBack, tx.State)
	require.Equal(t, map[string]int64{"half/t": 1}, counts(t, p))
}

// TestGroupCommit: concurrent writers all land, with distinct keys, and
// share commits (fewer transactions than writes is not observable here, so
// this checks correctness under concurrency; BenchmarkSchedule measures).
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	const writers, each = 8, 50
	var (
		mu   sync.Mutex
		seen = map[park.TimerKey]bool{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				keys, err := p.Schedule(ctx, []*store.Message{delayed("a", fmt.Sprintf("%d-%d", w, i), t0.Add(time.Duration(i)))})
				if !Assert(t, err) {
					return
				}
				mu.Lock()
				seen[keys[0]] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, writers*each)
	require.Equal(t, map[string]int64{"timer/a": writers * each}, counts(t, p))
}

// Assert reports err from a goroutine other than the test's.
func Assert(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func TestScheduleRejects(t *testing.T) {
	t.Parallel()
	p, _ := newPark(t)
	for name, m := range map[string]*store.Message{
		"nil":         nil,
		"no id":       delayed("a", "", t0),
		"long id":     delayed("a", string(make([]byte, 2000)), t0),
		"before 1970": delayed("a", "x", time.Unix(-5, 0)),
	} {
		_, err := p.Schedule(ctx, []*store.Message{delayed("a", "ok", t0), m})
		require.Error(t, err, name)
	}
	require.Empty(t, counts(t, p), "all or nothing")
}
