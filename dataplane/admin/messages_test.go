package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/trace"
)

const storeHost = "10.1.2.3:8081"

// onFileStore runs the node on a small file store, advertising storeHost.
func onFileStore(o *nodeOptions) {
	o.storeHost = storeHost
	o.store = func(t *testing.T) store.Store {
		st, err := filestore.Open(filestore.Config{
			Dir: t.TempDir(), Flush: store.FlushAsync, SegmentBytes: 8 << 20,
			QueueFileEntries: 1 << 10, IndexSlots: 1 << 10, IndexEntries: 1 << 14, NoPretouch: true,
		})
		require.NoError(t, err)
		return st
	}
}

// sendMessages stores count messages with ids prefix-i, keys, a tag and
// properties; big gives message 0 a body above the preview size.
func sendMessages(t *testing.T, n *node, topic, prefix string, count int, big bool) []broker.SendResult {
	t.Helper()
	msgs := make([]*store.Message, count)
	for i := range msgs {
		msgs[i] = &store.Message{
			Topic: topic, MessageID: fmt.Sprintf("%s-%d", prefix, i), Type: store.TypeNormal,
			Tag: "TagA", Keys: []string{"order-" + fmt.Sprint(i), "all"}, Properties: map[string]string{"region": "eu"},
			Body: []byte(fmt.Sprint("body ", i)), BornTime: time.Now().Add(-time.Second), BornHost: "10.0.0.9:1234",
		}
	}
	if big {
		msgs[0].Body = bytes.Repeat([]byte("b"), 3000)
	}
	res, err := n.broker.Send(t.Context(), msgs)
	require.NoError(t, err)
	return res
}

func TestQueryMessages(t *testing.T) {
	n := startNode(t, onFileStore)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders", QueueCount: 2})
	require.NoError(t, err)
	_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	require.NoError(t, err)
	before := time.Now().Add(-time.Minute)
	res := sendMessages(t, n, "orders", "m", 10, true)
	after := time.Now().Add(time.Minute)

	// billing takes one message and acks it.
	ds, err := n.broker.Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: 1, MaxMessages: 1, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, n.broker.Ack(ctx, "billing", "orders", ds[0].Message.MessageID, ds[0].ReceiptHandle))
	acked := ds[0].Message.MessageID

	byID, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-3"})
	require.NoError(t, err)
	require.Len(t, byID.GetMessages(), 1)
	require.Empty(t, byID.GetNextPageToken())
	m := byID.GetMessages()[0]
	require.Equal(t, "m-3", m.GetMessageId())
	require.Equal(t, "orders", m.GetTopic())
	require.Equal(t, adminpb.MessageType_MESSAGE_TYPE_NORMAL, m.GetType())
	require.Equal(t, adminpb.MessageState_MESSAGE_STATE_STORED, m.GetState())
	require.Equal(t, "TagA", m.GetTag())
	require.Equal(t, []string{"order-3", "all"}, m.GetKeys())
	require.Equal(t, map[string]string{"region": "eu"}, m.GetProperties())
	require.Equal(t, []byte("body 3"), m.GetBody())
	require.False(t, m.GetBodyTruncated())
	require.EqualValues(t, 6, m.GetBodySize())
	require.Equal(t, "10.0.0.9:1234", m.GetBornHost())
	require.WithinDuration(t, time.Now(), m.GetBornTime().AsTime(), time.Minute)
	require.WithinDuration(t, time.Now(), m.GetStoreTime().AsTime(), time.Minute)
	require.Equal(t, storeHost, m.GetStoreHost())
	require.Equal(t, res[3].QueueID, m.GetQueueId())
	require.Equal(t, res[3].QueueOffset, m.GetQueueOffset())
	require.Len(t, m.GetDeliveries(), 1)
	require.Equal(t, "billing", m.GetDeliveries()[0].GetGroup())

	// The acked message shows it.
	got, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: "orders", MessageId: acked})
	require.NoError(t, err)
	require.Equal(t, adminpb.DeliveryState_DELIVERY_STATE_ACKED, got.GetDeliveries()[0].GetState())

	// Bodies: a preview in lists unless asked for whole ones; whole from GetMessage.
	big, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-0"})
	require.NoError(t, err)
	require.Len(t, big.GetMessages()[0].GetBody(), admin.BodyPreviewBytes)
	require.True(t, big.GetMessages()[0].GetBodyTruncated())
	require.EqualValues(t, 3000, big.GetMessages()[0].GetBodySize())
	big, err = c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-0", FullBody: true})
	require.NoError(t, err)
	require.Len(t, big.GetMessages()[0].GetBody(), 3000)
	require.False(t, big.GetMessages()[0].GetBodyTruncated())
	whole, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: "orders", MessageId: "m-0"})
	require.NoError(t, err)
	require.Len(t, whole.GetBody(), 3000)

	// By key, in pages.
	all, err := c.QueryAllMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", Key: "all", PageSize: 3}, 0)
	require.NoError(t, err)
	require.Len(t, all, 10)
	require.Equal(t, "m-9", all[0].GetMessageId(), "newest first")
	page, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", Key: "all", PageSize: 3})
	require.NoError(t, err)
	require.Len(t, page.GetMessages(), 3)
	require.NotEmpty(t, page.GetNextPageToken())
	one, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", Key: "order-7"})
	require.NoError(t, err)
	require.Len(t, one.GetMessages(), 1)
	require.Equal(t, "m-7", one.GetMessages()[0].GetMessageId())

	// By time.
	inRange, err := c.QueryAllMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders",
		StartTime: timestamppb.New(before), EndTime: timestamppb.New(after), PageSize: 4}, 0)
	require.NoError(t, err)
	require.Len(t, inRange, 10)
	empty, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders",
		StartTime: timestamppb.New(after), EndTime: timestamppb.New(after.Add(time.Hour))})
	require.NoError(t, err)
	require.Empty(t, empty.GetMessages())
}

