package broker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestSendErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *broker.Config) { c.MaxBodyBytes = 16 })
	e.topic("normal", broker.TopicNormal, 2)
	e.topic("fifo", broker.TopicFIFO, 2)
	e.topic("delay", broker.TopicDelay, 1)
	cases := []struct {
		name string
		msgs func() []*store.Message
		want []error
	}{
		{"no messages", func() []*store.Message { return nil }, []error{broker.ErrInvalidArgument}},
		{"nil message", func() []*store.Message { return []*store.Message{nil} }, []error{broker.ErrInvalidArgument}},
		{"unknown topic", func() []*store.Message { return []*store.Message{msg("nope", "a")} }, []error{broker.ErrTopicNotFound}},
		{"mixed topics", func() []*store.Message { return []*store.Message{msg("normal", "a"), msg("fifo", "b")} }, []error{broker.ErrInvalidArgument}},
		{"empty body", func() []*store.Message {
			m := msg("normal", "a")
			m.Body = nil
			return []*store.Message{m}
		}, []error{broker.ErrInvalidArgument, broker.ErrBodyEmpty}},
		{"body too large", func() []*store.Message {
			m := msg("normal", "a")
			m.Body = []byte(strings.Repeat("x", 17))
			return []*store.Message{m}
		}, []error{broker.ErrInvalidArgument, broker.ErrBodyTooLarge}},
		{"no message id", func() []*store.Message { return []*store.Message{msg("normal", "")} }, []error{broker.ErrInvalidArgument}},
		{"normal to fifo topic", func() []*store.Message { return []*store.Message{msg("fifo", "a")} }, []error{broker.ErrTypeMismatch}},
		{"unspecified type", func() []*store.Message {
			m := msg("normal", "a")
			m.Type = 0
			return []*store.Message{m}
		}, []error{broker.ErrTypeMismatch}},
		{"delay to normal topic", func() []*store.Message {
			m := msg("normal", "a")
			m.Type = store.TypeDelay
			return []*store.Message{m}
		}, []error{broker.ErrTypeMismatch}},
		{"fifo without group", func() []*store.Message {
			m := msg("fifo", "a")
			m.Type = store.TypeFIFO
			return []*store.Message{m}
		}, []error{broker.ErrInvalidArgument}},
		{"to a DLQ topic", func() []*store.Message { return []*store.Message{msg("%DLQ%g", "a")} }, []error{broker.ErrInvalidArgument}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.b.Send(context.Background(), c.msgs())
			require.Nil(t, res)
			for _, w := range c.want {
				require.ErrorIs(t, err, w)
			}
		})
	}
	// A delay message already due on a delay topic is delivered at once; one
	// due later is scheduled (timer_test.go) and a transaction message is
	// held as a half message (txn_test.go).
	m := msg("delay", "d")
	m.Type = store.TypeDelay
	m.DeliveryTime = e.clk.Now().Add(-time.Second)
	res, err := e.b.Send(context.Background(), []*store.Message{m})
	require.NoError(t, err)
	require.Empty(t, res[0].RecallHandle)
	later := msg("delay", "later")
	later.Type = store.TypeDelay
	later.DeliveryTime = e.clk.Now().Add(time.Hour)
	res, err = e.b.Send(context.Background(), []*store.Message{later})
	require.NoError(t, err)
	require.NotEmpty(t, res[0].RecallHandle)
	e.topic("txn", broker.TopicTransaction, 1)
	half := msg("txn", "half")
	half.Type = store.TypeTransaction
	res, err = e.b.Send(context.Background(), []*store.Message{half})
	require.NoError(t, err)
	require.NotEmpty(t, res[0].TransactionID)
}

func TestSendQueueSelection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("rr", broker.TopicNormal, 4)
	e.topic("fifo", broker.TopicFIFO, 8)

	res := e.send("rr", "m", 8, nil)
	perQueue := map[int32][]int64{}
	for _, r := range res {
		perQueue[r.QueueID] = append(perQueue[r.QueueID], r.QueueOffset)
	}
	require.Len(t, perQueue, 4, "round robin touches every queue")
	for q, offs := range perQueue {
		require.Equal(t, []int64{0, 1}, offs, "queue %d", q)
	}

	// FIFO: every message of a group lands in one queue, in send order.
	groupQueue := map[string]int32{}
	for i := range 40 {
		g := fmt.Sprintf("order-%d", i%5)
		m := msg("fifo", fmt.Sprintf("f-%d", i))
		m.Type, m.Group = store.TypeFIFO, g
		r, err := e.b.Send(context.Background(), []*store.Message{m})
		require.NoError(t, err)
		if q, ok := groupQueue[g]; ok {
			require.Equal(t, q, r[0].QueueID, "group %s moved queues", g)
		}
		groupQueue[g] = r[0].QueueID
	}
	// The hash is stable across restarts: same group, same queue.
	e.reopen()
	m := msg("fifo", "again")
	m.Type, m.Group = store.TypeFIFO, "order-3"
	r, err := e.b.Send(context.Background(), []*store.Message{m})
	require.NoError(t, err)
	require.Equal(t, groupQueue["order-3"], r[0].QueueID)
}
