package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// recorder keeps every trace event.
type recorder struct {
	mu     sync.Mutex
	events []trace.Event
}

func (r *recorder) Record(ev trace.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// take returns the consumer-side events recorded since the last take.
func (r *recorder) take() []trace.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []trace.Event
	for _, ev := range r.events {
		switch ev.Kind {
		case trace.KindDeliver, trace.KindAck, trace.KindNack, trace.KindTimeout, trace.KindDLQ:
			out = append(out, ev)
		}
	}
	r.events = nil
	return out
}

func newTracedEnv(t *testing.T) (*env, *recorder) {
	t.Helper()
	rec := &recorder{}
	e := newEnv(t, func(c *broker.Config) { c.Tracer = rec })
	e.topic("t", broker.TopicNormal, 1)
	return e, rec
}

func callerCtx(clientID string) context.Context {
	return broker.WithCaller(context.Background(), broker.Caller{ClientID: clientID, Addr: "10.0.0.1:1234"})
}

// event is the expected event of message m-0 at queue 0, offset 0 of "t".
func event(kind trace.Kind, at time.Time, group, client string, attempt int32) trace.Event {
	return trace.Event{
		Kind: kind, Time: at, MessageID: "m-0", Topic: "t", Group: group, ClientID: client,
		Attempt: attempt, QueueID: 0, QueueOffset: 0,
	}
}

func TestConsumerTraceDeliverAckNack(t *testing.T) {
	t.Parallel()
	e, rec := newTracedEnv(t)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	rec.take()
	t0 := e.clk.Now()

	d := e.recv(recvReq("g", "t", 1))[0]
	deliver := event(trace.KindDeliver, t0, "g", "client-1", 1)
	deliver.InvisibleUntil = t0.Add(30 * time.Second)
	require.Equal(t, []trace.Event{deliver}, rec.take())

	e.clk.Advance(time.Second)
	h, err := e.b.ChangeInvisible(callerCtx("client-2"), "g", "t", "m-0", d.ReceiptHandle, 5*time.Second)
	require.NoError(t, err)
	nack := event(trace.KindNack, t0.Add(time.Second), "g", "client-2", 1)
	nack.InvisibleUntil = t0.Add(6 * time.Second)
	require.Equal(t, []trace.Event{nack}, rec.take())

	require.NoError(t, e.b.Ack(callerCtx("client-3"), "g", "t", "m-0", h))
	require.Equal(t, []trace.Event{event(trace.KindAck, t0.Add(time.Second), "g", "client-3", 1)}, rec.take())

	// Refused calls record nothing.
	require.ErrorIs(t, e.b.Ack(callerCtx("client-3"), "g", "t", "m-0", h), broker.ErrInvalidHandle)
	require.Empty(t, rec.take())
}

func TestConsumerTraceTimeoutAndRedelivery(t *testing.T) {
	t.Parallel()
	e, rec := newTracedEnv(t)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	e.recv(recvReq("g", "t", 1))
	rec.take()

	e.clk.Advance(31 * time.Second)
	now := e.clk.Now()
	req := recvReq("g", "t", 1)
	req.ClientID = "client-2"
	ds := e.recv(req)
	require.Equal(t, int32(2), ds[0].Attempt)
	deliver := event(trace.KindDeliver, now, "g", "client-2", 2)
	deliver.InvisibleUntil = now.Add(30 * time.Second)
	require.Equal(t, []trace.Event{event(trace.KindTimeout, now, "g", "", 1), deliver}, rec.take())
}

func TestConsumerTraceDeadLetter(t *testing.T) {
	t.Parallel()
	dlq := func(at time.Time, client string, attempt int32) trace.Event {
		ev := event(trace.KindDLQ, at, "g", client, attempt)
		ev.Detail = "%DLQ%g"
		return ev
	}
	t.Run("server after max deliveries", func(t *testing.T) {
		t.Parallel()
		e, rec := newTracedEnv(t)
		e.group("g", broker.NoRetries)
		e.send("t", "m", 1, nil)
		e.recv(recvReq("g", "t", 1))
		rec.take()

		e.clk.Advance(31 * time.Second)
		require.Empty(t, e.recv(recvReq("g", "t", 1)))
		now := e.clk.Now()
		require.Equal(t, []trace.Event{event(trace.KindTimeout, now, "g", "", 1), dlq(now, "", 1)}, rec.take())
	})
	t.Run("client forward", func(t *testing.T) {
		t.Parallel()
		e, rec := newTracedEnv(t)
		e.group("g", 0)
		e.send("t", "m", 1, nil)
		d := e.recv(recvReq("g", "t", 1))[0]
		rec.take()

		require.NoError(t, e.b.ForwardToDLQ(callerCtx("client-9"), "g", "t", "m-0", d.ReceiptHandle))
		require.Equal(t, []trace.Event{dlq(e.clk.Now(), "client-9", 1)}, rec.take())
		require.NoError(t, e.b.ForwardToDLQ(callerCtx("client-9"), "g", "t", "m-0", d.ReceiptHandle), "idempotent")
		require.Empty(t, rec.take(), "the repeat records nothing")
	})
}

// discard is a Recorder that keeps nothing, to measure the caller's cost.
type discard struct{}

func (discard) Record(trace.Event) {}

// TestConsumerTraceAllocs: recording costs no allocation on the broker's
// side (nack and ack are the per-message calls; receive reuses its batch).
func TestConsumerTraceAllocs(t *testing.T) {
	allocs := func(tracer trace.Recorder) float64 {
		e := newEnv(t, func(c *broker.Config) { c.Tracer = tracer })
		e.topic("t", broker.TopicNormal, 1)
		e.group("g", 0)
		e.send("t", "m", 1, nil)
		h := e.recv(recvReq("g", "t", 1))[0].ReceiptHandle
		ctx := callerCtx("c")
		return testing.AllocsPerRun(200, func() {
			var err error
			h, err = e.b.ChangeInvisible(ctx, "g", "t", "m-0", h, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	// AllocsPerRun counts every goroutine's allocations, and background
	// work of other tests in the binary can add some: compare the quietest
	// of a few runs.
	least := func(tracer trace.Recorder) float64 {
		m := allocs(tracer)
		for range 4 {
			m = min(m, allocs(tracer))
		}
		return m
	}
	require.Equal(t, least(nil), least(discard{}))
}

// A nacked attempt is recorded as a nack; its expiry is not a timeout too.
func TestConsumerTraceNackIsNotATimeout(t *testing.T) {
	t.Parallel()
	for _, dead := range []bool{false, true} {
		e, rec := newTracedEnv(t)
		maxRetries := int32(0) // default
		if dead {
			maxRetries = broker.NoRetries // the nacked attempt was the only one
		}
		e.group("g", maxRetries)
		e.send("t", "m", 1, nil)
		h := e.recv(recvReq("g", "t", 1))[0].ReceiptHandle
		_, err := e.b.ChangeInvisible(callerCtx("client-1"), "g", "t", "m-0", h, time.Second)
		require.NoError(t, err)
		rec.take()

		e.clk.Advance(2 * time.Second)
		ds := e.recv(recvReq("g", "t", 1))
		var kinds []trace.Kind
		for _, ev := range rec.take() {
			kinds = append(kinds, ev.Kind)
		}
		if dead {
			require.Empty(t, ds)
			require.Equal(t, []trace.Kind{trace.KindDLQ}, kinds)
		} else {
			require.Equal(t, int32(2), ds[0].Attempt)
			require.Equal(t, []trace.Kind{trace.KindDeliver}, kinds)
		}
	}
}
