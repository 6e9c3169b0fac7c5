package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// orderlyGroup creates a consumer group with FIFO consumption.
func (e *env) orderlyGroup(name string, maxRetries int32) {
	e.t.Helper()
	_, err := e.b.CreateGroup(context.Background(), broker.Group{Name: name, Orderly: true, MaxRetries: maxRetries})
	require.NoError(e.t, err)
}

// sendGroups sends one FIFO message per entry of groups, in order; the
// message of the n-th entry naming group G is "G-n" (n counts within G).
func (e *env) sendGroups(topic string, groups ...string) {
	e.t.Helper()
	next := map[string]int{}
	var msgs []*store.Message
	for _, g := range groups {
		m := msg(topic, fmt.Sprintf("%s-%d", g, next[g]))
		next[g]++
		m.Type, m.Group = store.TypeFIFO, g
		msgs = append(msgs, m)
	}
	_, err := e.b.Send(context.Background(), msgs)
	require.NoError(e.t, err)
}

func attempts(ds []broker.Delivery) []int32 {
	var out []int32
	for _, d := range ds {
		out = append(out, d.Attempt)
	}
	return out
}

// requireOnePerGroup fails when a batch holds two messages of one message group.
func requireOnePerGroup(t *testing.T, ds []broker.Delivery) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range ds {
		require.False(t, seen[d.Message.Group], "two messages of group %s in one batch: %v", d.Message.Group, ids(ds))
		seen[d.Message.Group] = true
	}
}

// TestOrderlyPerGroupOrder: many message groups interleaved over a few
// queues come out in send order per group, one per group per batch.
func TestOrderlyPerGroupOrder(t *testing.T) {
	t.Parallel()
	const groups, perGroup = 40, 12
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 3)
	e.orderlyGroup("g", 0)
	var seq []string
	for i := range groups * perGroup {
		seq = append(seq, fmt.Sprint("G", (i*7)%groups)) // interleaved, not round robin
	}
	e.sendGroups("t", seq...)

	got := map[string][]string{}
	for total := 0; total < groups*perGroup; {
		ds := e.recv(recvReq("g", "t", 32))
		require.NotEmpty(t, ds, "after %d messages", total)
		requireOnePerGroup(t, ds)
		for _, d := range ds {
			require.Equal(t, int32(1), d.Attempt)
			got[d.Message.Group] = append(got[d.Message.Group], d.Message.MessageID)
		}
		e.ackAll("g", ds)
		total += len(ds)
	}
	require.Len(t, got, groups)
	for g, seen := range got {
		var want []string
		for i := range perGroup {
			want = append(want, fmt.Sprintf("%s-%d", g, i))
		}
		require.Equal(t, want, seen, "group %s", g)
	}
	require.Empty(t, e.recv(recvReq("g", "t", 32)))
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, inflight)
}

// TestOrderlyBlockedGroupOthersFlow: an unacked message blocks its own
// message group only, and the consumer offset stays below it.
func TestOrderlyBlockedGroupOthersFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.orderlyGroup("g", 0)
	e.sendGroups("t", "A", "B", "A", "B", "A", "B")

	first := e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"A-0", "B-0"}, ids(first))
	e.ackAll("g", first[1:]) // B-0 only
	for _, want := range []string{"B-1", "B-2"} {
		ds := e.recv(recvReq("g", "t", 32))
		require.Equal(t, []string{want}, ids(ds))
		e.ackAll("g", ds)
	}
	require.Empty(t, e.recv(recvReq("g", "t", 32)), "A is blocked behind A-0")
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Equal(t, int64(6), lag, "offset stays at A-0")
	require.Equal(t, 1, inflight)

	e.ackAll("g", first[:1])
	for _, want := range []string{"A-1", "A-2"} {
		ds := e.recv(recvReq("g", "t", 32))
		require.Equal(t, []string{want}, ids(ds))
		e.ackAll("g", ds)
	}
	lag, _ = sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
}

