package proxy_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

func createTopic(t testing.TB, b *broker.Broker, name string, typ broker.TopicType, queues int32) {
	t.Helper()
	_, err := b.CreateTopic(context.Background(), broker.Topic{Name: name, Type: typ, Queues: queues})
	require.NoError(t, err)
}

func createGroup(t testing.TB, b *broker.Broker, g broker.Group) {
	t.Helper()
	_, err := b.CreateGroup(context.Background(), g)
	require.NoError(t, err)
}

func ptr[T any](v T) *T { return &v }

func normalMessage(topic, id, body string) *v2.Message {
	return &v2.Message{
		Topic:          &v2.Resource{Name: topic},
		Body:           []byte(body),
		UserProperties: map[string]string{"color": "blue"},
		SystemProperties: &v2.SystemProperties{
			MessageId:     id,
			Tag:           ptr("tagA"),
			Keys:          []string{"k1", "k2"},
			BornHost:      "producer-1",
			BornTimestamp: timestamppb.Now(),
			MessageType:   v2.MessageType_NORMAL,
		},
	}
}

func send(t testing.TB, c v2.MessagingServiceClient, m *v2.Message) *v2.SendMessageResponse {
	t.Helper()
	resp, err := c.SendMessage(asClient(testContext(t, 10*time.Second), "producer-1"), &v2.SendMessageRequest{Messages: []*v2.Message{m}})
	require.NoError(t, err)
	require.Len(t, resp.GetEntries(), 1, "one entry per message, always")
	require.NotNil(t, resp.GetEntries()[0].GetStatus(), "every entry carries a status")
	return resp
}

// receiveAll runs one ReceiveMessage and returns every stream item.
func receiveAll(t testing.TB, c v2.MessagingServiceClient, ctx context.Context, req *v2.ReceiveMessageRequest) []*v2.ReceiveMessageResponse {
	t.Helper()
	stream, err := c.ReceiveMessage(ctx, req)
	require.NoError(t, err)
	var out []*v2.ReceiveMessageResponse
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, "the server answers before the client deadline")
		out = append(out, r)
	}
}

func receiveRequest(group, topic string) *v2.ReceiveMessageRequest {
	return &v2.ReceiveMessageRequest{
		Group:             &v2.Resource{Name: group},
		MessageQueue:      &v2.MessageQueue{Topic: &v2.Resource{Name: topic}, Id: 0},
		FilterExpression:  &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "*"},
		BatchSize:         16,
		InvisibleDuration: durationpb.New(20 * time.Second),
	}
}

