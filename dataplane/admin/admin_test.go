package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

const token = "admin-test-token-0123456789"

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is a real broker on a memory store (or a file store) behind a real
// admin gRPC server on 127.0.0.1:0.
type node struct {
	addr   string
	broker *broker.Broker
	store  store.Store
	client *adminclient.Client
	log    *syncBuffer
}

// nodeOptions change what startNode builds.
type nodeOptions struct {
	store     func(t *testing.T) store.Store // default: a memstore
	broker    func(c *broker.Config)         // adjusts the broker's config
	storeHost string
}

func startNode(t *testing.T, opts ...func(*nodeOptions)) *node {
	t.Helper()
	o := nodeOptions{store: func(*testing.T) store.Store { return memstore.New(memstore.Config{}) }}
	for _, f := range opts {
		f(&o)
	}
	n := &node{log: &syncBuffer{}, store: o.store(t)}
	log := slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", n.log.String())
		}
	})
	bcfg := broker.Config{DataDir: t.TempDir(), Store: n.store, Log: log.With("component", "broker")}
	if o.broker != nil {
		o.broker(&bcfg)
	}
	var err error
	n.broker, err = broker.New(bcfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.broker.Run(ctx) }()

	adm, err := admin.New(admin.Config{
		Broker: n.broker, Store: n.store, Token: token, Log: log.With("component", "admin"),
		Version: "v-test", StartedAt: time.Now().Add(-time.Minute), StoreHost: o.storeHost,
	})
	require.NoError(t, err)
	srv := grpc.NewServer(adm.ServerOptions()...)
	adm.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	n.addr = ln.Addr().String()
	t.Cleanup(func() {
		srv.Stop()
		cancel()
		<-done
		_ = n.broker.Close()
		_ = n.store.Close()
	})

	n.client, err = adminclient.New(adminclient.Config{Addr: n.addr, Token: token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.client.Close() })
	return n
}

// raw is a client without the token, for authentication tests.
func (n *node) raw(t *testing.T) adminpb.AdminClient {
	t.Helper()
	conn, err := grpc.NewClient(n.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return adminpb.NewAdminClient(conn)
}

// requireCode checks a call's gRPC status code and that its message contains want.
func requireCode(t *testing.T, err error, code codes.Code, want string) {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, code, st.Code(), "status %v", st)
	require.Contains(t, st.Message(), want)
}

func TestNewRefusesMissingToken(t *testing.T) {
	t.Parallel()
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	for _, tok := range []string{"", "   "} {
		_, err := admin.New(admin.Config{Broker: b, Store: st, Token: tok})
		require.ErrorContains(t, err, "admin token is required")
	}
	_, err = admin.New(admin.Config{Store: st, Token: token})
	require.ErrorContains(t, err, "broker is required")
	_, err = admin.New(admin.Config{Broker: b, Token: token})
	require.ErrorContains(t, err, "store is required")
}

func TestAuthentication(t *testing.T) {
	n := startNode(t)
	raw := n.raw(t)
	tests := []struct {
		name string
		md   []string // authorization values
		code codes.Code
		want string
	}{
		{"no token", nil, codes.Unauthenticated, "missing admin token"},
		{"empty bearer", []string{"Bearer "}, codes.Unauthenticated, "missing admin token"},
		{"wrong token", []string{"Bearer not-the-token"}, codes.Unauthenticated, "invalid admin token"},
		{"token prefix", []string{"Bearer " + token[:10]}, codes.Unauthenticated, "invalid admin token"},
		{"token without scheme", []string{token}, codes.Unauthenticated, "malformed authorization"},
		{"basic scheme", []string{"Basic " + token}, codes.Unauthenticated, "malformed authorization"},
		{"two values", []string{"Bearer " + token, "Bearer " + token}, codes.Unauthenticated, "malformed authorization"},
		{"right token", []string{"Bearer " + token}, codes.OK, ""},
		{"scheme is case-insensitive", []string{"bearer " + token}, codes.OK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			for _, v := range tc.md {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			_, err := raw.GetNodeStats(ctx, &adminpb.GetNodeStatsRequest{})
			if tc.code == codes.OK {
				require.NoError(t, err)
				return
			}
			requireCode(t, err, tc.code, tc.want)
			// A rejected call never reaches the broker.
			_, err = raw.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "sneaky"})
			requireCode(t, err, tc.code, tc.want)
		})
	}
	_, err := n.broker.GetTopic("sneaky")
	require.ErrorIs(t, err, broker.ErrTopicNotFound)
	require.NotContains(t, n.log.String(), token, "the token is never logged")
	require.NotContains(t, n.log.String(), "not-the-token", "presented tokens are never logged")
	require.Contains(t, n.log.String(), "admin call rejected")
}