// TestOrderlyRedeliveryInPlace: however the head of a group fails, it comes
// back with attempt+1 before anything else of its group, while the other
// group keeps flowing.
func TestOrderlyRedeliveryInPlace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		autoRenew bool
		fail      func(e *env, d broker.Delivery)
	}{
		{"invisible time passes", false, func(e *env, _ broker.Delivery) { e.clk.Advance(31 * time.Second) }},
		{"change invisible", false, func(e *env, d broker.Delivery) {
			_, err := e.b.ChangeInvisible(context.Background(), "g", "t", d.Message.MessageID, d.ReceiptHandle, 0)
			require.NoError(e.t, err)
		}},
		{"client gone", true, func(e *env, _ broker.Delivery) {
			e.b.ClientGone("client-1")
			e.clk.Advance(time.Second)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.topic("t", broker.TopicFIFO, 1)
			e.orderlyGroup("g", 0)
			e.sendGroups("t", "A", "A", "B", "B")
			req := recvReq("g", "t", 32)
			req.AutoRenew = c.autoRenew

			ds := e.recv(req)
			require.Equal(t, []string{"A-0", "B-0"}, ids(ds))
			e.ackAll("g", ds[1:])
			c.fail(e, ds[0])

			ds = e.recv(req)
			require.Equal(t, []string{"A-0", "B-1"}, ids(ds), "A-0 again, never A-1 beside it")
			require.Equal(t, []int32{2, 1}, attempts(ds))
			e.ackAll("g", ds)
			ds = e.recv(req)
			require.Equal(t, []string{"A-1"}, ids(ds))
			require.Equal(t, []int32{1}, attempts(ds))
		})
	}
}

// TestOrderlyRedeliveryKeepsOrderAcrossGroups: several heads failing at
// once come back, each ahead of the rest of its group, and the groups then
// continue in order.
func TestOrderlyRedeliveryKeepsOrderAcrossGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.orderlyGroup("g", 0)
	e.sendGroups("t", "A", "B", "C", "A", "B", "C")
	require.Equal(t, []string{"A-0", "B-0", "C-0"}, ids(e.recv(recvReq("g", "t", 32))))
	e.clk.Advance(time.Minute)
	ds := e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"A-0", "B-0", "C-0"}, ids(ds))
	require.Equal(t, []int32{2, 2, 2}, attempts(ds))
	e.ackAll("g", ds)
	require.Equal(t, []string{"A-1", "B-1", "C-1"}, ids(e.recv(recvReq("g", "t", 32))))
}

// TestOrderlyDeadLetterMovesOn: after the group's max deliveries the head
// goes to %DLQ%<group> (by the server, or by the client's ForwardToDLQ) and
// its message group continues with the next message.
func TestOrderlyDeadLetterMovesOn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		maxRetries   int32
		fail         func(e *env, d broker.Delivery)
		wantAttempts int32
	}{
		{"max deliveries", 1, func(e *env, d broker.Delivery) {
			e.clk.Advance(31 * time.Second)
			ds := e.recv(recvReq("g", "t", 32))
			require.Equal(e.t, []string{"A-0"}, ids(ds))
			require.Equal(e.t, []int32{2}, attempts(ds))
			e.clk.Advance(31 * time.Second)
		}, 2},
		{"forward to DLQ", 0, func(e *env, d broker.Delivery) {
			require.NoError(e.t, e.b.ForwardToDLQ(context.Background(), "g", "t", d.Message.MessageID, d.ReceiptHandle))
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.topic("t", broker.TopicFIFO, 1)
			e.orderlyGroup("g", c.maxRetries)
			e.sendGroups("t", "A", "A", "A")

			ds := e.recv(recvReq("g", "t", 32))
			require.Equal(t, []string{"A-0"}, ids(ds))
			c.fail(e, ds[0])

			ds = e.recv(recvReq("g", "t", 32))
			require.Equal(t, []string{"A-1"}, ids(ds), "the group moved on past the dead letter")
			require.Equal(t, []int32{1}, attempts(ds))
			e.ackAll("g", ds)
			require.Equal(t, []string{"A-2"}, ids(e.recv(recvReq("g", "t", 32))))

			e.group("dlq-reader", 0)
			dead := e.recv(recvReq("dlq-reader", broker.DLQTopic("g"), 10))
			require.Equal(t, []string{"A-0"}, ids(dead))
			require.Equal(t, c.wantAttempts, dead[0].Message.DeliveryAttempt)
			require.Equal(t, "A", dead[0].Message.Group)
		})
	}
}

// TestOrderlyEmptyGroupNeverBlocks: on an orderly subscription a message
// without a message group is a group of its own.
func TestOrderlyEmptyGroupNeverBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.orderlyGroup("g", 0)
	e.send("t", "m", 5, nil)
	ds := e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"m-0", "m-1", "m-2", "m-3", "m-4"}, ids(ds))
	e.clk.Advance(time.Minute)
	ds = e.recv(recvReq("g", "t", 32))
	require.Len(t, ds, 5, "all redelivered together")
}

