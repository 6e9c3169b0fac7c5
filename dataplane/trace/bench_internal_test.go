package trace

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// BenchmarkRecordCaller is what tracing adds to the caller of Record (a
// send, receive or ack): the buffer append alone. The buffer is emptied
// outside the timer whenever it fills, so no event is dropped and no I/O is
// measured (BenchmarkPipeline measures the background work).
func BenchmarkRecordCaller(b *testing.B) {
	w, err := NewWriter(Config{Store: memstore.New(memstore.Config{})})
	if err != nil {
		b.Fatal(err)
	}
	ev := Event{Kind: KindDeliver, Time: time.Now(), MessageID: "7F00000100012A9F0000000000000001", Topic: "orders",
		Group: "billing", ClientID: "consumer-1", Host: "10.0.0.2:6000", Attempt: 1, InvisibleUntil: time.Now().Add(time.Minute)}
	b.ReportAllocs()
	for b.Loop() {
		if len(w.buf) == w.cfg.BufferSize {
			b.StopTimer()
			clear(w.buf)
			w.buf = w.buf[:0]
			b.StartTimer()
		}
		w.Record(ev)
	}
	if w.Dropped() != 0 {
		b.Fatal("dropped events")
	}
}

// BenchmarkPipeline is the whole cost of one event on one core: Record,
// then encoding and appending its batch to a file store (async flush, so
// the disk's fsync latency is not counted; with sync flush the writer waits
// for it, but off the message path). A flush runs after every MaxBatch
// events, as Run does under load. The message IDs cycle over 300, about
// what a batch sees at 100 k events/s (send, deliver and ack of each message).
func BenchmarkPipeline(b *testing.B) {
	st, err := filestore.Open(filestore.Config{
		Dir: b.TempDir(), Flush: store.FlushAsync, SegmentBytes: 64 << 20,
		QueueFileEntries: 1 << 12, IndexSlots: 1 << 16, IndexEntries: 1 << 20, NoPretouch: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	w, err := NewWriter(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("7F00000100012A9F%016X", i)
	}
	now := time.Now()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Record(Event{Kind: Kind(i%3) + KindDeliver, Time: now.Add(time.Duration(i) * time.Microsecond), MessageID: ids[i%len(ids)],
			Topic: "orders", Group: "billing", ClientID: "consumer-1", Host: "10.0.0.2:6000", Attempt: 1, InvisibleUntil: now.Add(time.Minute)})
		i++
		if i%w.cfg.MaxBatch == 0 {
			if err := w.flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		b.Fatal(err)
	}
	s := st.Stats()
	b.ReportMetric(float64(s.MaxCommitLog-s.MinCommitLog)/float64(i), "store-bytes/event")
}
