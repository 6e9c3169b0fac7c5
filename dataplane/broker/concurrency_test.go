package broker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

// TestConcurrentSendReceiveExactlyOnce: 4 senders store 10,000 messages while
// 4 receivers pop and ack them. The clock never moves, so nothing expires:
// every message must be delivered exactly once.
func TestConcurrentSendReceiveExactlyOnce(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]openStore{"memstore": memStore, "filestore": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exactlyOnce(t, open)
		})
	}
}

func exactlyOnce(t *testing.T, open openStore) {
	const (
		senders   = 4
		receivers = 4
		perSender = 2500
		total     = senders * perSender
		batch     = 5
	)
	e := newEnvOn(t, open)
	e.topic("t", broker.TopicNormal, 8)
	e.group("g", 0)
	ctx := context.Background()

	var sendWG sync.WaitGroup
	sendErr := make(chan error, senders)
	for s := range senders {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			for i := 0; i < perSender; i += batch {
				var msgs []*store.Message
				for j := i; j < i+batch; j++ {
					msgs = append(msgs, msg("t", fmt.Sprintf("s%d-%d", s, j)))
				}
				if _, err := e.b.Send(ctx, msgs); err != nil {
					sendErr <- err
					return
				}
			}
		}()
	}

	var (
		mu       sync.Mutex
		seen     = make(map[string]int, total)
		received atomic.Int64
		recvWG   sync.WaitGroup
	)
	recvErr := make(chan error, receivers)
	for r := range receivers {
		recvWG.Add(1)
		go func() {
			defer recvWG.Done()
			req := recvReq("g", "t", 32)
			req.ClientID = fmt.Sprint("r", r)
			req.PollTimeout = 100 * time.Millisecond
			for received.Load() < total {
				ds, err := e.b.Receive(ctx, req)
				if err != nil {
					recvErr <- err
					return
				}
				for _, d := range ds {
					if err := e.b.Ack(ctx, "g", "t", d.Message.MessageID, d.ReceiptHandle); err != nil {
						recvErr <- fmt.Errorf("ack %s: %w", d.Message.MessageID, err)
						return
					}
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Message.MessageID]++
				}
				mu.Unlock()
				received.Add(int64(len(ds)))
			}
		}()
	}
	sendWG.Wait()
	recvWG.Wait()
	close(sendErr)
	close(recvErr)
	for err := range sendErr {
		require.NoError(t, err)
	}
	for err := range recvErr {
		require.NoError(t, err)
	}

	require.Len(t, seen, total)
	for id, n := range seen {
		require.Equal(t, 1, n, "%s delivered %d times", id, n)
	}
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, inflight)
}