func TestTopicLifecycle(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()

	created, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders"})
	require.NoError(t, err)
	require.Equal(t, "orders", created.GetName())
	require.Equal(t, adminpb.TopicType_TOPIC_TYPE_NORMAL, created.GetType(), "default type")
	require.EqualValues(t, admin.DefaultQueueCount, created.GetQueueCount(), "default queue count")
	require.NotNil(t, created.GetCreateTime())

	_, err = c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders"})
	requireCode(t, err, codes.AlreadyExists, `topic "orders" already exists`)

	fifo, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "payments", Type: adminpb.TopicType_TOPIC_TYPE_FIFO, QueueCount: 2})
	require.NoError(t, err)
	require.Equal(t, adminpb.TopicType_TOPIC_TYPE_FIFO, fifo.GetType())
	require.EqualValues(t, 2, fifo.GetQueueCount())

	got, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "orders"})
	require.NoError(t, err)
	require.True(t, proto.Equal(created, got), "get returns what create did: %v vs %v", created, got)

	updated, err := c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "orders", QueueCount: proto.Int32(16)})
	require.NoError(t, err)
	require.EqualValues(t, 16, updated.GetQueueCount())
	require.Equal(t, adminpb.TopicType_TOPIC_TYPE_NORMAL, updated.GetType(), "unset fields keep their value")
	require.Equal(t, created.GetCreateTime().AsTime(), updated.GetCreateTime().AsTime())

	list, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{"orders", "payments"}, topicNames(list.GetTopics()))
	require.Empty(t, list.GetNextPageToken())

	_, err = c.DeleteTopic(ctx, &adminpb.DeleteTopicRequest{Name: "orders"})
	require.NoError(t, err)
	_, err = c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "orders"})
	requireCode(t, err, codes.NotFound, `topic "orders" not found`)
	_, err = c.DeleteTopic(ctx, &adminpb.DeleteTopicRequest{Name: "orders"})
	requireCode(t, err, codes.NotFound, `topic "orders" not found`)
	_, err = c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "orders", QueueCount: proto.Int32(4)})
	requireCode(t, err, codes.NotFound, `topic "orders" not found`)
}

func TestTopicInvalidArguments(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders"})
	require.NoError(t, err)

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"create without name", func() error {
			_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{})
			return err
		}, "name is required"},
		{"create with a bad name", func() error {
			_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "no spaces allowed"})
			return err
		}, ""},
		{"create with too many queues", func() error {
			_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "big", QueueCount: 65})
			return err
		}, ""},
		{"create with negative queues", func() error {
			_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "neg", QueueCount: -1})
			return err
		}, ""},
		{"create with an unknown type", func() error {
			_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "odd", Type: 99})
			return err
		}, "not a topic type"},
		{"update nothing", func() error {
			_, err := c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "orders"})
			return err
		}, "nothing to update"},
		{"update to zero queues", func() error {
			_, err := c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "orders", QueueCount: proto.Int32(0)})
			return err
		}, ""},
		{"update to an unknown type", func() error {
			_, err := c.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: "orders", Type: adminpb.TopicType_TOPIC_TYPE_UNSPECIFIED.Enum()})
			return err
		}, "not a topic type"},
		{"get without name", func() error {
			_, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{})
			return err
		}, "name is required"},
		{"delete without name", func() error {
			_, err := c.DeleteTopic(ctx, &adminpb.DeleteTopicRequest{})
			return err
		}, "name is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.call(), codes.InvalidArgument, tc.want)
		})
	}
	got, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "orders"})
	require.NoError(t, err)
	require.EqualValues(t, admin.DefaultQueueCount, got.GetQueueCount(), "failed updates changed nothing")
}

