package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// BenchmarkSendReceiveAck measures the broker's own overhead per message
// (memstore underneath): batches of 32 sent, received and acked.
func BenchmarkSendReceiveAck(b *testing.B) {
	st := memstore.New(memstore.Config{})
	br, err := broker.New(broker.Config{DataDir: b.TempDir(), Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	if _, err := br.CreateTopic(ctx, broker.Topic{Name: "t", Type: broker.TopicNormal, Queues: 8}); err != nil {
		b.Fatal(err)
	}
	if _, err := br.CreateGroup(ctx, broker.Group{Name: "g"}); err != nil {
		b.Fatal(err)
	}
	req := broker.ReceiveRequest{Group: "g", Topic: "t", QueueID: -1, MaxMessages: 32, InvisibleDuration: time.Minute}
	body := make([]byte, 1024)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i += 32 {
		msgs := make([]*store.Message, 32)
		for j := range msgs {
			msgs[j] = &store.Message{Topic: "t", MessageID: fmt.Sprint(i + j), Type: store.TypeNormal, Body: body}
		}
		if _, err := br.Send(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < 32; {
			ds, err := br.Receive(ctx, req)
			if err != nil || len(ds) == 0 {
				b.Fatalf("receive: %d, %v", len(ds), err)
			}
			for _, d := range ds {
				if err := br.Ack(ctx, "g", "t", d.Message.MessageID, d.ReceiptHandle); err != nil {
					b.Fatal(err)
				}
			}
			got += len(ds)
		}
	}
}
