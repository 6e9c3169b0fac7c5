package filestore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
)

// BenchmarkAppend appends 1 KiB messages, one per Append, from 1 or 64
// goroutines, with production settings (1 GiB segments). Reported: msgs/s,
// the commit log's fsyncs/s and messages per fsync (the group-commit batch).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []store.FlushMode{store.FlushSync, store.FlushAsync} {
		for _, producers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/producers=%d", mode, producers), func(b *testing.B) {
				benchAppend(b, mode, producers, 1)
			})
		}
	}
	b.Run("async/producers=1/batch=32", func(b *testing.B) { benchAppend(b, store.FlushAsync, 1, 32) })
}

func benchAppend(b *testing.B, mode store.FlushMode, producers, batch int) {
	cfg := filestore.DefaultConfig()
	cfg.Dir = b.TempDir()
	cfg.Flush = mode
	s, err := filestore.Open(cfg)
	require.NoError(b, err)
	defer s.Close()
	ctx := context.Background()
	body := make([]byte, 1024)
	newBatch := func(id int32) []*store.Message {
		msgs := make([]*store.Message, batch)
		for i := range msgs {
			msgs[i] = &store.Message{Topic: "bench", QueueID: id % 8, MessageID: fmt.Sprintf("producer-%d-%d", id, i),
				Type: store.TypeNormal, Tag: "TagA", Body: body, BornTime: time.Now(), BornHost: "127.0.0.1:5000"}
		}
		return msgs
	}
	b.SetBytes(int64(len(body) * batch))
	b.ReportAllocs()
	before := s.Stats()
	start := time.Now()
	b.ResetTimer()
	if producers == 1 {
		msgs := newBatch(0)
		for b.Loop() {
			if err := s.Append(ctx, msgs); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism((producers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		var ids atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			msgs := newBatch(ids.Add(1))
			for pb.Next() {
				if err := s.Append(ctx, msgs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	secs := time.Since(start).Seconds()
	after := s.Stats()
	msgs := float64(after.Appends - before.Appends)
	syncs := float64(after.Syncs - before.Syncs)
	b.ReportMetric(msgs/secs, "msgs/s")
	b.ReportMetric(syncs/secs, "fsyncs/s")
	if syncs > 0 {
		b.ReportMetric(msgs/syncs, "msgs/fsync")
	}
	b.ReportMetric(msgs/float64(after.AppendBatches-before.AppendBatches), "msgs/batch")
}

// BenchmarkRead reads 32 messages of 1 KiB per Read from a queue of 20,000
// (warm page cache), as a consumer draining a backlog does.
func BenchmarkRead(b *testing.B) {
	cfg := filestore.DefaultConfig()
	cfg.Dir = b.TempDir()
	cfg.Flush = store.FlushAsync
	s, err := filestore.Open(cfg)
	require.NoError(b, err)
	defer s.Close()
	ctx := context.Background()
	const n, per = 20000, 32
	body := make([]byte, 1024)
	for i := 0; i < n; i += 100 {
		var msgs []*store.Message
		for j := range 100 {
			msgs = append(msgs, &store.Message{Topic: "bench", QueueID: 0, MessageID: fmt.Sprint(i + j), Tag: "TagA", Body: body, BornTime: time.Now()})
		}
		require.NoError(b, s.Append(ctx, msgs))
	}
	b.SetBytes(per * 1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	off, read := int64(0), 0
	for b.Loop() {
		got, err := s.Read(ctx, "bench", 0, off, per, 1<<20)
		if err != nil || len(got) != per {
			b.Fatalf("read at %d: %d messages, %v", off, len(got), err)
		}
		read += len(got)
		if off += per; off+per > n {
			off = 0
		}
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "msgs/s")
}