func TestReceiveStreamOrder(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "orders", broker.TopicNormal, 4)
	createGroup(t, b, broker.Group{Name: "g"})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)

	for _, id := range []string{"01A", "01B", "01C"} {
		resp := send(t, c, normalMessage("orders", id, "body-"+id))
		require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
		require.Equal(t, id, resp.GetEntries()[0].GetMessageId(), "the client's message id is echoed")
	}

	// Messages: {status OK}, each message, {delivery_timestamp}.
	items := receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-1"), receiveRequest("g", "orders"))
	require.GreaterOrEqual(t, len(items), 3)
	require.Equal(t, v2.Code_OK, items[0].GetStatus().GetCode())
	require.NotNil(t, items[len(items)-1].GetDeliveryTimestamp())
	msgs := items[1 : len(items)-1]
	for _, it := range msgs {
		m := it.GetMessage()
		require.NotNil(t, m)
		sp := m.GetSystemProperties()
		sum := md5.Sum(m.GetBody())
		require.Equal(t, "orders", m.GetTopic().GetName())
		require.Equal(t, "body-"+sp.GetMessageId(), string(m.GetBody()))
		require.Equal(t, strings.ToUpper(hex.EncodeToString(sum[:])), sp.GetBodyDigest().GetChecksum())
		require.Equal(t, v2.DigestType_MD5, sp.GetBodyDigest().GetType())
		require.Equal(t, int32(1), sp.GetDeliveryAttempt())
		require.NotEmpty(t, sp.GetReceiptHandle())
		require.NotNil(t, sp.QueueOffset)
		require.Equal(t, "tagA", sp.GetTag())
		require.Equal(t, []string{"k1", "k2"}, sp.GetKeys())
		require.Equal(t, map[string]string{"color": "blue"}, m.GetUserProperties())
		require.Equal(t, "producer-1", sp.GetBornHost())
		require.NotNil(t, sp.GetBornTimestamp())
		require.NotNil(t, sp.GetStoreTimestamp())
		require.NotEmpty(t, sp.GetStoreHost())
		require.Equal(t, v2.MessageType_NORMAL, sp.GetMessageType())
	}
	if len(msgs) < 3 {
		// A receive may return part of what is ready; the rest follows.
		more := receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-1"), receiveRequest("g", "orders"))
		require.Equal(t, 3, len(msgs)+len(more)-2)
	}

	// Nothing left: {status MESSAGE_NOT_FOUND}, {delivery_timestamp}, and
	// answered before the deadline although the request names no
	// long_polling_timeout (a Go simple consumer with a 2 s deadline).
	items = receiveAll(t, c, asClient(testContext(t, 2*time.Second), "consumer-1"), receiveRequest("g", "orders"))
	require.Len(t, items, 2)
	require.Equal(t, v2.Code_MESSAGE_NOT_FOUND, items[0].GetStatus().GetCode())
	require.NotNil(t, items[1].GetDeliveryTimestamp())
}

func TestReceiveErrorsAreStatuses(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, true)

	cases := []struct {
		name string
		id   string
		mut  func(r *v2.ReceiveMessageRequest)
		code v2.Code
	}{
		{"no client id", "", nil, v2.Code_CLIENT_ID_REQUIRED},
		{"unknown group", "c", func(r *v2.ReceiveMessageRequest) { r.Group.Name = "nope" }, v2.Code_CONSUMER_GROUP_NOT_FOUND},
		{"unknown topic", "c", func(r *v2.ReceiveMessageRequest) { r.MessageQueue.Topic.Name = "nope" }, v2.Code_TOPIC_NOT_FOUND},
		{"bad group name", "c", func(r *v2.ReceiveMessageRequest) { r.Group.Name = "a b" }, v2.Code_ILLEGAL_CONSUMER_GROUP},
		{"short invisible", "c", func(r *v2.ReceiveMessageRequest) { r.InvisibleDuration = durationpb.New(time.Second) }, v2.Code_ILLEGAL_INVISIBLE_TIME},
		{"long invisible", "c", func(r *v2.ReceiveMessageRequest) { r.InvisibleDuration = durationpb.New(13 * time.Hour) }, v2.Code_ILLEGAL_INVISIBLE_TIME},
		{"bad sql", "c", func(r *v2.ReceiveMessageRequest) {
			r.FilterExpression = &v2.FilterExpression{Type: v2.FilterType_SQL, Expression: "a >"}
		}, v2.Code_ILLEGAL_FILTER_EXPRESSION},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := receiveRequest("g", "t")
			if tc.mut != nil {
				tc.mut(req)
			}
			ctx := testContext(t, 5*time.Second)
			if tc.id != "" {
				ctx = asClient(ctx, tc.id)
			}
			items := receiveAll(t, c, ctx, req)
			require.Len(t, items, 2)
			require.Equal(t, tc.code, items[0].GetStatus().GetCode(), items[0].GetStatus().GetMessage())
			require.NotNil(t, items[1].GetDeliveryTimestamp())
		})
	}
}