func TestGroupLifecycle(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()

	g, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	require.NoError(t, err)
	require.False(t, g.GetOrderly())
	require.EqualValues(t, broker.DefaultMaxRetries, g.GetMaxRetries(), "default max retries")

	g, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "audit", Orderly: true, MaxRetries: proto.Int32(0)})
	require.NoError(t, err)
	require.True(t, g.GetOrderly())
	require.EqualValues(t, 0, g.GetMaxRetries(), "an explicit 0 is kept")

	_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	requireCode(t, err, codes.AlreadyExists, `consumer group "billing" already exists`)

	g, err = c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "billing", MaxRetries: proto.Int32(3)})
	require.NoError(t, err)
	require.EqualValues(t, 3, g.GetMaxRetries())
	require.False(t, g.GetOrderly(), "unset fields keep their value")
	g, err = c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "billing", Orderly: proto.Bool(true)})
	require.NoError(t, err)
	require.True(t, g.GetOrderly())
	require.EqualValues(t, 3, g.GetMaxRetries())

	got, err := c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: "billing"})
	require.NoError(t, err)
	require.True(t, proto.Equal(g, got))

	list, err := c.ListGroups(ctx, &adminpb.ListGroupsRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{"audit", "billing"}, groupNames(list.GetGroups()))

	_, err = c.DeleteGroup(ctx, &adminpb.DeleteGroupRequest{Name: "billing"})
	require.NoError(t, err)
	_, err = c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: "billing"})
	requireCode(t, err, codes.NotFound, `consumer group "billing" not found`)
	_, err = c.DeleteGroup(ctx, &adminpb.DeleteGroupRequest{Name: "billing"})
	requireCode(t, err, codes.NotFound, `consumer group "billing" not found`)

	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"create without name", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{})
			return err
		}, "name is required"},
		{"create with a bad name", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "bad/name"})
			return err
		}, ""},
		{"negative retries", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "neg", MaxRetries: proto.Int32(-1)})
			return err
		}, "must not be negative"},
		{"too many retries", func() error {
			_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "many", MaxRetries: proto.Int32(1001)})
			return err
		}, ""},
		{"update to negative retries", func() error {
			_, err := c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "audit", MaxRetries: proto.Int32(-1)})
			return err
		}, "must not be negative"},
		{"update nothing", func() error {
			_, err := c.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: "audit"})
			return err
		}, "nothing to update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.call(), codes.InvalidArgument, tc.want)
		})
	}
}

func topicNames(ts []*adminpb.Topic) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.GetName()
	}
	return out
}

func groupNames(gs []*adminpb.Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.GetName()
	}
	return out
}

func TestListPaging(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("t%02d", i)
		want = append(want, name)
		_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: name, QueueCount: 1})
		require.NoError(t, err)
		_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "g" + name})
		require.NoError(t, err)
	}

	var got []string
	var sizes []int
	req := &adminpb.ListTopicsRequest{PageSize: 10}
	for {
		resp, err := c.ListTopics(ctx, req)
		require.NoError(t, err)
		got = append(got, topicNames(resp.GetTopics())...)
		sizes = append(sizes, len(resp.GetTopics()))
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	require.Equal(t, want, got, "every topic once, in order")
	require.Equal(t, []int{10, 10, 5}, sizes)

	// An exact multiple of the page size ends without an empty page.
	first, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{PageSize: 5})
	require.NoError(t, err)
	resp, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{PageSize: 20, PageToken: first.GetNextPageToken()})
	require.NoError(t, err)
	require.Len(t, resp.GetTopics(), 20)
	require.Empty(t, resp.GetNextPageToken())

	all, err := c.ListAllGroups(ctx, 0)
	require.NoError(t, err)
	require.Len(t, all, 25)
	some, err := c.ListAllTopics(ctx, 7)
	require.NoError(t, err)
	require.Equal(t, want[:7], topicNames(some))

	def, err := c.ListGroups(ctx, &adminpb.ListGroupsRequest{})
	require.NoError(t, err)
	require.Len(t, def.GetGroups(), 25, "page_size 0 means 100")

	for _, size := range []int32{-1, 1001} {
		_, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{PageSize: size})
		requireCode(t, err, codes.InvalidArgument, "page_size")
		_, err = c.ListGroups(ctx, &adminpb.ListGroupsRequest{PageSize: size})
		requireCode(t, err, codes.InvalidArgument, "page_size")
	}
	// Not base64; "topics" without a name; "topics\x00" with an empty one.
	for _, tok := range []string{"!!not base64!!", "dG9waWNz", "dG9waWNzAA"} {
		_, err := c.ListTopics(ctx, &adminpb.ListTopicsRequest{PageToken: tok})
		requireCode(t, err, codes.InvalidArgument, "invalid page_token")
	}
	_, err = c.ListGroups(ctx, &adminpb.ListGroupsRequest{PageToken: first.GetNextPageToken()})
	requireCode(t, err, codes.InvalidArgument, "invalid page_token")
}

