package broker_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// sendTracer collects trace events.
type sendTracer struct {
	mu  sync.Mutex
	evs []trace.Event
}

func (r *sendTracer) Record(ev trace.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

// of returns the events of kind for messageID, in order.
func (r *sendTracer) of(kind trace.Kind, messageID string) []trace.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []trace.Event
	for _, ev := range r.evs {
		if ev.Kind == kind && ev.MessageID == messageID {
			out = append(out, ev)
		}
	}
	return out
}

// kinds returns the kinds recorded for messageID, in order.
func (r *sendTracer) kinds(messageID string) []trace.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []trace.Kind
	for _, ev := range r.evs {
		if ev.MessageID == messageID {
			out = append(out, ev.Kind)
		}
	}
	return out
}

func delayMsg(topic, id string, due time.Time) *store.Message {
	m := msg(topic, id)
	m.Type, m.DeliveryTime = store.TypeDelay, due
	return m
}

func (e *env) sendOne(m *store.Message) broker.SendResult {
	e.t.Helper()
	res, err := e.b.Send(context.Background(), []*store.Message{m})
	require.NoError(e.t, err)
	require.Len(e.t, res, 1)
	return res[0]
}

// stored returns every message of topic in the store (all its queues).
func stored(t testing.TB, st store.Store, topic string, queues int32) []*store.Message {
	t.Helper()
	var out []*store.Message
	for q := range queues {
		r := st.Range(topic, q)
		for off := r.Min; off < r.Max; {
			ms, err := st.Read(context.Background(), topic, q, off, 1<<20, 1<<30)
			require.NoError(t, err)
			require.NotEmpty(t, ms)
			out = append(out, ms...)
			off = ms[len(ms)-1].QueueOffset + 1
		}
	}
	return out
}

func storedIDs(t *testing.T, st store.Store, topic string, queues int32) []string {
	t.Helper()
	var out []string
	for _, m := range stored(t, st, topic, queues) {
		out = append(out, m.MessageID)
	}
	sort.Strings(out)
	return out
}

// flakyStore fails the next appends it is told to.
type flakyStore struct {
	store.Store
	fail atomic.Int32
}

var errFlaky = errors.New("injected append failure")

func (s *flakyStore) Append(ctx context.Context, msgs []*store.Message) error {
	if s.fail.Add(-1) >= 0 {
		return errFlaky
	}
	s.fail.Store(0)
	return s.Store.Append(ctx, msgs)
}

func TestDelaySchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *broker.Config) { c.MaxDelay = time.Hour; c.PastDeliveryTolerance = time.Minute })
	e.topic("d", broker.TopicDelay, 2)
	now := e.clk.Now()
	cases := []struct {
		name      string
		due       time.Time
		scheduled bool
		err       error
	}{
		{"past, within the tolerance", now.Add(-time.Minute), false, nil},
		{"now", now, false, nil},
		{"a nanosecond ahead", now.Add(1), true, nil},
		{"at the limit", now.Add(time.Hour), true, nil},
		{"beyond the limit", now.Add(time.Hour + 1), false, broker.ErrIllegalDeliveryTime},
		{"far beyond", now.Add(100 * 24 * time.Hour), false, broker.ErrIllegalDeliveryTime},
		{"past the tolerance", now.Add(-time.Minute - 1), false, broker.ErrIllegalDeliveryTime},
		{"no delivery time", time.Time{}, false, broker.ErrIllegalDeliveryTime},
	}
	for i, c := range cases {
		id := fmt.Sprintf("m%d", i)
		res, err := e.b.Send(context.Background(), []*store.Message{delayMsg("d", id, c.due)})
		if c.err != nil {
			require.ErrorIs(t, err, c.err, c.name)
			if c.due.After(now) {
				require.ErrorContains(t, err, "1h0m0s", "the error names the limit")
			}
			require.Nil(t, res)
			m, _, ferr := broker.FindParked(e.b, "d", id)
			require.NoError(t, ferr)
			require.Nil(t, m, "%s: nothing parked", c.name)
			continue
		}
		require.NoError(t, err, c.name)
		require.Equal(t, c.scheduled, res[0].RecallHandle != "", c.name)
		if c.scheduled {
			require.Equal(t, broker.SendResult{MessageID: id, RecallHandle: res[0].RecallHandle}, res[0])
		}
	}
	// Only the past and present ones are in the topic; the refused ones
	// never will be.
	require.Equal(t, []string{"m0", "m1"}, storedIDs(t, e.st, "d", 2))
	e.clk.Advance(100 * 24 * time.Hour)
	broker.RunParkRound(e.b)
	require.Equal(t, []string{"m0", "m1", "m2", "m3"}, storedIDs(t, e.st, "d", 2))
}

func TestDelayFiresAtDueTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("d", broker.TopicDelay, 4)
	e.group("g", 0)
	due := e.clk.Now().Add(10 * time.Second)
	m := delayMsg("d", "m", due)
	m.Tag, m.Keys, m.Properties = "tag", []string{"k"}, map[string]string{"p": "v"}
	e.sendOne(m)
	e.sendOne(delayMsg("d", "later", due.Add(time.Second)))

	broker.RunParkRound(e.b)
	require.Empty(t, e.recv(recvReq("g", "d", 10)))
	e.clk.Advance(10*time.Second - 1)
	broker.RunParkRound(e.b)
	require.Empty(t, e.recv(recvReq("g", "d", 10)), "not a nanosecond early")

	e.clk.Advance(1)
	broker.RunParkRound(e.b)
	ds := e.recv(recvReq("g", "d", 10))
	require.Equal(t, []string{"m"}, ids(ds))
	got := ds[0].Message
	require.Equal(t, store.TypeDelay, got.Type)
	require.True(t, got.DeliveryTime.Equal(due), "delivery time kept")
	require.Equal(t, "tag", got.Tag)
	require.Equal(t, []string{"k"}, got.Keys)
	require.Equal(t, map[string]string{"p": "v"}, got.Properties)
	require.Equal(t, "body-m", string(got.Body))

	e.clk.Advance(time.Second)
	broker.RunParkRound(e.b)
	broker.RunParkRound(e.b)
	require.Equal(t, []string{"later"}, ids(e.recv(recvReq("g", "d", 10))))
	require.Equal(t, []string{"later", "m"}, storedIDs(t, e.st, "d", 4), "each exactly once")
}

// TestDelayRoundRobin: fired messages spread over the topic's queues.
func TestDelayRoundRobin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("d", broker.TopicDelay, 4)
	for i := range 8 {
		e.sendOne(delayMsg("d", fmt.Sprint(i), e.clk.Now().Add(time.Second)))
	}
	e.clk.Advance(time.Second)
	broker.RunParkRound(e.b)
	for q := range int32(4) {
		require.Equal(t, int64(2), e.st.Range("d", q).Max, "queue %d", q)
	}
}

func TestDelayRestartFiresOnce(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open)
			e.topic("d", broker.TopicDelay, 2)
			now := e.clk.Now()
			e.sendOne(delayMsg("d", "a", now.Add(time.Second)))
			e.sendOne(delayMsg("d", "b", now.Add(time.Minute)))
			e.sendOne(delayMsg("d", "c", now.Add(time.Hour)))

			e.clk.Advance(time.Second)
			broker.RunParkRound(e.b)
			e.reopen()
			require.Equal(t, []string{"a"}, storedIDs(t, e.st, "d", 2))
			m, state, err := broker.FindParked(e.b, "d", "b")
			require.NoError(t, err)
			require.Equal(t, broker.MessageScheduled, state)
			require.Equal(t, "body-b", string(m.Body))

			e.clk.Advance(time.Minute)
			broker.RunParkRound(e.b)
			e.reopen()
			broker.RunParkRound(e.b)
			require.Equal(t, []string{"a", "b"}, storedIDs(t, e.st, "d", 2))
			e.clk.Advance(time.Hour)
			broker.RunParkRound(e.b)
			e.reopen()
			broker.RunParkRound(e.b)
			require.Equal(t, []string{"a", "b", "c"}, storedIDs(t, e.st, "d", 2))
		})
	}
}