// TestOrderlyNonOrderlyGroupUnchanged: the same FIFO topic consumed by a
// concurrent group hands out everything at once.
func TestOrderlyNonOrderlyGroupUnchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.group("concurrent", 0)
	e.orderlyGroup("orderly", 0)
	e.sendGroups("t", "A", "A", "A", "B")
	require.Equal(t, []string{"A-0", "A-1", "A-2", "B-0"}, ids(e.recv(recvReq("concurrent", "t", 32))))
	require.Equal(t, []string{"A-0", "B-0"}, ids(e.recv(recvReq("orderly", "t", 32))))
}

// TestOrderlyLongPollWakesOnAck: a receiver waiting behind a busy group
// gets the group's next message as soon as the head is acked.
func TestOrderlyLongPollWakesOnAck(t *testing.T) {
	t.Parallel()
	for _, settle := range []string{"ack", "forward to DLQ"} {
		t.Run(settle, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.topic("t", broker.TopicFIFO, 1)
			e.orderlyGroup("g", 0)
			e.sendGroups("t", "A", "A")
			d := e.recv(recvReq("g", "t", 32))[0]
			req := recvReq("g", "t", 32)
			req.PollTimeout = time.Hour // only the wake-up can end it
			done := waitingReceive(t, e, req)
			if settle == "ack" {
				e.ackAll("g", []broker.Delivery{d})
			} else {
				require.NoError(t, e.b.ForwardToDLQ(context.Background(), "g", "t", d.Message.MessageID, d.ReceiptHandle))
			}
			r := <-done
			require.NoError(t, r.err)
			require.Equal(t, []string{"A-1"}, ids(r.ds))
		})
	}
}

// TestOrderlyRestartKeepsOrder: in-flight state is lost on restart, but
// scanning resumes below the unfinished head, so its group stays in order.
func TestOrderlyRestartKeepsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.orderlyGroup("g", 0)
	e.sendGroups("t", "A", "A", "B", "B")
	ds := e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"A-0", "B-0"}, ids(ds))
	e.ackAll("g", ds[1:])
	e.reopen()

	ds = e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"A-0", "B-0"}, ids(ds), "B-0 again: at-least-once")
	require.Equal(t, []int32{1, 1}, attempts(ds))
	e.ackAll("g", ds)
	require.Equal(t, []string{"A-1", "B-1"}, ids(e.recv(recvReq("g", "t", 32))))
}

// TestOrderlyWaitingBound: a queue holds at most 10,000 offsets back behind
// busy groups; at the bound it stops scanning, and resumes once the busy
// group moves on.
func TestOrderlyWaitingBound(t *testing.T) {
	t.Parallel()
	const bound = 10_000
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.orderlyGroup("g", 0)
	seq := make([]string, 0, bound+2)
	for range bound + 1 {
		seq = append(seq, "A")
	}
	seq = append(seq, "B")
	for i := 0; i < len(seq); i += 1000 {
		e.sendGroups("t", seq[i:min(i+1000, len(seq))]...)
	}
	req := recvReq("g", "t", 32)
	ds := e.recv(req)
	require.Equal(t, []string{"A-0"}, ids(ds))
	// Each empty receive scans a few thousand offsets: enough of them to
	// reach B-0 were there no bound.
	for range 5 {
		require.Empty(t, e.recv(req), "B-0 lies beyond the bound")
	}

	e.ackAll("g", ds)
	ds = e.recv(req)
	require.Equal(t, []string{"A-1", "B-0"}, ids(ds))
}

// TestOrderlyModeSwitch: a group that stops being orderly gets the held
// messages at once; one that becomes orderly blocks from then on.
func TestOrderlyModeSwitch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 1)
	e.orderlyGroup("g", 0)
	e.sendGroups("t", "A", "A", "A", "B")
	require.Equal(t, []string{"A-0", "B-0"}, ids(e.recv(recvReq("g", "t", 32))))

	_, err := e.b.UpdateGroup(ctx, broker.Group{Name: "g"})
	require.NoError(t, err)
	ds := e.recv(recvReq("g", "t", 32))
	require.ElementsMatch(t, []string{"A-1", "A-2"}, ids(ds))
	e.ackAll("g", ds)
	e.clk.Advance(time.Minute)
	ds = e.recv(recvReq("g", "t", 32))
	require.Equal(t, []string{"A-0", "B-0"}, ids(ds))
	e.ackAll("g", ds)
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, inflight)

	_, err = e.b.UpdateGroup(ctx, broker.Group{Name: "g", Orderly: true})
	require.NoError(t, err)
	e.sendGroups("t", "C", "C")
	require.Equal(t, []string{"C-0"}, ids(e.recv(recvReq("g", "t", 32))))
}

