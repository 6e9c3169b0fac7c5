package broker_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestResendDeadLetter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.topic("orders", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("orders", "m", 1, func(_ int, m *store.Message) {
		m.Tag, m.Keys, m.Properties = "tagA", []string{"k1"}, map[string]string{"p": "v"}
	})
	d := e.recv(recvReq("g", "orders", 1))[0]
	require.NoError(t, e.b.ForwardToDLQ(ctx, "g", "orders", "m-0", d.ReceiptHandle))
	lag, _ := sumLag(t, e.b, "g", "orders")
	require.Zero(t, lag, "dead-lettered counts as consumed")

	topic, err := e.b.ResendDeadLetter(ctx, "g", "m-0")
	require.NoError(t, err)
	require.Equal(t, "orders", topic)
	ds := e.recv(recvReq("g", "orders", 1))
	require.Len(t, ds, 1, "the group receives the fresh copy")
	m := ds[0].Message
	require.Equal(t, "m-0", m.MessageID)
	require.Equal(t, "tagA", m.Tag)
	require.Equal(t, []string{"k1"}, m.Keys)
	require.Equal(t, "v", m.Properties["p"])
	require.Equal(t, []byte("body-m-0"), m.Body)
	r := e.st.Range(broker.DLQTopic("g"), 0)
	require.EqualValues(t, 1, r.Max-r.Min, "the dead-letter copy stays")

	_, err = e.b.ResendDeadLetter(ctx, "g", "nope")
	require.ErrorIs(t, err, broker.ErrDeadLetterNotFound)
	_, err = e.b.ResendDeadLetter(ctx, "other", "m-0")
	require.ErrorIs(t, err, broker.ErrDeadLetterNotFound, "only the group's own dead letters")
	_, err = e.b.ResendDeadLetter(ctx, "g", "")
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
}

func TestPreviewResetChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.topic("orders", broker.TopicNormal, 2)
	e.group("g", 3)
	e.send("orders", "m", 6, func(i int, m *store.Message) { m.QueueID = int32(i % 2) })
	require.NoError(t, e.b.ResetOffset(ctx, "g", "orders", broker.ResetTarget{Latest: true}))
	before, err := e.b.Offsets("g", "orders")
	require.NoError(t, err)

	p, err := e.b.PreviewReset(ctx, "g", "orders", broker.ResetTarget{Earliest: true})
	require.NoError(t, err)
	require.Len(t, p, 2)
	for i, q := range p {
		require.EqualValues(t, i, q.QueueID)
		require.EqualValues(t, 0, q.NewOffset)
		require.Equal(t, before[i].ConsumerOffset, q.CurrentOffset)
	}
	after, err := e.b.Offsets("g", "orders")
	require.NoError(t, err)
	require.Equal(t, before, after)

	_, err = e.b.PreviewReset(ctx, "g", "orders", broker.ResetTarget{})
	require.ErrorIs(t, err, broker.ErrInvalidArgument)
	_, err = e.b.PreviewReset(ctx, "g", "nope", broker.ResetTarget{Latest: true})
	require.ErrorIs(t, err, broker.ErrTopicNotFound)

	rs, err := e.b.TopicRanges("orders")
	require.NoError(t, err)
	require.Len(t, rs, 2)
	var n int64
	for _, r := range rs {
		n += r.Max - r.Min
	}
	require.EqualValues(t, 6, n)
}
