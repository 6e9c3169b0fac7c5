package brokerrpc_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// The client is what a proxy-role node hands to the proxy.
var _ proxy.Broker = (*brokerrpc.Client)(nil)

const token = "s3cret-token"

type env struct {
	b    *broker.Broker
	st   store.Store
	srv  *brokerrpc.Server
	addr string
	c    *brokerrpc.Client
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newEnv serves a real broker on a memstore over loopback and dials it.
func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv serving wrap(broker) instead of the broker itself
// (nil: the broker).
func newEnvWith(t *testing.T, wrap func(*broker.Broker) brokerrpc.Backend) *env {
	t.Helper()
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st, Log: testLog(t), MaxBodyBytes: 1024})
	require.NoError(t, err)
	var backend brokerrpc.Backend = b
	if wrap != nil {
		backend = wrap(b)
	}
	srv, err := brokerrpc.NewServer(brokerrpc.ServerConfig{Broker: backend, Token: token, Log: testLog(t)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: ln.Addr().String(), Token: token, Log: testLog(t)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
		require.NoError(t, st.Close())
	})
	ctx := context.Background()
	_, err = b.CreateTopic(ctx, broker.Topic{Name: "orders", Type: broker.TopicNormal, Queues: 2, MaxSendTPS: 50})
	require.NoError(t, err)
	_, err = b.CreateTopic(ctx, broker.Topic{Name: "fifo", Type: broker.TopicFIFO, Queues: 2})
	require.NoError(t, err)
	_, err = b.CreateGroup(ctx, broker.Group{Name: "g", Orderly: true, MaxRetries: 3, MaxReceiveTPS: 70, RetryInterval: 9 * time.Second})
	require.NoError(t, err)
	return &env{b: b, st: st, srv: srv, addr: ln.Addr().String(), c: c}
}

// utc makes times comparable with require.Equal: the wire keeps the instant
// to the nanosecond, not the zone or the monotonic reading.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func normMsg(m *store.Message) *store.Message {
	c := *m
	c.BornTime, c.DeliveryTime, c.StoreTime = utc(c.BornTime), utc(c.DeliveryTime), utc(c.StoreTime)
	return &c
}

func fullMessage(id string) *store.Message {
	return &store.Message{
		Topic:           "orders",
		MessageID:       id,
		Type:            store.TypeNormal,
		Tag:             "TagA",
		Keys:            []string{"k1", "k2"},
		Properties:      map[string]string{"p": "v", "empty": ""},
		Body:            []byte("body \x00\xff " + id),
		BornTime:        time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.FixedZone("X", 3600)),
		BornHost:        "10.0.0.1:1234",
		DeliveryTime:    time.Date(2025, 6, 7, 8, 9, 11, 1, time.UTC),
		DeliveryAttempt: 3,
		OriginTopic:     "origin",
		OriginMessageID: "origin-" + id,
	}
}