// TestDelayCrashAfterAppend: the node dies after appending a fired batch and
// before recording it. The restarted broker finds the copies and does not
// append them again.
func TestDelayCrashAfterAppend(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr := &sendTracer{}
			e := newEnvOn(t, open, func(c *broker.Config) { c.Tracer = tr })
			e.topic("d", broker.TopicDelay, 2)
			// A normal send of the same id before the firing must not be
			// taken for the copy: only copies above the mark count.
			e.sendOne(delayMsg("d", "x", e.clk.Now()))
			for _, id := range []string{"x", "y", "z"} {
				e.sendOne(delayMsg("d", id, e.clk.Now().Add(time.Second)))
			}
			e.clk.Advance(time.Second)
			crash := errors.New("crash")
			broker.SetAfterFireAppend(e.b, func() error { return crash })
			broker.RunParkRound(e.b)
			require.Equal(t, []string{"x", "x", "y", "z"}, storedIDs(t, e.st, "d", 2), "appended, not recorded")
			require.Empty(t, tr.of(trace.KindTimerFire, "y"))

			e.reopen() // the hook is gone with the old broker
			broker.RunParkRound(e.b)
			broker.RunParkRound(e.b)
			require.Equal(t, []string{"x", "x", "y", "z"}, storedIDs(t, e.st, "d", 2), "no duplicates")
			require.Len(t, tr.of(trace.KindTimerFire, "y"), 1)
			m, _, err := broker.FindParked(e.b, "d", "y")
			require.NoError(t, err)
			require.Nil(t, m)
		})
	}
}

// TestDelayAppendFailureRetried: the firing is marked but the append fails
// (as if the node died before it): the next round appends it, once.
func TestDelayAppendFailureRetried(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{}
	e := newEnvOn(t, func(t *testing.T, now func() time.Time) store.Store {
		fs.Store = memStore(t, now)
		return fs
	})
	e.topic("d", broker.TopicDelay, 1)
	e.sendOne(delayMsg("d", "m", e.clk.Now().Add(time.Second)))
	e.clk.Advance(time.Second)
	fs.fail.Store(1)
	broker.RunParkRound(e.b)
	require.Empty(t, storedIDs(t, e.st, "d", 1))
	m, _, err := broker.FindParked(e.b, "d", "m")
	require.NoError(t, err)
	require.NotNil(t, m, "still parked until it is in its topic")
	e.reopen()
	broker.RunParkRound(e.b)
	broker.RunParkRound(e.b)
	require.Equal(t, []string{"m"}, storedIDs(t, e.st, "d", 1))
}

func TestDelayRecall(t *testing.T) {
	t.Parallel()
	tr := &sendTracer{}
	e := newEnv(t, func(c *broker.Config) { c.Tracer = tr })
	e.topic("d", broker.TopicDelay, 1)
	e.group("g", 0)
	ctx := context.Background()
	now := e.clk.Now()
	early := e.sendOne(delayMsg("d", "early", now.Add(time.Minute)))
	kept := e.sendOne(delayMsg("d", "kept", now.Add(time.Minute)))
	fired := e.sendOne(delayMsg("d", "fired", now.Add(time.Second)))

	id, err := e.b.Recall(ctx, "d", early.RecallHandle)
	require.NoError(t, err)
	require.Equal(t, "early", id)
	_, err = e.b.Recall(ctx, "d", early.RecallHandle)
	require.ErrorIs(t, err, broker.ErrRecallNotFound, "already recalled")
	require.Len(t, tr.of(trace.KindTimerRecall, "early"), 1)

	e.clk.Advance(time.Second)
	broker.RunParkRound(e.b)
	_, err = e.b.Recall(ctx, "d", fired.RecallHandle)
	require.ErrorIs(t, err, broker.ErrRecallNotFound, "already fired")

	// The recall holds across a restart, and the rest still fires.
	e.reopen()
	e.clk.Advance(time.Hour)
	broker.RunParkRound(e.b)
	require.Equal(t, []string{"fired", "kept"}, storedIDs(t, e.st, "d", 1))
	require.NotEmpty(t, kept.RecallHandle)
	_, err = e.b.Recall(ctx, "d", early.RecallHandle)
	require.ErrorIs(t, err, broker.ErrRecallNotFound)
}

func TestDelayRecallHandleErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("d", broker.TopicDelay, 1)
	e.topic("other", broker.TopicDelay, 1)
	res := e.sendOne(delayMsg("d", "m", e.clk.Now().Add(time.Minute)))
	h := res.RecallHandle
	forged := func(mutate func(b []byte)) string {
		raw := mustDecodeHandle(t, h)
		mutate(raw)
		return encodeHandle(raw)
	}
	cases := []struct {
		name, topic, handle string
		want                error
	}{
		{"empty", "d", "", broker.ErrInvalidArgument},
		{"not base64", "d", "!!!", broker.ErrInvalidArgument},
		{"truncated", "d", h[:len(h)-3], broker.ErrInvalidArgument},
		{"trailing bytes", "d", encodeHandle(append(mustDecodeHandle(t, h), 0)), broker.ErrInvalidArgument},
		{"unknown version", "d", forged(func(b []byte) { b[0] = 9 }), broker.ErrInvalidArgument},
		{"another topic", "other", h, broker.ErrInvalidArgument},
		{"another message id", "d", forged(func(b []byte) { b[len(b)-1] = 'x' }), broker.ErrRecallNotFound},
		{"another sequence", "d", forged(func(b []byte) { b[len(b)-4] ^= 1 }), broker.ErrRecallNotFound},
	}
	for _, c := range cases {
		_, err := e.b.Recall(context.Background(), c.topic, c.handle)
		require.ErrorIs(t, err, c.want, c.name)
	}
	// The genuine handle still works after all that.
	id, err := e.b.Recall(context.Background(), "d", h)
	require.NoError(t, err)
	require.Equal(t, "m", id)
}

