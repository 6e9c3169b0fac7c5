package adminclient_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// flaky answers UNAVAILABLE to the first failures calls of every method and
// records the authorization metadata it saw. The admin server itself is
// tested in package admin with the real broker; this stand-in only exists to
// make the transport fail on cue.
type flaky struct {
	adminpb.UnimplementedAdminServer
	failures int

	mu    sync.Mutex
	calls map[string]int
	auth  []string
	block chan struct{} // GetNodeStats waits on it when set
}

func (f *flaky) count(ctx context.Context, method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, md.Get("authorization")...)
	f.calls[method]++
	if f.calls[method] <= f.failures {
		return status.Error(codes.Unavailable, "not yet")
	}
	return nil
}

func (f *flaky) callsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *flaky) GetTopic(ctx context.Context, req *adminpb.GetTopicRequest) (*adminpb.Topic, error) {
	if err := f.count(ctx, "GetTopic"); err != nil {
		return nil, err
	}
	return &adminpb.Topic{Name: req.GetName(), QueueCount: 8}, nil
}

func (f *flaky) CreateTopic(ctx context.Context, req *adminpb.CreateTopicRequest) (*adminpb.Topic, error) {
	if err := f.count(ctx, "CreateTopic"); err != nil {
		return nil, err
	}
	return &adminpb.Topic{Name: req.GetName()}, nil
}

func (f *flaky) ListTopics(ctx context.Context, req *adminpb.ListTopicsRequest) (*adminpb.ListTopicsResponse, error) {
	if err := f.count(ctx, "ListTopics"); err != nil {
		return nil, err
	}
	// Three pages of page_size topics each, named by page.
	page := 0
	if req.GetPageToken() != "" {
		page = int(req.GetPageToken()[0] - '0')
	}
	resp := &adminpb.ListTopicsResponse{}
	for i := range int(req.GetPageSize()) {
		resp.Topics = append(resp.Topics, &adminpb.Topic{Name: string(rune('a'+page)) + string(rune('a'+i))})
	}
	if page < 2 {
		resp.NextPageToken = string(rune('0' + page + 1))
	}
	return resp, nil
}

func (f *flaky) GetNodeStats(ctx context.Context, _ *adminpb.GetNodeStatsRequest) (*adminpb.NodeStats, error) {
	if err := f.count(ctx, "GetNodeStats"); err != nil {
		return nil, err
	}
	select {
	case <-f.block:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &adminpb.NodeStats{}, nil
}

// bigBody is larger than gRPC's default 4 MiB receive limit.
var bigBody = bytes.Repeat([]byte("x"), 6<<20)

func (f *flaky) GetMessage(ctx context.Context, req *adminpb.GetMessageRequest) (*adminpb.Message, error) {
	if err := f.count(ctx, "GetMessage"); err != nil {
		return nil, err
	}
	return &adminpb.Message{Topic: req.GetTopic(), MessageId: req.GetMessageId(), Body: bigBody, BodySize: int64(len(bigBody))}, nil
}

// QueryMessages answers 250 messages in pages of page_size; the token is
// the index of the next message.
func (f *flaky) QueryMessages(ctx context.Context, req *adminpb.QueryMessagesRequest) (*adminpb.QueryMessagesResponse, error) {
	if err := f.count(ctx, "QueryMessages"); err != nil {
		return nil, err
	}
	from := 0
	if req.GetPageToken() != "" {
		from, _ = strconv.Atoi(req.GetPageToken())
	}
	resp := &adminpb.QueryMessagesResponse{}
	to := min(from+int(req.GetPageSize()), 250)
	for i := from; i < to; i++ {
		resp.Messages = append(resp.Messages, &adminpb.Message{MessageId: strconv.Itoa(i)})
	}
	if to < 250 {
		resp.NextPageToken = strconv.Itoa(to)
	}
	return resp, nil
}

func start(t *testing.T, f *flaky) string {
	t.Helper()
	f.calls = map[string]int{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	adminpb.RegisterAdminServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func newClient(t *testing.T, cfg adminclient.Config) *adminclient.Client {
	t.Helper()
	c, err := adminclient.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func TestClientRetriesIdempotentCalls(t *testing.T) {
	f := &flaky{failures: 2}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "s3cret", Backoff: time.Millisecond})

	topic, err := c.GetTopic(t.Context(), &adminpb.GetTopicRequest{Name: "orders"})
	require.NoError(t, err)
	require.Equal(t, "orders", topic.GetName())
	require.Equal(t, 3, f.callsOf("GetTopic"), "two failures, then success")
	for _, a := range f.auth {
		require.Equal(t, "Bearer s3cret", a)
	}
}

func TestClientGivesUpAfterAttempts(t *testing.T) {
	f := &flaky{failures: 5}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t", Attempts: 2, Backoff: time.Millisecond})

	_, err := c.GetTopic(t.Context(), &adminpb.GetTopicRequest{Name: "orders"})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, 2, f.callsOf("GetTopic"))
}

func TestClientDoesNotRetryCreate(t *testing.T) {
	f := &flaky{failures: 1}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t", Backoff: time.Millisecond})

	_, err := c.CreateTopic(t.Context(), &adminpb.CreateTopicRequest{Name: "orders"})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, 1, f.callsOf("CreateTopic"), "a create is never sent twice")
}