func TestQueryMessagesErrors(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders", QueueCount: 1})
	require.NoError(t, err)
	sendMessages(t, n, "orders", "m", 3, false)
	now := time.Now()
	paged, err := c.QueryMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "orders", Key: "all", PageSize: 1})
	require.NoError(t, err)
	require.NotEmpty(t, paged.GetNextPageToken())

	query := func(req *adminpb.QueryMessagesRequest) func() error {
		return func() error {
			_, err := c.QueryMessages(ctx, req)
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
		want string
	}{
		{"no topic", query(&adminpb.QueryMessagesRequest{MessageId: "m-0"}), codes.InvalidArgument, "topic is required"},
		{"no selector", query(&adminpb.QueryMessagesRequest{Topic: "orders"}), codes.InvalidArgument, "exactly one of"},
		{"id and key", query(&adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-0", Key: "all"}), codes.InvalidArgument, "exactly one of"},
		{"start without end", query(&adminpb.QueryMessagesRequest{Topic: "orders", StartTime: timestamppb.New(now)}), codes.InvalidArgument, "both a start and an end"},
		{"end before start", query(&adminpb.QueryMessagesRequest{Topic: "orders", StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))}), codes.InvalidArgument, "is before start"},
		{"bad timestamp", query(&adminpb.QueryMessagesRequest{Topic: "orders", StartTime: &timestamppb.Timestamp{Nanos: -1}, EndTime: timestamppb.New(now)}), codes.InvalidArgument, "start_time"},
		{"page too big", query(&adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-0", PageSize: 101}), codes.InvalidArgument, "page_size 101"},
		{"negative page", query(&adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m-0", PageSize: -1}), codes.InvalidArgument, "page_size -1"},
		{"garbage token", query(&adminpb.QueryMessagesRequest{Topic: "orders", Key: "all", PageToken: "???"}), codes.InvalidArgument, "invalid cursor"},
		{"token of another query", query(&adminpb.QueryMessagesRequest{Topic: "orders", Key: "order-1", PageToken: paged.GetNextPageToken()}), codes.InvalidArgument, "invalid cursor"},
		{"unknown topic", query(&adminpb.QueryMessagesRequest{Topic: "nope", MessageId: "m-0"}), codes.NotFound, `topic "nope" not found`},
		{"get: no id", func() error {
			_, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: "orders"})
			return err
		}, codes.InvalidArgument, "message_id is required"},
		{"get: no topic", func() error {
			_, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{MessageId: "m-0"})
			return err
		}, codes.InvalidArgument, "topic is required"},
		{"get: unknown id", func() error {
			_, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: "orders", MessageId: "nope"})
			return err
		}, codes.NotFound, `message "nope" not found in topic "orders"`},
		{"get: unknown topic", func() error {
			_, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: "nope", MessageId: "m-0"})
			return err
		}, codes.NotFound, `topic "nope" not found`},
		{"trace: unknown id", func() error {
			_, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: "orders", MessageId: "nope"})
			return err
		}, codes.NotFound, `message "nope" not found in topic "orders", and no trace of it`},
		{"trace: no id", func() error {
			_, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: "orders"})
			return err
		}, codes.InvalidArgument, "message_id is required"},
		{"trace: unknown topic", func() error {
			_, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: "nope", MessageId: "m-0"})
			return err
		}, codes.NotFound, `topic "nope" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.call(), tc.code, tc.want)
		})
	}
}

// tracedNode is a node on a file store whose broker records traces with a
// trace.Writer. The writer's FlushInterval is long: tests Close it to
// flush, then read.
func tracedNode(t *testing.T) (*node, *trace.Writer) {
	t.Helper()
	var w *trace.Writer
	n := startNode(t, onFileStore, func(o *nodeOptions) {
		o.broker = func(c *broker.Config) {
			var err error
			w, err = trace.NewWriter(trace.Config{Store: c.Store, FlushInterval: time.Hour})
			require.NoError(t, err)
			c.Tracer = w
		}
	})
	return n, w
}

func TestGetTrace(t *testing.T) {
	n, w := tracedNode(t)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders", QueueCount: 1})
	require.NoError(t, err)
	_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	require.NoError(t, err)
	sendMessages(t, n, "orders", "m", 1, false)
	ds, err := n.broker.Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	require.NoError(t, n.broker.Ack(ctx, "billing", "orders", "m-0", ds[0].ReceiptHandle))

	// Events of a group that never received through this broker, and of a
	// message that is not stored, recorded directly: the view must not
	// depend on which events the broker itself records.
	at := time.Now().Add(time.Hour)
	for _, ev := range []trace.Event{
		{Kind: trace.KindSend, Time: at, ClientID: "manual-producer", Host: "10.9.9.9:1", Cost: time.Millisecond},
		{Kind: trace.KindDeliver, Time: at.Add(time.Second), Group: "audit", ClientID: "audit-1", Attempt: 1, InvisibleUntil: at.Add(31 * time.Second)},
		{Kind: trace.KindTimeout, Time: at.Add(31 * time.Second), Group: "audit", Attempt: 1},
		{Kind: trace.KindDeliver, Time: at.Add(31 * time.Second), Group: "audit", ClientID: "audit-2", Attempt: 2, InvisibleUntil: at.Add(61 * time.Second)},
		{Kind: trace.KindAck, Time: at.Add(40 * time.Second), Group: "audit", ClientID: "audit-2", Attempt: 2},
	} {
		ev.MessageID, ev.Topic = "m-0", "orders"
		w.Record(ev)
	}
	w.Record(trace.Event{Kind: trace.KindSend, Time: at, MessageID: "ghost", Topic: "orders", Status: "refused"})
	require.NoError(t, w.Close()) // flush

	tr, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: "orders", MessageId: "m-0"})
	require.NoError(t, err)
	require.Equal(t, "orders", tr.GetTopic())
	require.Equal(t, "m-0", tr.GetMessageId())
	require.Equal(t, "m-0", tr.GetMessage().GetMessageId())
	require.Equal(t, storeHost, tr.GetMessage().GetStoreHost())

	var manual *adminpb.ProduceRecord
	for _, r := range tr.GetProducer().GetRecords() {
		if r.GetClientId() == "manual-producer" {
			manual = r
		}
	}
	require.NotNil(t, manual, "producer records: %v", tr.GetProducer())
	require.Equal(t, "SUCCESS", manual.GetStatus())
	require.Equal(t, time.Millisecond, manual.GetCost().AsDuration())

	groups := map[string]*adminpb.ConsumerInfo{}
	for _, ci := range tr.GetConsumers() {
		groups[ci.GetGroup()] = ci
	}
	require.Contains(t, groups, "billing", "the broker's state lists the group")
	require.Equal(t, adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS, groups["billing"].GetStatus())
	audit := groups["audit"]
	require.NotNil(t, audit)
	require.Equal(t, adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS, audit.GetStatus())
	require.Len(t, audit.GetRecords(), 2)
	require.Equal(t, "RETRY", audit.GetRecords()[0].GetStatus())
	require.Equal(t, "audit-2", audit.GetRecords()[1].GetClientId())
	require.Equal(t, "SUCCESS", audit.GetRecords()[1].GetStatus())
	require.GreaterOrEqual(t, len(tr.GetEvents()), 5)
	for i := 1; i < len(tr.GetEvents()); i++ {
		require.False(t, tr.GetEvents()[i].GetTime().AsTime().Before(tr.GetEvents()[i-1].GetTime().AsTime()), "oldest first")
	}

	// A message that was never stored still has its trace.
	ghost, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: "orders", MessageId: "ghost"})
	require.NoError(t, err)
	require.Nil(t, ghost.GetMessage())
	require.Len(t, ghost.GetProducer().GetRecords(), 1)
	require.Equal(t, "FAILED", ghost.GetProducer().GetRecords()[0].GetStatus())
	require.Equal(t, "refused", ghost.GetProducer().GetRecords()[0].GetError())
}

// TestMessageCallsOnClosedNode: a closed broker answers UNAVAILABLE.
func TestMessageCallsOnClosedNode(t *testing.T) {
	n := startNode(t)
	require.NoError(t, n.broker.Close())
	_, err := n.client.QueryMessages(context.Background(), &adminpb.QueryMessagesRequest{Topic: "orders", MessageId: "m"})
	requireCode(t, err, codes.Unavailable, "shutting down")
	_, err = n.client.GetTrace(context.Background(), &adminpb.GetTraceRequest{Topic: "orders", MessageId: "m"})
	requireCode(t, err, codes.Unavailable, "shutting down")
}