func TestRoundTripEveryMethod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// Definitions.
	lt, err := e.b.GetTopic("orders")
	require.NoError(t, err)
	rt, err := e.c.GetTopic("orders")
	require.NoError(t, err)
	require.Equal(t, lt.Name, rt.Name)
	require.Equal(t, lt.Type, rt.Type)
	require.Equal(t, lt.Queues, rt.Queues)
	require.Equal(t, int32(50), rt.MaxSendTPS)
	require.True(t, lt.CreatedAt.Equal(rt.CreatedAt) && lt.UpdatedAt.Equal(rt.UpdatedAt))
	lg, err := e.b.GetGroup("g")
	require.NoError(t, err)
	rg, err := e.c.GetGroup("g")
	require.NoError(t, err)
	require.Equal(t, lg.Name, rg.Name)
	require.True(t, rg.Orderly)
	require.Equal(t, int32(3), rg.MaxRetries)
	require.Equal(t, int32(70), rg.MaxReceiveTPS)
	require.Equal(t, 9*time.Second, rg.RetryInterval)
	require.True(t, lg.CreatedAt.Equal(rg.CreatedAt) && lg.UpdatedAt.Equal(rg.UpdatedAt))
	topics, err := e.c.ListTopics(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, topics, 2)
	require.Equal(t, "fifo", topics[0].Name)
	topics, err = e.c.ListTopics(ctx, "fifo", 1)
	require.NoError(t, err)
	require.Len(t, topics, 1)
	require.Equal(t, "orders", topics[0].Name)

	// Send sets the store-assigned fields on the caller's messages, as in process.
	sent := []*store.Message{fullMessage("m1"), fullMessage("m2")}
	sent[1].Keys, sent[1].Properties = nil, map[string]string{} // nil and empty stay apart
	res, err := e.c.Send(ctx, sent)
	require.NoError(t, err)
	require.Len(t, res, 2)
	for i, r := range res {
		require.Equal(t, sent[i].MessageID, r.MessageID)
		require.Equal(t, sent[i].QueueID, r.QueueID)
		require.Equal(t, sent[i].QueueOffset, r.QueueOffset)
		stored, err := e.st.Get(ctx, sent[i].CommitLogOffset)
		require.NoError(t, err)
		require.Equal(t, normMsg(stored), normMsg(sent[i]), "assigned fields come back")
	}

	// Receive: every field equals what the store holds.
	rr := broker.ReceiveRequest{Group: "g", Topic: "orders", QueueID: -1, MaxMessages: 8, InvisibleDuration: time.Minute, PollTimeout: 2 * time.Second, ClientID: "c1"}
	var ds []broker.Delivery
	for len(ds) < 2 {
		got, err := e.c.Receive(ctx, rr)
		require.NoError(t, err)
		require.NotEmpty(t, got)
		ds = append(ds, got...)
	}
	byID := map[string]broker.Delivery{}
	for _, d := range ds {
		stored, err := e.st.Get(ctx, d.Message.CommitLogOffset)
		require.NoError(t, err)
		require.Equal(t, normMsg(stored), normMsg(d.Message))
		require.Equal(t, int32(1), d.Attempt)
		require.NotEmpty(t, d.ReceiptHandle)
		require.False(t, d.InvisibleUntil.IsZero())
		byID[d.Message.MessageID] = d
	}
	require.Equal(t, []string{"k1", "k2"}, byID["m1"].Message.Keys)
	require.Nil(t, byID["m2"].Message.Keys)
	require.Equal(t, int32(3), byID["m1"].Message.DeliveryAttempt)
	require.Equal(t, "origin-m1", byID["m1"].Message.OriginMessageID)

	// ChangeInvisible returns a new handle; the old one is dead.
	d1 := byID["m1"]
	h, err := e.c.ChangeInvisible(ctx, "g", "orders", "m1", d1.ReceiptHandle, 30*time.Second)
	require.NoError(t, err)
	require.NotEqual(t, d1.ReceiptHandle, h)
	require.ErrorIs(t, e.c.Ack(ctx, "g", "orders", "m1", d1.ReceiptHandle), broker.ErrInvalidHandle)
	require.NoError(t, e.c.Ack(ctx, "g", "orders", "m1", h))

	// ForwardToDLQ writes the dead letter and settles the delivery.
	d2 := byID["m2"]
	require.NoError(t, e.c.ForwardToDLQ(ctx, "g", "orders", "m2", d2.ReceiptHandle))
	require.NoError(t, e.c.ForwardToDLQ(ctx, "g", "orders", "m2", d2.ReceiptHandle), "idempotent")
	_, err = e.c.GetTopic("%DLQ%g")
	require.NoError(t, err)

	offs, err := e.b.Offsets("g", "orders")
	require.NoError(t, err)
	for _, o := range offs {
		require.Zero(t, o.Lag, "queue %d: everything was acked or dead-lettered", o.QueueID)
	}

	// ClientGone reaches the broker (no error to see; it must not fail).
	e.c.ClientGone("c1")
}