func TestAckAndChangeInvisible(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 2)
	createGroup(t, b, broker.Group{Name: "g"})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)
	ctx := asClient(testContext(t, 30*time.Second), "consumer-1")

	send(t, c, normalMessage("t", "01X", "x"))
	items := receiveAll(t, c, ctx, receiveRequest("g", "t"))
	require.Len(t, items, 3)
	m := items[1].GetMessage()
	handle := m.GetSystemProperties().GetReceiptHandle()

	// Change invisible: a new handle; the old one is stale afterwards.
	civ, err := c.ChangeInvisibleDuration(ctx, &v2.ChangeInvisibleDurationRequest{
		Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"}, ReceiptHandle: handle,
		InvisibleDuration: durationpb.New(0), MessageId: "01X",
	})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, civ.GetStatus().GetCode())
	require.NotEqual(t, handle, civ.GetReceiptHandle())

	stale, err := c.ChangeInvisibleDuration(ctx, &v2.ChangeInvisibleDurationRequest{
		Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"}, ReceiptHandle: handle,
		InvisibleDuration: durationpb.New(time.Second), MessageId: "01X",
	})
	require.NoError(t, err)
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, stale.GetStatus().GetCode())
	require.Equal(t, handle, stale.GetReceiptHandle(), "a failed change returns the request's handle")

	bad, err := c.ChangeInvisibleDuration(ctx, &v2.ChangeInvisibleDurationRequest{
		Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"}, ReceiptHandle: civ.GetReceiptHandle(),
		InvisibleDuration: durationpb.New(13 * time.Hour), MessageId: "01X",
	})
	require.NoError(t, err)
	require.Equal(t, v2.Code_ILLEGAL_INVISIBLE_TIME, bad.GetStatus().GetCode())

	// Visible again at once: redelivered with attempt 2.
	items = receiveAll(t, c, ctx, receiveRequest("g", "t"))
	require.Len(t, items, 3)
	again := items[1].GetMessage().GetSystemProperties()
	require.Equal(t, "01X", again.GetMessageId())
	require.Equal(t, int32(2), again.GetDeliveryAttempt())

	ackReq := func(h string) *v2.AckMessageRequest {
		return &v2.AckMessageRequest{Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"},
			Entries: []*v2.AckMessageEntry{{MessageId: "01X", ReceiptHandle: h}}}
	}
	ack, err := c.AckMessage(ctx, ackReq(civ.GetReceiptHandle()))
	require.NoError(t, err)
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, ack.GetStatus().GetCode(), "redelivered since")
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, ack.GetEntries()[0].GetStatus().GetCode())

	ack, err = c.AckMessage(ctx, ackReq(again.GetReceiptHandle()))
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, ack.GetStatus().GetCode())
	require.Equal(t, v2.Code_OK, ack.GetEntries()[0].GetStatus().GetCode())

	ack, err = c.AckMessage(ctx, ackReq("garbage"))
	require.NoError(t, err)
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, ack.GetStatus().GetCode())
}