// send stores count normal messages on topic through the broker.
func send(t *testing.T, n *node, topic string, count int) {
	t.Helper()
	msgs := make([]*store.Message, count)
	for i := range msgs {
		msgs[i] = &store.Message{Topic: topic, MessageID: fmt.Sprintf("%s-%d", topic, i), Type: store.TypeNormal, Body: []byte("hello"), BornTime: time.Now()}
	}
	_, err := n.broker.Send(t.Context(), msgs)
	require.NoError(t, err)
}

func TestGroupOffsetsAndReset(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders", QueueCount: 2})
	require.NoError(t, err)
	_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	require.NoError(t, err)
	before := time.Now().Add(-time.Hour)
	send(t, n, "orders", 10)

	// The group receives 4 messages and acks 2: 2 stay in flight.
	ds, err := n.broker.Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 4, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	require.NotEmpty(t, ds)
	for _, d := range ds[:len(ds)/2] {
		require.NoError(t, n.broker.Ack(ctx, "billing", "orders", d.Message.MessageID, d.ReceiptHandle))
	}
	inflight := len(ds) - len(ds)/2

	resp, err := c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: "billing"})
	require.NoError(t, err)
	require.Len(t, resp.GetOffsets(), 2, "one row per queue")
	var lag, flying, maxSum int64
	for i, o := range resp.GetOffsets() {
		require.Equal(t, "orders", o.GetTopic())
		require.EqualValues(t, i, o.GetQueueId(), "sorted by queue")
		require.Equal(t, o.GetMaxOffset()-o.GetConsumerOffset(), o.GetLag())
		lag += o.GetLag()
		flying += o.GetInflight()
		maxSum += o.GetMaxOffset()
	}
	require.EqualValues(t, 10, maxSum, "ten messages stored")
	require.Equal(t, lag, resp.GetTotalLag())
	require.EqualValues(t, inflight, flying)
	require.GreaterOrEqual(t, lag, int64(10-len(ds)/2))

	byTopic, err := c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: "billing", Topic: "orders"})
	require.NoError(t, err)
	require.Len(t, byTopic.GetOffsets(), 2)

	latest, err := c.ResetGroupOffset(ctx, &adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_LATEST}})
	require.NoError(t, err)
	require.Len(t, latest.GetOffsets(), 2)
	for _, o := range latest.GetOffsets() {
		require.Equal(t, o.GetMaxOffset(), o.GetConsumerOffset())
		require.Zero(t, o.GetLag())
		require.Zero(t, o.GetInflight(), "a reset drops in-flight deliveries")
		require.Nil(t, o.GetOldestUnconsumedTime(), "no lag, no age")
	}

	// A dry run reports what a reset would do and moves nothing.
	dry, err := c.ResetGroupOffset(ctx, &adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders", DryRun: true,
		Target: &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_EARLIEST}})
	require.NoError(t, err)
	require.Len(t, dry.GetChanges(), 2)
	var back int64
	for i, ch := range dry.GetChanges() {
		o := dry.GetOffsets()[i]
		require.EqualValues(t, i, ch.GetQueueId())
		require.Equal(t, o.GetMaxOffset(), ch.GetCurrentOffset())
		require.Equal(t, o.GetMinOffset(), ch.GetNewOffset())
		require.Equal(t, o.GetMaxOffset(), o.GetConsumerOffset(), "a dry run leaves the offset")
		back += ch.GetCurrentOffset() - ch.GetNewOffset()
	}
	require.EqualValues(t, 10, back)
	after, err := c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: "billing", Topic: "orders"})
	require.NoError(t, err)
	require.Zero(t, after.GetTotalLag(), "a dry run changes nothing")

	stats, err := c.GetTopicStats(ctx, &adminpb.GetTopicStatsRequest{Topic: "orders"})
	require.NoError(t, err)
	require.Len(t, stats.GetQueues(), 2)
	var stored int64
	for i, q := range stats.GetQueues() {
		require.EqualValues(t, i, q.GetQueueId())
		stored += q.GetMaxOffset() - q.GetMinOffset()
	}
	require.EqualValues(t, 10, stored)
	_, err = c.GetTopicStats(ctx, &adminpb.GetTopicStatsRequest{})
	requireCode(t, err, codes.InvalidArgument, "topic is required")
	_, err = c.GetTopicStats(ctx, &adminpb.GetTopicStatsRequest{Topic: "nope"})
	require.Equal(t, codes.NotFound, status.Code(err))

	earliest, err := c.ResetGroupOffset(ctx, &adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_EARLIEST}})
	require.NoError(t, err)
	var total int64
	for _, o := range earliest.GetOffsets() {
		require.Equal(t, o.GetMinOffset(), o.GetConsumerOffset())
		total += o.GetLag()
		if o.GetLag() > 0 {
			require.NotNil(t, o.GetOldestUnconsumedTime(), "lag as age: the store time at the consumer offset")
			at := o.GetOldestUnconsumedTime().AsTime()
			require.True(t, at.After(before) && !at.After(time.Now()), "stored at %s", at)
		}
	}
	require.EqualValues(t, 10, total)

	future, err := c.ResetGroupOffset(ctx, &adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Timestamp{Timestamp: timestamppb.New(time.Now().Add(time.Hour))}})
	require.NoError(t, err)
	for _, o := range future.GetOffsets() {
		require.Zero(t, o.GetLag(), "nothing was stored after a future time")
	}
	past, err := c.ResetGroupOffset(ctx, &adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Timestamp{Timestamp: timestamppb.New(before)}})
	require.NoError(t, err)
	total = 0
	for _, o := range past.GetOffsets() {
		total += o.GetLag()
	}
	require.EqualValues(t, 10, total, "everything was stored after an hour ago")

	// Errors.
	_, err = c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{})
	requireCode(t, err, codes.InvalidArgument, "group is required")
	_, err = c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: "nobody"})
	requireCode(t, err, codes.NotFound, `consumer group "nobody" not found`)
	reset := func(req *adminpb.ResetGroupOffsetRequest) error {
		_, err := c.ResetGroupOffset(ctx, req)
		return err
	}
	earliestTarget := &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_EARLIEST}
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders"}), codes.InvalidArgument, "a target is required")
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Position{}}), codes.InvalidArgument, "want EARLIEST or LATEST")
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "orders",
		Target: &adminpb.ResetGroupOffsetRequest_Timestamp{Timestamp: &timestamppb.Timestamp{Nanos: -1}}}), codes.InvalidArgument, "timestamp")
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "billing", Target: earliestTarget}), codes.InvalidArgument, "topic is required")
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Topic: "orders", Target: earliestTarget}), codes.InvalidArgument, "group is required")
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "nobody", Topic: "orders", Target: earliestTarget}), codes.NotFound, `consumer group "nobody" not found`)
	requireCode(t, reset(&adminpb.ResetGroupOffsetRequest{Group: "billing", Topic: "nothing", Target: earliestTarget}), codes.NotFound, `topic "nothing" not found`)
}