// TestDelayTopicDeleted: a message whose topic is gone when it fires is
// dropped; a topic of the same name created afterwards does not get it.
func TestDelayTopicDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("d", broker.TopicDelay, 1)
	e.sendOne(delayMsg("d", "m", e.clk.Now().Add(time.Second)))
	require.NoError(t, e.b.DeleteTopic(context.Background(), "d"))
	e.clk.Advance(time.Second)
	broker.RunParkRound(e.b)
	e.topic("d", broker.TopicDelay, 1)
	broker.RunParkRound(e.b)
	require.Empty(t, storedIDs(t, e.st, "d", 1))
	m, _, err := broker.FindParked(e.b, "d", "m")
	require.NoError(t, err)
	require.Nil(t, m)
}

func TestParkMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, func(c *broker.Config) { c.Metrics = reg })
	e.topic("d", broker.TopicDelay, 1)
	e.topic("tx", broker.TopicTransaction, 1)
	e.sendOne(delayMsg("d", "a", e.clk.Now().Add(time.Second)))
	e.sendOne(delayMsg("d", "b", e.clk.Now().Add(time.Minute)))
	half := msg("tx", "h")
	half.Type = store.TypeTransaction
	e.sendOne(half)
	e.clk.Advance(3 * time.Second)
	values := gather(t, reg)
	require.Equal(t, 2.0, values[`orbit_broker_scheduled_messages{topic="d"}`])
	require.Equal(t, 1.0, values[`orbit_broker_half_messages{topic="tx"}`])
	require.Equal(t, 2.0, values[`orbit_broker_timer_lag_seconds`], "a is 2 s overdue")

	broker.RunParkRound(e.b)
	values = gather(t, reg)
	require.Equal(t, 1.0, values[`orbit_broker_scheduled_messages{topic="d"}`])
	require.Equal(t, 0.0, values[`orbit_broker_timer_lag_seconds`])
	require.Equal(t, 1.0, values[`orbit_broker_timer_fire_lateness_seconds{topic="d"}_count`])
}

// TestDelayRealTime runs the broker's own loop on the real clock: messages
// become visible no earlier than their delivery time and within a second.
func TestDelayRealTime(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, func(*testing.T, func() time.Time) store.Store { return memstore.New(memstore.Config{}) },
		func(c *broker.Config) { c.Now = time.Now })
	e.topic("d", broker.TopicDelay, 2)
	e.group("g", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	start := time.Now()
	const n = 5
	for i := range n {
		e.sendOne(delayMsg("d", fmt.Sprint(i), start.Add(time.Duration(100+50*i)*time.Millisecond)))
	}
	var got []broker.Delivery
	req := recvReq("g", "d", 10)
	req.PollTimeout = 3 * time.Second
	for len(got) < n {
		ds, err := e.b.Receive(ctx, req)
		require.NoError(t, err)
		require.NotEmpty(t, ds, "nothing fired within 3 s")
		got = append(got, ds...)
	}
	for _, d := range got {
		m := d.Message
		late := m.StoreTime.Sub(m.DeliveryTime)
		require.GreaterOrEqual(t, late, time.Duration(0), "message %s fired early", m.MessageID)
		require.Less(t, late, time.Second, "message %s fired late", m.MessageID)
	}
}

// BenchmarkDelayFire100k schedules 100,000 messages due within three
// seconds and reports how late they entered their topic (filestore
// underneath, park fsyncs): each iteration is the whole run. Every message
// fires once and none early; the figures are for the closing notes
// (go test -run '^$' -bench DelayFire100k -benchtime 1x ./dataplane/broker/).
func BenchmarkDelayFire100k(b *testing.B) {
	for range b.N {
		delayFire100k(b)
	}
}