func TestForwardToDLQIdempotent(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)
	ctx := asClient(testContext(t, 30*time.Second), "consumer-1")

	send(t, c, normalMessage("t", "01D", "dead"))
	items := receiveAll(t, c, ctx, receiveRequest("g", "t"))
	require.Len(t, items, 3)
	h := items[1].GetMessage().GetSystemProperties().GetReceiptHandle()
	req := &v2.ForwardMessageToDeadLetterQueueRequest{Group: &v2.Resource{Name: "g"}, Topic: &v2.Resource{Name: "t"},
		ReceiptHandle: h, MessageId: "01D", DeliveryAttempt: 1, MaxDeliveryAttempts: 17}
	for range 2 {
		resp, err := c.ForwardMessageToDeadLetterQueue(ctx, req)
		require.NoError(t, err)
		require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode(), "Go retries any non-OK forever")
	}

	// The dead letter can be routed and read, naming its origin.
	route, err := c.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "%DLQ%g"}, Endpoints: endpointsOf(addr)})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, route.GetStatus().GetCode())
	items = receiveAll(t, c, ctx, receiveRequest("g", "%DLQ%g"))
	require.Len(t, items, 3)
	dm := items[1].GetMessage()
	require.Equal(t, "%DLQ%g", dm.GetTopic().GetName())
	require.Equal(t, "dead", string(dm.GetBody()))
	require.Equal(t, "t", dm.GetSystemProperties().GetDeadLetterQueue().GetTopic())
	require.Equal(t, "01D", dm.GetSystemProperties().GetDeadLetterQueue().GetMessageId())
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "normal", broker.TopicNormal, 1)
	createTopic(t, b, "fifo", broker.TopicFIFO, 2)
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)

	resp := send(t, c, normalMessage("missing", "01M", "x"))
	require.Equal(t, v2.Code_TOPIC_NOT_FOUND, resp.GetStatus().GetCode())
	require.Equal(t, v2.Code_TOPIC_NOT_FOUND, resp.GetEntries()[0].GetStatus().GetCode())
	require.Equal(t, "01M", resp.GetEntries()[0].GetMessageId())

	resp = send(t, c, normalMessage("fifo", "01F", "x"))
	require.Equal(t, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, resp.GetStatus().GetCode())

	m := normalMessage("fifo", "01G", "x")
	m.SystemProperties.MessageType = v2.MessageType_FIFO
	m.SystemProperties.MessageGroup = ptr("group-1")
	resp = send(t, c, m)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())

	big := normalMessage("normal", "01B", "")
	big.Body = make([]byte, proxy.DefaultMaxBodyBytes+1)
	resp = send(t, c, big)
	require.Equal(t, v2.Code_MESSAGE_BODY_TOO_LARGE, resp.GetStatus().GetCode(), "a 4 MiB+ request fits the raised gRPC limit")

	// No client id.
	r, err := c.SendMessage(testContext(t, 5*time.Second), &v2.SendMessageRequest{Messages: []*v2.Message{normalMessage("normal", "01N", "x")}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_CLIENT_ID_REQUIRED, r.GetStatus().GetCode())

	// Two topics in one request.
	r, err = c.SendMessage(asClient(testContext(t, 5*time.Second), "p"), &v2.SendMessageRequest{Messages: []*v2.Message{
		normalMessage("normal", "01P", "x"), normalMessage("fifo", "01Q", "x"),
	}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_MESSAGE_CORRUPTED, r.GetStatus().GetCode())
	require.Len(t, r.GetEntries(), 2)
}

func endpointsOf(addr string) *v2.Endpoints {
	host, port, _ := strings.Cut(addr, ":")
	p := 0
	for _, ch := range port {
		p = p*10 + int(ch-'0')
	}
	return &v2.Endpoints{Scheme: v2.AddressScheme_IPv4, Addresses: []*v2.Address{{Host: host, Port: int32(p)}}}
}

func TestQueryRouteAndAssignment(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "normal", broker.TopicNormal, 4)
	createTopic(t, b, "fifo", broker.TopicFIFO, 3)
	createGroup(t, b, broker.Group{Name: "g"})
	createGroup(t, b, broker.Group{Name: "fg", Orderly: true})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)
	ctx := asClient(testContext(t, 10*time.Second), "c1")

	asked := &v2.Endpoints{Scheme: v2.AddressScheme_DOMAIN_NAME, Addresses: []*v2.Address{{Host: "mq.example", Port: 8081}}}
	route, err := c.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "normal", ResourceNamespace: "ns"}, Endpoints: asked})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, route.GetStatus().GetCode())
	require.Len(t, route.GetMessageQueues(), 4)
	for i, mq := range route.GetMessageQueues() {
		require.Equal(t, int32(i), mq.GetId())
		require.Equal(t, "normal", mq.GetTopic().GetName(), "names come back without namespace")
		require.Equal(t, v2.Permission_READ_WRITE, mq.GetPermission())
		require.Equal(t, int32(0), mq.GetBroker().GetId())
		require.Equal(t, "broker-0", mq.GetBroker().GetName())
		require.Equal(t, "mq.example", mq.GetBroker().GetEndpoints().GetAddresses()[0].GetHost(), "the access point is echoed")
		require.Equal(t, []v2.MessageType{v2.MessageType_NORMAL}, mq.GetAcceptMessageTypes())
	}

	// An unusable access point (0.0.0.0) is replaced by the connection's address.
	route, err = c.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "fifo"},
		Endpoints: &v2.Endpoints{Scheme: v2.AddressScheme_IPv4, Addresses: []*v2.Address{{Host: "0.0.0.0", Port: 1}}}})
	require.NoError(t, err)
	require.Len(t, route.GetMessageQueues(), 3)
	ep := route.GetMessageQueues()[0].GetBroker().GetEndpoints()
	require.Equal(t, "127.0.0.1", ep.GetAddresses()[0].GetHost())
	require.Equal(t, []v2.MessageType{v2.MessageType_FIFO}, route.GetMessageQueues()[0].GetAcceptMessageTypes())

	for _, tc := range []struct {
		topic string
		code  v2.Code
	}{{"missing", v2.Code_TOPIC_NOT_FOUND}, {"bad name", v2.Code_ILLEGAL_TOPIC}, {"%RETRY%g", v2.Code_ILLEGAL_TOPIC}} {
		route, err = c.QueryRoute(ctx, &v2.QueryRouteRequest{Topic: &v2.Resource{Name: tc.topic}, Endpoints: asked})
		require.NoError(t, err)
		require.Equal(t, tc.code, route.GetStatus().GetCode(), tc.topic)
	}

	as, err := c.QueryAssignment(ctx, &v2.QueryAssignmentRequest{Topic: &v2.Resource{Name: "normal"}, Group: &v2.Resource{Name: "g"}, Endpoints: asked})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, as.GetStatus().GetCode())
	require.Len(t, as.GetAssignments(), 1)
	require.Equal(t, int32(-1), as.GetAssignments()[0].GetMessageQueue().GetId())
	require.NotEmpty(t, as.GetAssignments()[0].GetMessageQueue().GetBroker().GetEndpoints().GetAddresses())

	as, err = c.QueryAssignment(ctx, &v2.QueryAssignmentRequest{Topic: &v2.Resource{Name: "fifo"}, Group: &v2.Resource{Name: "fg"}, Endpoints: asked})
	require.NoError(t, err)
	require.Len(t, as.GetAssignments(), 3, "a FIFO group gets one assignment per queue")

	as, err = c.QueryAssignment(ctx, &v2.QueryAssignmentRequest{Topic: &v2.Resource{Name: "normal"}, Group: &v2.Resource{Name: "nope"}, Endpoints: asked})
	require.NoError(t, err)
	require.Equal(t, v2.Code_CONSUMER_GROUP_NOT_FOUND, as.GetStatus().GetCode())
}

