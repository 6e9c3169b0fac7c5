package trace_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
	"github.com/orbitmq/orbit/dataplane/trace"
)

func fileStore(t testing.TB) store.Store {
	t.Helper()
	st, err := filestore.Open(filestore.Config{
		Dir: t.TempDir(), Flush: store.FlushAsync, SegmentBytes: 8 << 20,
		QueueFileEntries: 1 << 10, IndexSlots: 1 << 10, IndexEntries: 1 << 14, NoPretouch: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func memStore(testing.TB) store.Store { return memstore.New(memstore.Config{}) }

func newWriter(t testing.TB, st store.Store, mod func(*trace.Config)) *trace.Writer {
	t.Helper()
	cfg := trace.Config{Store: st, Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if mod != nil {
		mod(&cfg)
	}
	w, err := trace.NewWriter(cfg)
	require.NoError(t, err)
	return w
}

func TestWriterStoresAndReads(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) store.Store{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			w := newWriter(t, st, func(c *trace.Config) { c.MaxBatch = 4 })
			// Events of three messages, recorded out of time order and spread
			// over several batches.
			var want []trace.Event
			for i, id := range []string{"a", "b", "c"} {
				evs := lifecycle(id, t0.Add(time.Duration(i)*time.Second))
				if id == "a" {
					want = evs
				}
				for j := len(evs) - 1; j >= 0; j-- {
					w.Record(evs[j])
				}
			}
			require.NoError(t, w.Close())
			require.Zero(t, w.Dropped())

			got, err := trace.Read(t.Context(), st, "a")
			require.NoError(t, err)
			require.Equal(t, norm(want), norm(got), "one message's events, oldest first")

			r := st.Range(trace.Topic, 0)
			require.EqualValues(t, 5, r.Max-r.Min, "18 events in batches of at most 4")

			none, err := trace.Read(t.Context(), st, "nobody")
			require.NoError(t, err)
			require.Empty(t, none)
			none, err = trace.Read(t.Context(), st, "")
			require.NoError(t, err)
			require.Empty(t, none)
		})
	}
}

func TestWriterRunFlushesPeriodicallyAndOnFullBatch(t *testing.T) {
	t.Parallel()
	st := memStore(t)
	// A flush interval no test waits for: only full batches and the final
	// flush can write.
	w := newWriter(t, st, func(c *trace.Config) { c.MaxBatch = 10; c.FlushInterval = time.Hour })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	notify := st.Notify(trace.Topic, 0)
	for i := range 10 {
		w.Record(trace.Event{Kind: trace.KindSend, MessageID: fmt.Sprint("m", i), Topic: "t"})
	}
	<-notify // the full batch was written without waiting for the interval
	require.EqualValues(t, 1, st.Range(trace.Topic, 0).Max)

	w.Record(trace.Event{Kind: trace.KindSend, MessageID: "last", Topic: "t"})
	cancel()
	require.NoError(t, <-done)
	require.EqualValues(t, 2, st.Range(trace.Topic, 0).Max, "Run flushes the rest when ctx ends")
	evs, err := trace.Read(t.Context(), st, "last")
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.False(t, evs[0].Time.IsZero(), "Record stamps events without a time")

	require.NoError(t, w.Close())
	require.ErrorContains(t, w.Run(t.Context()), "Run called twice")
}

func TestWriterIntervalFlush(t *testing.T) {
	t.Parallel()
	st := memStore(t)
	w := newWriter(t, st, func(c *trace.Config) { c.FlushInterval = time.Millisecond })
	go func() { _ = w.Run(t.Context()) }()
	t.Cleanup(func() { _ = w.Close() })
	notify := st.Notify(trace.Topic, 0)
	w.Record(trace.Event{Kind: trace.KindSend, MessageID: "m", Topic: "t"})
	<-notify
}

func TestWriterDropsWhenFullAndAfterClose(t *testing.T) {
	t.Parallel()
	st := memStore(t)
	reg := prometheus.NewPedanticRegistry()
	w := newWriter(t, st, func(c *trace.Config) { c.BufferSize = 10; c.Metrics = reg })
	for i := range 15 {
		w.Record(trace.Event{Kind: trace.KindSend, MessageID: fmt.Sprint("m", i), Topic: "t"})
	}
	require.EqualValues(t, 5, w.Dropped(), "no Run: the buffer holds 10")
	require.Equal(t, map[string]float64{
		`orbit_trace_dropped_events_total{reason="buffer_full"}`: 5,
		`orbit_trace_dropped_events_total{reason="closed"}`:      0,
		`orbit_trace_dropped_events_total{reason="store_error"}`: 0,
		`orbit_trace_events_written_total`:                       0,
		`orbit_trace_batches_written_total`:                      0,
		`orbit_trace_batch_bytes_written_total`:                  0,
	}, gather(t, reg))

	require.NoError(t, w.Close())
	evs, err := trace.Read(t.Context(), st, "m9")
	require.NoError(t, err)
	require.Len(t, evs, 1, "Close flushed the buffer")
	evs, err = trace.Read(t.Context(), st, "m10")
	require.NoError(t, err)
	require.Empty(t, evs, "dropped")

	w.Record(trace.Event{Kind: trace.KindSend, MessageID: "late", Topic: "t"})
	require.EqualValues(t, 6, w.Dropped())
	require.NoError(t, w.Close(), "Close is idempotent")
	require.Empty(t, gather(t, reg), "Close unregisters the metrics")

	// A new writer can register again.
	w2 := newWriter(t, st, func(c *trace.Config) { c.Metrics = reg })
	require.NoError(t, w2.Close())
}

func TestWriterStoreErrorsAreCountedNotFatal(t *testing.T) {
	t.Parallel()
	st := memStore(t)
	reg := prometheus.NewPedanticRegistry()
	var logs strings.Builder
	var mu sync.Mutex
	w := newWriter(t, st, func(c *trace.Config) {
		c.Metrics = reg
		c.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	})
	require.NoError(t, st.Close())
	w.Record(trace.Event{Kind: trace.KindSend, MessageID: "m", Topic: "t"})
	w.Record(trace.Event{Kind: trace.KindAck, MessageID: "m", Topic: "t", Group: "g"})
	err := w.Close()
	require.ErrorIs(t, err, store.ErrClosed)
	require.EqualValues(t, 2, w.Dropped())
	mu.Lock()
	require.Contains(t, logs.String(), "trace events lost")
	mu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestWriterConcurrentRecord(t *testing.T) {
	t.Parallel()
	st := memStore(t)
	w := newWriter(t, st, func(c *trace.Config) { c.MaxBatch = 50; c.FlushInterval = time.Millisecond; c.BufferSize = 1 << 20 })
	done := make(chan error, 1)
	go func() { done <- w.Run(t.Context()) }()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				w.Record(trace.Event{Kind: trace.KindDeliver, MessageID: fmt.Sprintf("m-%d-%d", g, i%50), Topic: "t", Group: "g", Attempt: int32(i/50 + 1)})
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	require.NoError(t, <-done)
	require.Zero(t, w.Dropped())
	evs, err := trace.Read(t.Context(), st, "m-3-7")
	require.NoError(t, err)
	require.Len(t, evs, 10, "every event of the message was stored")
}

func TestWriterConfig(t *testing.T) {
	t.Parallel()
	_, err := trace.NewWriter(trace.Config{})
	require.ErrorContains(t, err, "Store is required")
	_, err = trace.NewWriter(trace.Config{Store: memStore(t), MaxBatch: -1})
	require.ErrorContains(t, err, "must not be negative")
}

// gather flattens a registry into "name{labels}" → value (prometheus/testutil
// pulls a module go.mod does not list).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			out[name] = m.GetCounter().GetValue()
		}
	}
	return out
}
