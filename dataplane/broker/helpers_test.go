package broker_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// clock is the injected time source: expiry follows it, never the wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t   *testing.T
	b   *broker.Broker
	st  store.Store
	clk *clock
	cfg broker.Config
}

// openStore makes the store a test runs on; the store must stamp messages
// with now so time-based tests are deterministic.
type openStore func(t *testing.T, now func() time.Time) store.Store

func memStore(_ *testing.T, now func() time.Time) store.Store {
	return memstore.New(memstore.Config{Now: now})
}

// newEnv is a broker on a memstore with a fake clock.
func newEnv(t *testing.T, opts ...func(*broker.Config)) *env {
	t.Helper()
	return newEnvOn(t, memStore, opts...)
}

func newEnvOn(t *testing.T, open openStore, opts ...func(*broker.Config)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	st := open(t, clk.Now)
	cfg := broker.Config{
		DataDir: t.TempDir(),
		Store:   st,
		Log:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:     clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, st: st, clk: clk, cfg: cfg}
	e.open()
	t.Cleanup(func() {
		if e.b != nil {
			require.NoError(t, e.b.Close())
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	b, err := broker.New(e.cfg)
	require.NoError(e.t, err)
	e.b = b
}

// reopen closes the broker and opens a new one on the same data dir and store.
func (e *env) reopen() {
	e.t.Helper()
	require.NoError(e.t, e.b.Close())
	e.b = nil
	e.open()
}

func (e *env) topic(name string, typ broker.TopicType, queues int32) {
	e.t.Helper()
	_, err := e.b.CreateTopic(context.Background(), broker.Topic{Name: name, Type: typ, Queues: queues})
	require.NoError(e.t, err)
}

func (e *env) group(name string, maxRetries int32) {
	e.t.Helper()
	_, err := e.b.CreateGroup(context.Background(), broker.Group{Name: name, MaxRetries: maxRetries})
	require.NoError(e.t, err)
}

func msg(topic, id string) *store.Message {
	return &store.Message{Topic: topic, MessageID: id, Type: store.TypeNormal, Body: []byte("body-" + id)}
}

// send stores n NORMAL messages with ids prefix-0..n-1; mod may adjust each.
func (e *env) send(topic, prefix string, n int, mod func(i int, m *store.Message)) []broker.SendResult {
	e.t.Helper()
	var msgs []*store.Message
	for i := range n {
		m := msg(topic, fmt.Sprintf("%s-%d", prefix, i))
		if mod != nil {
			mod(i, m)
		}
		msgs = append(msgs, m)
	}
	res, err := e.b.Send(context.Background(), msgs)
	require.NoError(e.t, err)
	require.Len(e.t, res, n)
	return res
}

func recvReq(group, topic string, max int) broker.ReceiveRequest {
	return broker.ReceiveRequest{
		Group: group, Topic: topic, QueueID: -1, MaxMessages: max,
		InvisibleDuration: 30 * time.Second, ClientID: "client-1",
	}
}

// recv receives without long polling.
func (e *env) recv(req broker.ReceiveRequest) []broker.Delivery {
	e.t.Helper()
	out, err := e.b.Receive(context.Background(), req)
	require.NoError(e.t, err)
	return out
}

func (e *env) ackAll(group string, ds []broker.Delivery) {
	e.t.Helper()
	for _, d := range ds {
		require.NoError(e.t, e.b.Ack(context.Background(), group, d.Message.Topic, d.Message.MessageID, d.ReceiptHandle))
	}
}

func ids(ds []broker.Delivery) []string {
	var out []string // nil when empty, to compare with a nil want
	for _, d := range ds {
		out = append(out, d.Message.MessageID)
	}
	return out
}

func sumLag(t *testing.T, b *broker.Broker, group, topic string) (lag int64, inflight int) {
	t.Helper()
	offs, err := b.Offsets(group, topic)
	require.NoError(t, err)
	for _, o := range offs {
		lag += o.Lag
		inflight += o.Inflight
	}
	return lag, inflight
}