func TestQueryRouteAdvertise(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	addr, _ := startProxy(t, b, func(c *proxy.Config) { c.Advertise = "mq.internal:9876" })
	c := dial(t, addr, false)
	route, err := c.QueryRoute(asClient(testContext(t, 5*time.Second), "c"), &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "t"}, Endpoints: endpointsOf(addr)})
	require.NoError(t, err)
	ep := route.GetMessageQueues()[0].GetBroker().GetEndpoints()
	require.Equal(t, v2.AddressScheme_DOMAIN_NAME, ep.GetScheme())
	require.Equal(t, "mq.internal", ep.GetAddresses()[0].GetHost())
	require.Equal(t, int32(9876), ep.GetAddresses()[0].GetPort())

	_, err = proxy.New(proxy.Config{Broker: b, Advertise: "0.0.0.0:8081"})
	require.Error(t, err, "never advertise an unspecified address")
}

func TestHeartbeatWithoutHeaders(t *testing.T) {
	t.Parallel()
	addr, _ := startProxy(t, newBroker(t), nil)
	// The Go client's telemetry recovery check: empty, unsigned (spec §5.6).
	resp, err := dial(t, addr, false).Heartbeat(testContext(t, 5*time.Second), &v2.HeartbeatRequest{})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
}

func TestTelemetryAnswersEverySettings(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, true)
	stream, err := c.Telemetry(asClient(testContext(t, 10*time.Second), "producer-9"))
	require.NoError(t, err)
	ct := v2.ClientType_PRODUCER
	settings := &v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: &v2.Settings{
		ClientType: &ct, RequestTimeout: durationpb.New(3 * time.Second),
		PubSub: &v2.Settings_Publishing{Publishing: &v2.Publishing{Topics: []*v2.Resource{{Name: "t"}}}},
	}}}
	for range 2 { // at start and at every resync
		require.NoError(t, stream.Send(settings))
		reply, err := stream.Recv()
		require.NoError(t, err)
		require.Equal(t, v2.Code_OK, reply.GetStatus().GetCode())
		require.Positive(t, reply.GetSettings().GetPublishing().GetMaxBodySize())
	}
	// Replies to server commands are ignored, never fatal.
	require.NoError(t, stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_ThreadStackTrace{ThreadStackTrace: &v2.ThreadStackTrace{Nonce: "n"}}}))
	require.NoError(t, stream.Send(settings))
	_, err = stream.Recv()
	require.NoError(t, err)
	// A half-close completes the stream.
	require.NoError(t, stream.CloseSend())
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF)

	// Settings without pub_sub end the stream with INVALID_ARGUMENT, like Apache.
	stream, err = c.Telemetry(asClient(testContext(t, 10*time.Second), "producer-9"))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: &v2.Settings{ClientType: &ct}}}))
	_, err = stream.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	// So does a stream without a client id.
	stream, err = c.Telemetry(testContext(t, 10*time.Second))
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestNotifyClientTerminationReleasesDeliveries(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	addr, _ := startProxy(t, b, nil)
	c := dial(t, addr, false)

	send(t, c, normalMessage("t", "01R", "x"))
	push := receiveRequest("g", "t")
	push.AutoRenew, push.InvisibleDuration, push.LongPollingTimeout = true, nil, durationpb.New(5*time.Second)
	items := receiveAll(t, c, asClient(testContext(t, 10*time.Second), "push-1"), push)
	require.Len(t, items, 3)

	resp, err := c.NotifyClientTermination(asClient(testContext(t, 5*time.Second), "push-1"), &v2.NotifyClientTerminationRequest{Group: &v2.Resource{Name: "g"}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())

	// Another client gets it once the broker's clear-on-disconnect delay passes.
	push.LongPollingTimeout = durationpb.New(20 * time.Second)
	items = receiveAll(t, c, asClient(testContext(t, 25*time.Second), "push-2"), push)
	require.Len(t, items, 3)
	require.Equal(t, "01R", items[1].GetMessage().GetSystemProperties().GetMessageId())
	require.Equal(t, int32(2), items[1].GetMessage().GetSystemProperties().GetDeliveryAttempt())
}

func TestStopEndsLongPolls(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	reg := prometheus.NewRegistry()
	addr, srv := startProxy(t, b, func(c *proxy.Config) { c.Metrics = reg })
	c := dial(t, addr, false)
	tele, err := c.Telemetry(asClient(testContext(t, time.Minute), "c"))
	require.NoError(t, err)

	stream, err := c.ReceiveMessage(asClient(testContext(t, time.Minute), "poller"), receiveRequest("g", "t"))
	require.NoError(t, err)
	// Stop once the receive has arrived (both clients are known).
	require.Eventually(t, func() bool { return gauge(t, reg, "orbit_proxy_active_clients") == 2 }, 10*time.Second, 10*time.Millisecond)
	go srv.Stop()
	r, err := stream.Recv()
	if err == nil {
		require.Equal(t, v2.Code_MESSAGE_NOT_FOUND, r.GetStatus().GetCode())
	} else {
		require.Equal(t, codes.Unavailable, status.Code(err))
	}
	_, err = tele.Recv()
	require.Error(t, err, "telemetry streams end on stop")
	srv.Stop() // idempotent
}