func TestMessageFidelityAcrossEveryField(t *testing.T) {
	// Offsets, store time and size are assigned by the store; check through
	// Send/Receive that a message with every settable field survives.
	e := newEnv(t)
	ctx := context.Background()
	m := fullMessage("full")
	m.Properties = nil
	want := *m
	_, err := e.c.Send(ctx, []*store.Message{m})
	require.NoError(t, err)
	ds, err := e.c.Receive(ctx, broker.ReceiveRequest{Group: "g", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute, PollTimeout: time.Second})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	got := ds[0].Message
	require.Nil(t, got.Properties)
	require.True(t, want.BornTime.Equal(got.BornTime))
	require.Equal(t, want.BornTime.Nanosecond(), got.BornTime.Nanosecond())
	want.QueueID, want.QueueOffset, want.CommitLogOffset, want.StoreTime, want.StoreSize = got.QueueID, got.QueueOffset, got.CommitLogOffset, got.StoreTime, got.StoreSize
	require.Equal(t, normMsg(&want), normMsg(got))
	require.False(t, got.StoreTime.IsZero())
	require.Positive(t, got.StoreSize)
}

func TestErrorsKeepTheirSentinels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := func(mut func(*store.Message)) []*store.Message {
		m := fullMessage("x")
		mut(m)
		return []*store.Message{m}
	}
	recv := func(mut func(*broker.ReceiveRequest)) error {
		rr := broker.ReceiveRequest{Group: "g", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute}
		mut(&rr)
		_, err := e.c.Receive(ctx, rr)
		return err
	}
	tests := []struct {
		name  string
		call  func() error
		local func() error // the same call in process: the error text must match
		want  []error
		code  codes.Code
	}{
		{"unknown topic", func() error { _, err := e.c.Send(ctx, msg(func(m *store.Message) { m.Topic = "nope" })); return err },
			func() error { _, err := e.b.Send(ctx, msg(func(m *store.Message) { m.Topic = "nope" })); return err },
			[]error{broker.ErrTopicNotFound}, codes.NotFound},
		{"unknown topic lookup", func() error { _, err := e.c.GetTopic("nope"); return err },
			func() error { _, err := e.b.GetTopic("nope"); return err }, []error{broker.ErrTopicNotFound}, codes.NotFound},
		{"unknown group", func() error { _, err := e.c.GetGroup("nope"); return err },
			func() error { _, err := e.b.GetGroup("nope"); return err }, []error{broker.ErrGroupNotFound}, codes.NotFound},
		{"bad handle", func() error { return e.c.Ack(ctx, "g", "orders", "x", "garbage") },
			func() error { return e.b.Ack(ctx, "g", "orders", "x", "garbage") }, []error{broker.ErrInvalidHandle}, codes.FailedPrecondition},
		{"type mismatch", func() error { _, err := e.c.Send(ctx, msg(func(m *store.Message) { m.Topic = "fifo" })); return err },
			func() error { _, err := e.b.Send(ctx, msg(func(m *store.Message) { m.Topic = "fifo" })); return err },
			[]error{broker.ErrTypeMismatch}, codes.InvalidArgument},
		{"bad filter", func() error {
			return recv(func(r *broker.ReceiveRequest) { r.FilterType, r.Filter = broker.FilterSQL, "a = " })
		}, nil, []error{broker.ErrBadFilter}, codes.InvalidArgument},
		{"empty body", func() error { _, err := e.c.Send(ctx, msg(func(m *store.Message) { m.Body = nil })); return err },
			func() error { _, err := e.b.Send(ctx, msg(func(m *store.Message) { m.Body = nil })); return err },
			[]error{broker.ErrBodyEmpty, broker.ErrInvalidArgument}, codes.InvalidArgument},
		{"body too large", func() error {
			_, err := e.c.Send(ctx, msg(func(m *store.Message) { m.Body = make([]byte, 2048) }))
			return err
		}, func() error {
			_, err := e.b.Send(ctx, msg(func(m *store.Message) { m.Body = make([]byte, 2048) }))
			return err
		}, []error{broker.ErrBodyTooLarge, broker.ErrInvalidArgument}, codes.InvalidArgument},
		{"invalid argument", func() error { return recv(func(r *broker.ReceiveRequest) { r.MaxMessages = 0 }) },
			nil, []error{broker.ErrInvalidArgument}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorIs(t, err, w)
			}
			require.NotErrorIs(t, err, broker.ErrClosed)
			require.Equal(t, tc.code, status.Code(err))
			if tc.local != nil {
				require.EqualError(t, err, tc.local().Error(), "the broker's wording reaches the proxy")
			}
		})
	}
}