func delayFire100k(t *testing.B) {
	t.StopTimer()
	const (
		total   = 100_000
		senders = 8
		batch   = 100
		lead    = 5 * time.Second
		spread  = 3 * time.Second
	)
	st, err := filestore.Open(filestore.Config{Dir: t.TempDir(), Flush: store.FlushAsync, SegmentBytes: 64 << 20, NoPretouch: true})
	require.NoError(t, err)
	defer st.Close()
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		require.NoError(t, b.Close())
	}()
	_, err = b.CreateTopic(ctx, broker.Topic{Name: "d", Type: broker.TopicDelay, Queues: 8})
	require.NoError(t, err)

	t.StartTimer()
	start := time.Now()
	first := start.Add(lead)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s * batch; i < total; i += senders * batch {
				var msgs []*store.Message
				for j := i; j < i+batch; j++ {
					msgs = append(msgs, delayMsg("d", fmt.Sprint(j), first.Add(spread*time.Duration(j)/total)))
				}
				if _, err := b.Send(ctx, msgs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	scheduled := time.Since(start)
	if scheduled >= lead {
		t.Logf("scheduling took %v, longer than the %v lead: lateness includes that", scheduled, lead)
	}
	t.ReportMetric(total/scheduled.Seconds(), "scheduled/s")

	deadline := first.Add(spread + 30*time.Second)
	var count int64
	for time.Now().Before(deadline) {
		count = 0
		for q := range int32(8) {
			count += st.Range("d", q).Max
		}
		if count >= total {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling a store with no waiter API for "all queues"
	}
	require.Equal(t, int64(total), count)
	var late []time.Duration
	seen := make(map[string]bool, total)
	for _, m := range stored(t, st, "d", 8) {
		require.False(t, seen[m.MessageID], "duplicate %s", m.MessageID)
		seen[m.MessageID] = true
		late = append(late, m.StoreTime.Sub(m.DeliveryTime))
	}
	slices.Sort(late)
	require.GreaterOrEqual(t, late[0], time.Duration(0), "fired early")
	p := func(q float64) time.Duration { return late[int(q*float64(len(late)-1))] }
	t.ReportMetric(float64(p(0.5).Microseconds())/1000, "p50-late-ms")
	t.ReportMetric(float64(p(0.99).Microseconds())/1000, "p99-late-ms")
	t.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "max-late-ms")
}

// BenchmarkSchedule measures scheduling delay messages from concurrent
// producers, one message per Send as clients do (memstore underneath; the
// cost is park.db's group commit).
func BenchmarkSchedule(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			br, err := broker.New(broker.Config{
				DataDir: b.TempDir(), Store: memstore.New(memstore.Config{}), ParkNoSync: !sync,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			ctx := context.Background()
			if _, err := br.CreateTopic(ctx, broker.Topic{Name: "d", Type: broker.TopicDelay, Queues: 8}); err != nil {
				b.Fatal(err)
			}
			due := time.Now().Add(time.Hour)
			body := make([]byte, 512)
			var n atomic.Int64
			b.SetParallelism(16) // many producers per core, as a broker sees
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := &store.Message{Topic: "d", MessageID: fmt.Sprint(n.Add(1)), Type: store.TypeDelay, Body: body, DeliveryTime: due}
					if _, err := br.Send(ctx, []*store.Message{m}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func mustDecodeHandle(t *testing.T, h string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	return raw
}

func encodeHandle(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// TestDelayRecallRacesFire recalls messages while the broker's loop fires
// them (real clock): each is either recalled and never delivered, or
// reported not found and delivered exactly once.
func TestDelayRecallRacesFire(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, func(*testing.T, func() time.Time) store.Store { return memstore.New(memstore.Config{}) },
		func(c *broker.Config) { c.Now = time.Now })
	e.topic("d", broker.TopicDelay, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.b.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	const n = 200
	due := time.Now().Add(3 * time.Second) // 200 sends take a while under -race on a loaded machine
	handles := make([]string, n)
	for i := range n {
		handles[i] = e.sendOne(delayMsg("d", fmt.Sprint(i), due.Add(time.Duration(i)*time.Millisecond))).RecallHandle
		require.NotEmpty(t, handles[i])
	}
	recalled := make([]bool, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Race the loop: the first due messages fire before their
			// recall comes, the last ones are recalled before they fire.
			time.Sleep(time.Until(due))
			for i := n - 1 - w; i >= 0; i -= 4 {
				time.Sleep(time.Millisecond)
				_, err := e.b.Recall(ctx, "d", handles[i])
				switch {
				case err == nil:
					recalled[i] = true
				case !errors.Is(err, broker.ErrRecallNotFound):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var want []string
	for i, r := range recalled {
		if !r {
			want = append(want, fmt.Sprint(i))
		}
	}
	sort.Strings(want)
	// Every message is fired or recalled once none is parked any more.
	require.Eventually(t, func() bool {
		for i := range n {
			if m, _, err := broker.FindParked(e.b, "d", fmt.Sprint(i)); err != nil || m != nil {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, want, storedIDs(t, e.st, "d", 4))
	t.Logf("%d of %d recalled before firing", n-len(want), n)
}

const kill9DirEnv = "ORBIT_BROKER_KILL9_DIR"

// TestDelayKill9: a child process schedules messages, fires them with its
// own loop and is killed with SIGKILL in the middle; a broker reopened on
// its files fires the rest, and every message is in its topic exactly once.
// The child pauses between appending a batch and recording it, so the kill
// often lands in that window.
func TestDelayKill9(t *testing.T) {
	if dir := os.Getenv(kill9DirEnv); dir != "" {
		kill9Child(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns and kills a child process")
	}
	t.Parallel()
	const n = 2000
	for _, killAfter := range []time.Duration{250 * time.Millisecond, 600 * time.Millisecond} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestDelayKill9$", "-test.count=1")
		cmd.Env = append(os.Environ(), kill9DirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // if we fail first
		sc := bufio.NewScanner(out)
		ready := false
		for sc.Scan() {
			if sc.Text() == "SCHEDULED" {
				ready = true
				break
			}
		}
		require.True(t, ready, "child exited before scheduling")
		time.Sleep(killAfter) // let it fire some
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()

		st, base := kill9Store(t, dir)
		b, err := broker.New(broker.Config{DataDir: filepath.Join(dir, "meta"), Store: st, Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		require.NoError(t, err)
		before := len(stored(t, st, "d", 4))
		// Everything was due within a second of scheduling.
		time.Sleep(time.Until(kill9Due(base, n-1)))
		broker.RunParkRound(b)
		broker.RunParkRound(b)
		got := storedIDs(t, st, "d", 4)
		require.NoError(t, b.Close())
		require.NoError(t, st.Close())
		var dups []string
		for i := 1; i < len(got); i++ {
			if got[i-1] == got[i] {
				dups = append(dups, got[i])
			}
		}
		require.Empty(t, dups, "fired twice")
		require.Equal(t, n, len(got), "fired before the kill: %d", before)
		t.Logf("killed after %v: %d of %d had fired", killAfter, before, n)
	}
}

// kill9Due is when message i of a child that started at base is due.
func kill9Due(base time.Time, i int) time.Time {
	return base.Add(200*time.Millisecond + time.Duration(i)*400*time.Microsecond)
}

// kill9Store opens the child's store and reads when the child started.
func kill9Store(t *testing.T, dir string) (store.Store, time.Time) {
	st, err := filestore.Open(filestore.Config{
		Dir: filepath.Join(dir, "store"), Flush: store.FlushSync, SegmentBytes: 4 << 20,
		QueueFileEntries: 1 << 10, IndexSlots: 1 << 10, IndexEntries: 1 << 14, NoPretouch: true,
	})
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(dir, "base"))
	require.NoError(t, err)
	ns, err := strconv.ParseInt(string(data), 10, 64)
	require.NoError(t, err)
	return st, time.Unix(0, ns)
}

func kill9Child(t *testing.T, dir string) {
	require.NoError(t, os.WriteFile(filepath.Join(dir, "base"), []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o600))
	st, base := kill9Store(t, dir)
	b, err := broker.New(broker.Config{DataDir: filepath.Join(dir, "meta"), Store: st})
	require.NoError(t, err)
	broker.SetAfterFireAppend(b, func() error { time.Sleep(3 * time.Millisecond); return nil })
	ctx := context.Background()
	_, err = b.CreateTopic(ctx, broker.Topic{Name: "d", Type: broker.TopicDelay, Queues: 4})
	require.NoError(t, err)
	for i := 0; i < 2000; i += 100 {
		var msgs []*store.Message
		for j := i; j < i+100; j++ {
			msgs = append(msgs, delayMsg("d", fmt.Sprintf("%04d", j), kill9Due(base, j)))
		}
		_, err := b.Send(ctx, msgs)
		require.NoError(t, err)
	}
	fmt.Println("SCHEDULED")
	_ = b.Run(ctx) // until killed
}