func TestNodeStats(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	for _, name := range []string{"a", "b", "c"} {
		_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: name, QueueCount: 1})
		require.NoError(t, err)
	}
	_, err := c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "g"})
	require.NoError(t, err)
	send(t, n, "a", 3)

	s, err := c.GetNodeStats(ctx, &adminpb.GetNodeStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, "v-test", s.GetVersion())
	require.GreaterOrEqual(t, s.GetUptime().AsDuration(), time.Minute)
	require.WithinDuration(t, time.Now().Add(-time.Minute), s.GetStartTime().AsTime(), time.Minute)
	require.EqualValues(t, 3, s.GetTopicCount())
	require.EqualValues(t, 1, s.GetGroupCount())
	want := n.store.Stats()
	require.Equal(t, want.CommitLogBytes, s.GetStore().GetCommitLogBytes())
	require.Positive(t, s.GetStore().GetCommitLogBytes())
	require.EqualValues(t, want.Segments, s.GetStore().GetSegments())
	require.Equal(t, want.MaxCommitLog, s.GetStore().GetMaxCommitLogOffset())
	require.Equal(t, want.MinCommitLog, s.GetStore().GetMinCommitLogOffset())
}

func TestClosedBrokerIsUnavailable(t *testing.T) {
	n := startNode(t)
	require.NoError(t, n.broker.Close())
	_, err := n.client.CreateTopic(t.Context(), &adminpb.CreateTopicRequest{Name: "late"})
	requireCode(t, err, codes.Unavailable, "shutting down")
}