// TestOrderlyConcurrentReceivers: receivers racing over the queues, nacking
// some messages, never hold two messages of one group at once, and every
// group is acked in send order. Run with -race.
func TestOrderlyConcurrentReceivers(t *testing.T) {
	t.Parallel()
	const (
		groups    = 60
		perGroup  = 30
		total     = groups * perGroup
		receivers = 4
	)
	e := newEnv(t)
	e.topic("t", broker.TopicFIFO, 4)
	e.orderlyGroup("g", broker.MaxRetriesLimit)
	var seq []string
	for i := range total {
		seq = append(seq, fmt.Sprint("G", (i*13)%groups))
	}
	e.sendGroups("t", seq...)
	ctx := context.Background()

	var (
		mu       sync.Mutex
		inflight = map[string]string{} // message group → message in flight
		acked    = map[string][]string{}
		nacks    = map[string]int{}
		done     atomic.Int64
		wg       sync.WaitGroup
	)
	errs := make(chan error, receivers)
	for r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := recvReq("g", "t", 8)
			req.ClientID = fmt.Sprint("r", r)
			req.PollTimeout = 50 * time.Millisecond
			for done.Load() < total {
				ds, err := e.b.Receive(ctx, req)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, d := range ds {
					g := d.Message.Group
					if other, busy := inflight[g]; busy {
						mu.Unlock()
						errs <- fmt.Errorf("%s delivered while %s of its group is in flight", d.Message.MessageID, other)
						return
					}
					inflight[g] = d.Message.MessageID
				}
				mu.Unlock()
				for _, d := range ds {
					id := d.Message.MessageID
					mu.Lock()
					// Nack the first delivery of every third message of a
					// group: it must come back before its successor.
					nack := d.Attempt == 1 && indexInGroup(id)%3 == 0
					if nack {
						nacks[id]++
					} else {
						acked[d.Message.Group] = append(acked[d.Message.Group], id)
					}
					// Cleared before the broker hears of it, so any later
					// delivery of the group while set is a real overlap.
					delete(inflight, d.Message.Group)
					mu.Unlock()
					if nack {
						_, err = e.b.ChangeInvisible(ctx, "g", "t", id, d.ReceiptHandle, 0)
					} else {
						err = e.b.Ack(ctx, "g", "t", id, d.ReceiptHandle)
						done.Add(1)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, acked, groups)
	for g, seen := range acked {
		var want []string
		for i := range perGroup {
			want = append(want, fmt.Sprintf("%s-%d", g, i))
		}
		require.Equal(t, want, seen, "group %s", g)
	}
	require.NotEmpty(t, nacks)
	lag, n := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, n)
}

// BenchmarkOrderlyReceive measures receive+ack over a backlog of 1,000
// message groups on 8 queues (memstore underneath), against the same
// backlog consumed concurrently.
func BenchmarkOrderlyReceive(b *testing.B) {
	for _, orderly := range []bool{true, false} {
		b.Run(fmt.Sprintf("orderly=%v", orderly), func(b *testing.B) {
			const groups = 1000
			ctx := context.Background()
			st := memstore.New(memstore.Config{})
			br, err := broker.New(broker.Config{DataDir: b.TempDir(), Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			if _, err := br.CreateTopic(ctx, broker.Topic{Name: "t", Type: broker.TopicFIFO, Queues: 8}); err != nil {
				b.Fatal(err)
			}
			if _, err := br.CreateGroup(ctx, broker.Group{Name: "g", Orderly: orderly}); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 256)
			for i := 0; i < b.N; i += 1000 {
				msgs := make([]*store.Message, 0, 1000)
				for j := i; j < min(i+1000, b.N); j++ {
					msgs = append(msgs, &store.Message{Topic: "t", MessageID: fmt.Sprint(j), Type: store.TypeFIFO, Group: fmt.Sprint("G", j%groups), Body: body})
				}
				if _, err := br.Send(ctx, msgs); err != nil {
					b.Fatal(err)
				}
			}
			req := broker.ReceiveRequest{Group: "g", Topic: "t", QueueID: -1, MaxMessages: 32, InvisibleDuration: time.Minute}
			b.ResetTimer()
			for got := 0; got < b.N; {
				ds, err := br.Receive(ctx, req)
				if err != nil || len(ds) == 0 {
					b.Fatalf("receive after %d: %d, %v", got, len(ds), err)
				}
				for _, d := range ds {
					if err := br.Ack(ctx, "g", "t", d.Message.MessageID, d.ReceiptHandle); err != nil {
						b.Fatal(err)
					}
				}
				got += len(ds)
			}
		})
	}
}

// indexInGroup is n of a message id "G-n" made by sendGroups.
func indexInGroup(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	return n
}
