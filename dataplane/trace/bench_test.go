package trace_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orbitmq/orbit/dataplane/trace"
)

// benchEvent is a delivery event as the broker records it.
func benchEvent(i int) trace.Event {
	return trace.Event{
		Kind: trace.KindDeliver, Time: t0.Add(time.Duration(i) * time.Microsecond), MessageID: benchIDs[i%len(benchIDs)],
		Topic: "orders", Group: "billing", ClientID: "consumer-1", Host: "10.0.0.2:6000", Attempt: 1,
		InvisibleUntil: t0.Add(30 * time.Second),
	}
}

var benchIDs = func() []string {
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("7F00000100012A9F%016X", i)
	}
	return ids
}()

// BenchmarkRecordParallel is Record from every core at once while the
// writer flushes to a file store: contention included. Recording flat out
// outruns the writer, so some events may be dropped (reported).
func BenchmarkRecordParallel(b *testing.B) {
	st := fileStore(b)
	w := newWriter(b, st, func(c *trace.Config) { c.BufferSize = 1 << 20 })
	go func() { _ = w.Run(b.Context()) }()
	ev := benchEvent(0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(ev)
		}
	})
	b.StopTimer()
	_ = w.Close()
	b.ReportMetric(float64(w.Dropped()), "dropped")
}

// BenchmarkEncode is the encoding of one full batch, reported per event.
func BenchmarkEncode(b *testing.B) {
	evs := make([]trace.Event, 1000)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		_, body := trace.EncodeBatch(evs)
		size = len(body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	b.ReportMetric(float64(size)/float64(len(evs)), "bytes/event")
}

// BenchmarkRead is trace.Read of one message among 100,000 traced events.
func BenchmarkRead(b *testing.B) {
	st := fileStore(b)
	w := newWriter(b, st, func(c *trace.Config) { c.BufferSize = 1 << 20 })
	for i := range 100_000 {
		w.Record(benchEvent(i))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		evs, err := trace.Read(b.Context(), st, benchIDs[7])
		if err != nil || len(evs) == 0 {
			b.Fatal(err, len(evs))
		}
	}
}