func TestClientDeadlinePerAttempt(t *testing.T) {
	f := &flaky{block: make(chan struct{})} // never answers
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t", Timeout: 50 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond})

	_, err := c.GetNodeStats(t.Context(), &adminpb.GetNodeStatsRequest{})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	require.Equal(t, 2, f.callsOf("GetNodeStats"), "a timed-out read is tried again")
}

func TestClientStopsWhenCallerCancels(t *testing.T) {
	f := &flaky{block: make(chan struct{})}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t", Attempts: 5})

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetNodeStats(ctx, &adminpb.GetNodeStatsRequest{})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	require.Equal(t, 1, f.callsOf("GetNodeStats"), "the caller's deadline ends the call, no retry")
}

func TestClientListAllPages(t *testing.T) {
	f := &flaky{}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t"})

	all, err := c.ListAllTopics(t.Context(), 0)
	require.NoError(t, err)
	require.Len(t, all, 3000, "three pages of 1000")
	require.Equal(t, 3, f.callsOf("ListTopics"))

	some, err := c.ListAllTopics(t.Context(), 1500)
	require.NoError(t, err)
	require.Len(t, some, 1500)
	require.Equal(t, "ba", some[1000].GetName(), "the second page asked for the remaining 500")
}

func TestClientConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := adminclient.New(adminclient.Config{Addr: "127.0.0.1:1"})
	require.ErrorContains(t, err, "token is required")
	_, err = adminclient.New(adminclient.Config{Token: "t"})
	require.ErrorContains(t, err, "address is required")
}

func TestClientMessageCalls(t *testing.T) {
	f := &flaky{failures: 1}
	c := newClient(t, adminclient.Config{Addr: start(t, f), Token: "t", Backoff: time.Millisecond})

	m, err := c.GetMessage(t.Context(), &adminpb.GetMessageRequest{Topic: "t", MessageId: "m"})
	require.NoError(t, err, "a body above gRPC's default receive limit arrives")
	require.Len(t, m.GetBody(), len(bigBody))
	require.Equal(t, 2, f.callsOf("GetMessage"), "retried: reads are idempotent")

	all, err := c.QueryAllMessages(t.Context(), &adminpb.QueryMessagesRequest{Topic: "t", Key: "k"}, 0)
	require.NoError(t, err)
	require.Len(t, all, 250)
	require.Equal(t, "249", all[249].GetMessageId())

	some, err := c.QueryAllMessages(t.Context(), &adminpb.QueryMessagesRequest{Topic: "t", Key: "k", PageSize: 7}, 120)
	require.NoError(t, err)
	require.Len(t, some, 120, "pages of 100 then the remaining 20")
}