func TestClosedBrokerIsErrClosed(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.b.Close())
	_, err := e.c.GetTopic("orders")
	require.ErrorIs(t, err, broker.ErrClosed)
	_, err = e.c.Send(context.Background(), []*store.Message{fullMessage("y")})
	require.ErrorIs(t, err, broker.ErrClosed)
	require.Equal(t, codes.Unavailable, status.Code(err))
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)

	bad, err := brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: e.addr, Token: "wrong"})
	require.NoError(t, err)
	defer bad.Close()
	_, err = bad.GetTopic("orders")
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.NotContains(t, err.Error(), token)
	require.NotErrorIs(t, err, broker.ErrTopicNotFound)

	// No credentials at all.
	conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = brokerpb.NewBrokerClient(conn).GetTopic(context.Background(), &brokerpb.GetRequest{Name: "orders"})
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	_, err = brokerrpc.NewServer(brokerrpc.ServerConfig{Broker: e.b, Token: " "})
	require.ErrorContains(t, err, "token is required")
	_, err = brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: e.addr})
	require.ErrorContains(t, err, "token is required")
}

func TestReceiveLongPoll(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rr := broker.ReceiveRequest{Group: "g", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute, PollTimeout: 10 * time.Second}

	t.Run("a message ends the poll", func(t *testing.T) {
		go func() {
			time.Sleep(200 * time.Millisecond)
			_, _ = e.b.Send(ctx, []*store.Message{fullMessage("late")})
		}()
		start := time.Now()
		ds, err := e.c.Receive(ctx, rr)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("the caller's deadline ends the poll", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		ds, err := e.c.Receive(dctx, rr)
		require.Empty(t, ds)
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("the poll timeout ends the poll", func(t *testing.T) {
		short := rr
		short.PollTimeout = 200 * time.Millisecond
		start := time.Now()
		ds, err := e.c.Receive(ctx, short)
		require.NoError(t, err)
		require.Empty(t, ds)
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("stopping the server ends the poll", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			_, err := e.c.Receive(ctx, rr)
			errc <- err
		}()
		time.Sleep(200 * time.Millisecond)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		e.srv.Stop(sctx)
		require.Less(t, time.Since(start), 3*time.Second)
		select {
		case err := <-errc:
			// An empty answer, or the connection closing under the call.
			if err != nil {
				require.True(t, errors.Is(err, context.Canceled) || status.Code(err) == codes.Unavailable, "%v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the long poll outlived the server")
		}
	})
}

func TestLargeBodiesFit(t *testing.T) {
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st, Log: testLog(t)})
	require.NoError(t, err)
	defer st.Close()
	defer b.Close()
	_, err = b.CreateTopic(context.Background(), broker.Topic{Name: "big", Type: broker.TopicNormal, Queues: 1})
	require.NoError(t, err)
	srv, err := brokerrpc.NewServer(brokerrpc.ServerConfig{Broker: b, Token: token})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop(context.Background())
	c, err := brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: ln.Addr().String(), Token: token})
	require.NoError(t, err)
	defer c.Close()

	// A batch of bodies at the 4 MiB limit goes through: gRPC's own 4 MiB
	// default would refuse even one.
	var msgs []*store.Message
	for i := range 4 {
		m := fullMessage("big" + string(rune('a'+i)))
		m.Topic, m.Body = "big", make([]byte, 4<<20)
		msgs = append(msgs, m)
	}
	_, err = c.Send(context.Background(), msgs)
	require.NoError(t, err)
}
