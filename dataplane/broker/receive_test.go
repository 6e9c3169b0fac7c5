package broker_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestSendReceiveAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 3)
	e.group("g", 0)
	sent := e.send("t", "m", 10, func(i int, m *store.Message) {
		m.Tag = "tag"
		m.Keys = []string{fmt.Sprint("k", i)}
		m.Properties = map[string]string{"i": fmt.Sprint(i)}
	})

	got := e.recv(recvReq("g", "t", 32))
	require.Len(t, got, 10)
	byID := map[string]broker.Delivery{}
	for _, d := range got {
		require.Equal(t, int32(1), d.Attempt)
		require.Equal(t, e.clk.Now().Add(30*time.Second), d.InvisibleUntil)
		require.NotEmpty(t, d.ReceiptHandle)
		require.Equal(t, "t", d.Message.Topic)
		require.Equal(t, "tag", d.Message.Tag)
		byID[d.Message.MessageID] = d
	}
	for _, s := range sent {
		d := byID[s.MessageID]
		require.Equal(t, s.QueueID, d.Message.QueueID)
		require.Equal(t, s.QueueOffset, d.Message.QueueOffset)
	}
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Equal(t, int64(10), lag)
	require.Equal(t, 10, inflight)

	require.Empty(t, e.recv(recvReq("g", "t", 32)), "everything is in flight")
	e.ackAll("g", got)
	lag, inflight = sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)
	require.Zero(t, inflight)

	// Acked messages never come back, even long after.
	e.clk.Advance(time.Hour)
	require.Empty(t, e.recv(recvReq("g", "t", 32)))

	// Another group sees everything from the start.
	e.group("other", 0)
	require.Len(t, e.recv(recvReq("other", "t", 32)), 10)
}

func TestReceiveBatchLimitsAndSingleQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *broker.Config) { c.MaxBatch = 4 })
	e.topic("t", broker.TopicNormal, 2)
	e.group("g", 0)
	e.send("t", "m", 10, nil)

	require.Len(t, e.recv(recvReq("g", "t", 3)), 3)
	require.Len(t, e.recv(recvReq("g", "t", 100)), 4, "capped at MaxBatch")

	req := recvReq("g", "t", 32)
	req.QueueID = 1
	for _, d := range e.recv(req) {
		require.Equal(t, int32(1), d.Message.QueueID)
	}
}

func TestTwoReceiversNeverShareAMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 4)
	e.group("g", 0)
	e.send("t", "m", 200, nil)

	results := make(chan []string, 2)
	for c := range 2 {
		go func() {
			var seen []string
			req := recvReq("g", "t", 7)
			req.ClientID = fmt.Sprint("c", c)
			for {
				ds, err := e.b.Receive(context.Background(), req)
				if err != nil || len(ds) == 0 {
					break
				}
				seen = append(seen, ids(ds)...)
			}
			results <- seen
		}()
	}
	all := map[string]int{}
	for range 2 {
		for _, id := range <-results {
			all[id]++
		}
	}
	require.Len(t, all, 200)
	for id, n := range all {
		require.Equal(t, 1, n, "%s delivered %d times", id, n)
	}
}

func TestRedeliveryAfterInvisibleTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)

	first := e.recv(recvReq("g", "t", 1))
	require.Len(t, first, 1)
	e.clk.Advance(29 * time.Second)
	require.Empty(t, e.recv(recvReq("g", "t", 1)), "still invisible")

	e.clk.Advance(time.Second)
	second := e.recv(recvReq("g", "t", 1))
	require.Len(t, second, 1)
	require.Equal(t, "m-0", second[0].Message.MessageID)
	require.Equal(t, int32(2), second[0].Attempt)
	require.NotEqual(t, first[0].ReceiptHandle, second[0].ReceiptHandle)

	ctx := context.Background()
	require.ErrorIs(t, e.b.Ack(ctx, "g", "t", "m-0", first[0].ReceiptHandle), broker.ErrInvalidHandle, "the first delivery's handle is stale")
	require.NoError(t, e.b.Ack(ctx, "g", "t", "m-0", second[0].ReceiptHandle))
	require.ErrorIs(t, e.b.Ack(ctx, "g", "t", "m-0", second[0].ReceiptHandle), broker.ErrInvalidHandle, "acked already")
}

func TestLateAckBeforeRedelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	d := e.recv(recvReq("g", "t", 1))
	e.clk.Advance(time.Minute)
	// Expired but nobody took it again yet: the ack still counts.
	e.ackAll("g", d)
	require.Empty(t, e.recv(recvReq("g", "t", 1)))
}

func TestChangeInvisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	ctx := context.Background()

	d := e.recv(recvReq("g", "t", 1))[0]
	h2, err := e.b.ChangeInvisible(ctx, "g", "t", "m-0", d.ReceiptHandle, 5*time.Second)
	require.NoError(t, err)
	require.NotEqual(t, d.ReceiptHandle, h2)
	require.ErrorIs(t, e.b.Ack(ctx, "g", "t", "m-0", d.ReceiptHandle), broker.ErrInvalidHandle)
	_, err = e.b.ChangeInvisible(ctx, "g", "t", "m-0", d.ReceiptHandle, time.Second)
	require.ErrorIs(t, err, broker.ErrInvalidHandle)

	// Extending and then acking with the new handle works.
	h3, err := e.b.ChangeInvisible(ctx, "g", "t", "m-0", h2, time.Minute)
	require.NoError(t, err)
	e.clk.Advance(30 * time.Second)
	require.Empty(t, e.recv(recvReq("g", "t", 1)), "extended past the original 30 s")
	e.clk.Advance(30 * time.Second)
	again := e.recv(recvReq("g", "t", 1))
	require.Len(t, again, 1)
	require.Equal(t, int32(2), again[0].Attempt)
	require.ErrorIs(t, e.b.Ack(ctx, "g", "t", "m-0", h3), broker.ErrInvalidHandle)

	// A nack (0 s) makes it visible at once with the next attempt.
	_, err = e.b.ChangeInvisible(ctx, "g", "t", "m-0", again[0].ReceiptHandle, 0)
	require.NoError(t, err)
	third := e.recv(recvReq("g", "t", 1))
	require.Len(t, third, 1)
	require.Equal(t, int32(3), third[0].Attempt)

	_, err = e.b.ChangeInvisible(ctx, "g", "t", "m-0", third[0].ReceiptHandle, -time.Second)
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
}

func TestReceiptHandleErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 2)
	e.topic("u", broker.TopicNormal, 2)
	e.group("g", 0)
	e.group("h", 0)
	e.send("t", "m", 2, nil)
	e.send("u", "n", 1, nil)
	ds := e.recv(recvReq("g", "t", 2))
	require.Len(t, ds, 2)
	e.recv(recvReq("g", "u", 1))
	valid := ds[0].ReceiptHandle
	ctx := context.Background()

	cases := []struct {
		name, group, topic, msgID, handle string
		want                              error
	}{
		{"empty", "g", "t", "", "", broker.ErrInvalidHandle},
		{"garbage", "g", "t", "", "not a handle", broker.ErrInvalidHandle},
		{"wrong version", "g", "t", "", "2.0.0.1", broker.ErrInvalidHandle},
		{"too few parts", "g", "t", "", "1.0.0", broker.ErrInvalidHandle},
		{"negative queue", "g", "t", "", "1.-1.0.1", broker.ErrInvalidHandle},
		{"huge queue", "g", "t", "", "1.99.0.1", broker.ErrInvalidHandle},
		{"queue overflow", "g", "t", "", "1.99999999999.0.1", broker.ErrInvalidHandle},
		{"negative offset", "g", "t", "", "1.0.-5.1", broker.ErrInvalidHandle},
		{"bad generation", "g", "t", "", "1.0.0.xyz", broker.ErrInvalidHandle},
		{"unknown generation", "g", "t", "", "1.0.0.1", broker.ErrInvalidHandle},
		{"offset never delivered", "g", "t", "", "1.0.999.1", broker.ErrInvalidHandle},
		{"very long", "g", "t", "", "1.0.0." + fmt.Sprintf("%0200d", 1), broker.ErrInvalidHandle},
		{"unicode", "g", "t", "", "1.٠.0.1", broker.ErrInvalidHandle},
		{"other group", "h", "t", "", valid, broker.ErrInvalidHandle},
		{"other topic", "g", "u", "", valid, broker.ErrInvalidHandle},
		{"other message id", "g", "t", "someone-else", valid, broker.ErrInvalidHandle},
		{"unknown group", "nope", "t", "", valid, broker.ErrGroupNotFound},
		{"unknown topic", "g", "nope", "", valid, broker.ErrTopicNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, e.b.Ack(ctx, c.group, c.topic, c.msgID, c.handle), c.want)
			_, err := e.b.ChangeInvisible(ctx, c.group, c.topic, c.msgID, c.handle, time.Second)
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, e.b.ForwardToDLQ(ctx, c.group, c.topic, c.msgID, c.handle), c.want)
		})
	}
	// None of that disturbed the real delivery.
	require.NoError(t, e.b.Ack(ctx, "g", "t", ds[0].Message.MessageID, valid))
	require.NoError(t, e.b.Ack(ctx, "g", "t", "", ds[1].ReceiptHandle), "the message id is optional")
}

func TestDeadLetterAfterMaxRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 2) // three deliveries
	e.group("dlq-reader", 0)
	e.send("t", "m", 1, func(_ int, m *store.Message) {
		m.Tag, m.Keys, m.Properties = "tg", []string{"k"}, map[string]string{"p": "v"}
	})

	for attempt := int32(1); attempt <= 3; attempt++ {
		ds := e.recv(recvReq("g", "t", 1))
		require.Len(t, ds, 1, "attempt %d", attempt)
		require.Equal(t, attempt, ds[0].Attempt)
		e.clk.Advance(31 * time.Second)
	}
	require.Empty(t, e.recv(recvReq("g", "t", 1)), "a fourth delivery would exceed MaxRetries+1")
	lag, inflight := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag, "dead-lettering acks the original")
	require.Zero(t, inflight)

	dlqTopic, err := e.b.GetTopic(broker.DLQTopic("g"))
	require.NoError(t, err)
	require.Equal(t, broker.Topic{Name: "%DLQ%g", Type: broker.TopicNormal, Queues: 1, CreatedAt: dlqTopic.CreatedAt, UpdatedAt: dlqTopic.UpdatedAt}, dlqTopic)

	dead := e.recv(recvReq("dlq-reader", "%DLQ%g", 10))
	require.Len(t, dead, 1)
	m := dead[0].Message
	require.Equal(t, "%DLQ%g", m.Topic)
	require.Equal(t, "m-0", m.MessageID)
	require.Equal(t, "t", m.OriginTopic)
	require.Equal(t, "m-0", m.OriginMessageID)
	require.Equal(t, int32(3), m.DeliveryAttempt)
	require.Equal(t, "tg", m.Tag)
	require.Equal(t, []string{"k"}, m.Keys)
	require.Equal(t, map[string]string{"p": "v"}, m.Properties)
	require.Equal(t, []byte("body-m-0"), m.Body)

	// The broker made the topic; users still cannot.
	_, err = e.b.CreateTopic(context.Background(), broker.Topic{Name: "%DLQ%other", Type: broker.TopicNormal, Queues: 1})
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
}

func TestNoRetriesDeadLettersAfterOneDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", broker.NoRetries)
	e.send("t", "m", 1, nil)
	require.Len(t, e.recv(recvReq("g", "t", 1)), 1)
	e.clk.Advance(time.Minute)
	require.Empty(t, e.recv(recvReq("g", "t", 1)))
	offs, err := e.b.Offsets("g", "%DLQ%g")
	require.NoError(t, err)
	require.Equal(t, int64(1), offs[0].MaxOffset)
}

func TestForwardToDLQIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 2, nil)
	ctx := context.Background()
	ds := e.recv(recvReq("g", "t", 2))
	require.Len(t, ds, 2)

	require.NoError(t, e.b.ForwardToDLQ(ctx, "g", "t", "m-0", ds[0].ReceiptHandle))
	require.NoError(t, e.b.ForwardToDLQ(ctx, "g", "t", "m-0", ds[0].ReceiptHandle), "again: already forwarded")
	require.ErrorIs(t, e.b.Ack(ctx, "g", "t", "m-0", ds[0].ReceiptHandle), broker.ErrInvalidHandle)
	e.ackAll("g", ds[1:])
	require.NoError(t, e.b.ForwardToDLQ(ctx, "g", "t", "m-1", ds[1].ReceiptHandle), "already acked")

	offs, err := e.b.Offsets("g", broker.DLQTopic("g"))
	require.NoError(t, err)
	require.Equal(t, int64(1), offs[0].MaxOffset, "exactly one copy, the acked message was not forwarded")
	lag, _ := sumLag(t, e.b, "g", "t")
	require.Zero(t, lag)

	e.group("r", 0)
	dead := e.recv(recvReq("r", broker.DLQTopic("g"), 10))
	require.Len(t, dead, 1)
	require.Equal(t, int32(1), dead[0].Message.DeliveryAttempt)
	require.Equal(t, "t", dead[0].Message.OriginTopic)
}

func TestReceiveValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 2)
	e.group("g", 0)
	ok := recvReq("g", "t", 1)
	cases := []struct {
		name string
		mod  func(r *broker.ReceiveRequest)
		want error
	}{
		{"unknown group", func(r *broker.ReceiveRequest) { r.Group = "nope" }, broker.ErrGroupNotFound},
		{"unknown topic", func(r *broker.ReceiveRequest) { r.Topic = "nope" }, broker.ErrTopicNotFound},
		{"queue too high", func(r *broker.ReceiveRequest) { r.QueueID = 2 }, broker.ErrInvalidArgument},
		{"queue too low", func(r *broker.ReceiveRequest) { r.QueueID = -2 }, broker.ErrInvalidArgument},
		{"zero messages", func(r *broker.ReceiveRequest) { r.MaxMessages = 0 }, broker.ErrInvalidArgument},
		{"short invisible", func(r *broker.ReceiveRequest) { r.InvisibleDuration = 500 * time.Millisecond }, broker.ErrInvalidArgument},
		{"auto renew without client", func(r *broker.ReceiveRequest) { r.AutoRenew, r.ClientID = true, "" }, broker.ErrInvalidArgument},
		{"bad tag filter", func(r *broker.ReceiveRequest) { r.FilterType, r.Filter = broker.FilterTag, "||" }, broker.ErrBadFilter},
		{"bad sql filter", func(r *broker.ReceiveRequest) { r.FilterType, r.Filter = broker.FilterSQL, "a = " }, broker.ErrBadFilter},
		{"bad filter type", func(r *broker.ReceiveRequest) { r.FilterType, r.Filter = "REGEX", "a" }, broker.ErrBadFilter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := ok
			c.mod(&r)
			_, err := e.b.Receive(context.Background(), r)
			require.ErrorIs(t, err, c.want)
		})
	}
	r := ok
	r.AutoRenew, r.InvisibleDuration = true, 0
	_, err := e.b.Receive(context.Background(), r)
	require.NoError(t, err, "auto-renew needs no invisible duration")
}

func TestFilters(t *testing.T) {
	t.Parallel()
	type sent struct {
		tag   string
		props map[string]string
	}
	msgs := []sent{
		{"a", map[string]string{"n": "1", "region": "eu"}},
		{"b", map[string]string{"n": "5", "region": "us"}},
		{"", map[string]string{"n": "9"}},
		{"c", nil},
	}
	cases := []struct {
		name string
		typ  broker.FilterType
		expr string
		want []string
	}{
		{"all", broker.FilterTag, "*", []string{"m-0", "m-1", "m-2", "m-3"}},
		{"empty is all", "", "", []string{"m-0", "m-1", "m-2", "m-3"}},
		{"one tag", broker.FilterTag, "a", []string{"m-0"}},
		{"two tags", broker.FilterTag, "a || c", []string{"m-0", "m-3"}},
		{"sql numeric", broker.FilterSQL, "n > 2", []string{"m-1", "m-2"}},
		{"sql between and string", broker.FilterSQL, "n BETWEEN 1 AND 5 AND region = 'eu'", []string{"m-0"}},
		{"sql tags", broker.FilterSQL, "TAGS IN ('b', 'c')", []string{"m-1", "m-3"}},
		{"sql missing property", broker.FilterSQL, "region <> 'eu'", []string{"m-1"}},
		{"sql is null", broker.FilterSQL, "region IS NULL", []string{"m-2", "m-3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.topic("t", broker.TopicNormal, 2)
			e.group("g", 0)
			e.send("t", "m", len(msgs), func(i int, m *store.Message) { m.Tag, m.Properties = msgs[i].tag, msgs[i].props })
			req := recvReq("g", "t", 32)
			req.FilterType, req.Filter = c.typ, c.expr
			ds := e.recv(req)
			got := ids(ds)
			sort.Strings(got)
			require.Equal(t, c.want, got)
			// Non-matching messages were consumed silently: once the matches
			// are acked the group has no lag and nothing comes back.
			e.ackAll("g", ds)
			lag, inflight := sumLag(t, e.b, "g", "t")
			require.Zero(t, lag)
			require.Zero(t, inflight)
			e.clk.Advance(time.Hour)
			require.Empty(t, e.recv(recvReq("g", "t", 32)))
		})
	}
}

func TestAutoRenewAndClientGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 2, nil)
	ctx := context.Background()

	req := recvReq("g", "t", 1)
	req.AutoRenew, req.InvisibleDuration, req.ClientID = true, 0, "push-1"
	held := e.recv(req)
	require.Len(t, held, 1)
	require.Equal(t, e.clk.Now().Add(60*time.Second), held[0].InvisibleUntil, "DefaultInvisible")
	other := e.recv(req)
	require.Len(t, other, 1)

	// Renewed while the client lives: far past 60 s nothing comes back and
	// the original handle still acks.
	e.clk.Advance(2 * time.Hour)
	require.Empty(t, e.recv(recvReq("g", "t", 1)))
	require.NoError(t, e.b.Ack(ctx, "g", "t", "", held[0].ReceiptHandle))

	// The client leaves: its other message is visible again after ~1 s.
	e.b.ClientGone("someone-else")
	e.b.ClientGone("push-1")
	require.Empty(t, e.recv(recvReq("g", "t", 1)))
	e.clk.Advance(time.Second)
	back := e.recv(recvReq("g", "t", 1))
	require.Len(t, back, 1)
	require.Equal(t, other[0].Message.MessageID, back[0].Message.MessageID)
	require.Equal(t, int32(2), back[0].Attempt)
}

func TestAutoRenewHoldLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	req := recvReq("g", "t", 1)
	req.AutoRenew, req.ClientID = true, "push-1"
	require.Len(t, e.recv(req), 1)
	e.clk.Advance(3 * time.Hour)
	back := e.recv(recvReq("g", "t", 1))
	require.Len(t, back, 1, "redelivered after MaxAutoRenewHold")
	require.Equal(t, int32(2), back[0].Attempt)
}

func TestDeleteTopicDropsState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 3, nil)
	ds := e.recv(recvReq("g", "t", 1))
	require.NoError(t, e.b.DeleteTopic(context.Background(), "t"))
	e.topic("t", broker.TopicNormal, 1)
	require.ErrorIs(t, e.b.Ack(context.Background(), "g", "t", "", ds[0].ReceiptHandle), broker.ErrInvalidHandle)
	require.Empty(t, e.recv(recvReq("g", "t", 10)), "the recreated topic starts empty")
	e.send("t", "n", 1, nil)
	got := e.recv(recvReq("g", "t", 10))
	require.Equal(t, []string{"n-0"}, ids(got))
}

// A selective filter over a backlog longer than one pop scans (1024 per
// queue) still finds the match, without long polling.
func TestFilterSkipsLongBacklog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "skip", 3000, nil)
	e.send("t", "keep", 1, func(_ int, m *store.Message) { m.Tag = "x" })
	req := recvReq("g", "t", 10)
	req.Filter = "x"
	require.Equal(t, []string{"keep-0"}, ids(e.recv(req)))
	offs, err := e.b.Offsets("g", "t")
	require.NoError(t, err)
	require.Equal(t, int64(3000), offs[0].ConsumerOffset, "skipped messages count as consumed")
}
