package proxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// groupCountingBroker is a real broker that counts GetGroup calls by group.
type groupCountingBroker struct {
	*broker.Broker
	mu   sync.Mutex
	gets map[string]int
}

func (c *groupCountingBroker) GetGroup(name string) (broker.Group, error) {
	c.mu.Lock()
	c.gets[name]++
	c.mu.Unlock()
	return c.Broker.GetGroup(name)
}

// takeGets returns the GetGroup calls by group and resets the count.
func (c *groupCountingBroker) takeGets() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gets
	c.gets = map[string]int{}
	return g
}

// servePushTest serves a proxy for b with cfg on 127.0.0.1:0 until the test
// ends and returns a raw protocol client of it.
func servePushTest(t *testing.T, cfg Config) (*Server, v2.MessagingServiceClient) {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	return s, v2.NewMessagingServiceClient(conn)
}

// pushTestBroker is a real broker on an in-memory store with groups of the
// given retry intervals.
func pushTestBroker(t *testing.T, groups map[string]time.Duration) *groupCountingBroker {
	t.Helper()
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: memstore.New(memstore.Config{})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	for name, d := range groups {
		_, err := b.CreateGroup(context.Background(), broker.Group{Name: name, RetryInterval: d})
		require.NoError(t, err)
	}
	return &groupCountingBroker{Broker: b, gets: map[string]int{}}
}

// consumerConn is a push consumer's raw Telemetry stream.
type consumerConn struct {
	t      *testing.T
	id     string
	group  string
	stream grpc.BidiStreamingClient[v2.TelemetryCommand, v2.TelemetryCommand]
}

// connectConsumer opens client id's Telemetry stream and sends its Settings
// as a push consumer of group, subscribed to topic "t0"; it reads the reply.
func connectConsumer(t *testing.T, c v2.MessagingServiceClient, id, group string) *consumerConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", id, "x-mq-language", "GO", "x-mq-protocol", "v2")
	stream, err := c.Telemetry(ctx)
	require.NoError(t, err)
	cc := &consumerConn{t: t, id: id, group: group, stream: stream}
	cc.sync("t0")
	return cc
}

// sendSettings sends the client's Settings, subscribed to topic.
func (c *consumerConn) sendSettings(topic string) {
	c.t.Helper()
	in := clientSettings(v2.ClientType_PUSH_CONSUMER)
	in.PubSub = &v2.Settings_Subscription{Subscription: &v2.Subscription{
		Group:         &v2.Resource{Name: c.group},
		Subscriptions: []*v2.SubscriptionEntry{{Topic: &v2.Resource{Name: topic}, Expression: &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "*"}}},
	}}
	require.NoError(c.t, c.stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: in}}))
}

// next is the next Settings the server sent on the stream.
func (c *consumerConn) next() *v2.Settings {
	c.t.Helper()
	cmd, err := c.stream.Recv()
	require.NoError(c.t, err, "client %s", c.id)
	require.Equal(c.t, int32(v2.Code_OK), int32(cmd.GetStatus().GetCode()))
	s := cmd.GetSettings()
	require.NotNil(c.t, s, "client %s: a Settings command", c.id)
	return s
}

// sync sends the client's Settings subscribed to topic and requires that
// the next command on the stream is their reply: nothing was pushed before
// it.
func (c *consumerConn) sync(topic string) *v2.Settings {
	c.t.Helper()
	c.sendSettings(topic)
	s := c.next()
	require.Equal(c.t, topic, subscribedTopic(s), "client %s: the reply to its Settings, not a push", c.id)
	return s
}

func subscribedTopic(s *v2.Settings) string {
	subs := s.GetSubscription().GetSubscriptions()
	if len(subs) != 1 {
		return ""
	}
	return subs[0].GetTopic().GetName()
}

// pushes is the orbit_proxy_group_settings_pushes_total counter of result
// in reg.
func pushes(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "orbit_proxy_group_settings_pushes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// requireInterval requires a fixed backoff of d in s.
func requireInterval(t *testing.T, d time.Duration, s *v2.Settings) {
	t.Helper()
	exp := s.GetBackoffPolicy().GetExponentialBackoff()
	require.NotNil(t, exp)
	require.Equal(t, d, exp.GetInitial().AsDuration())
	require.Equal(t, d, exp.GetMax().AsDuration())
	require.Equal(t, float32(1), exp.GetMultiplier())
}

// TestPushGroupChanges: two consumers of group G and one of H are
// connected. A poll with no change pushes nothing; after G's retry interval
// changes, a poll pushes each G consumer Settings built from its own last
// Settings with the new interval, and H's consumer gets nothing. Each poll
// reads each group once, however many consumers it has.
func TestPushGroupChanges(t *testing.T) {
	t.Parallel()
	b := pushTestBroker(t, map[string]time.Duration{"G": time.Second, "H": time.Second})
	// The period is never reached: the test runs the polls itself.
	reg := prometheus.NewRegistry()
	s, client := servePushTest(t, Config{Broker: b, GroupPollPeriod: time.Hour, Metrics: reg})
	ctx := context.Background()

	g1 := connectConsumer(t, client, "g1", "G")
	g2 := connectConsumer(t, client, "g2", "G")
	h1 := connectConsumer(t, client, "h1", "H")
	requireInterval(t, time.Second, g1.sync("g1-before"))
	requireInterval(t, time.Second, g2.sync("g2-before"))
	requireInterval(t, time.Second, h1.sync("h1-before"))

	b.takeGets()
	s.pushGroupChanges(ctx)
	require.Equal(t, map[string]int{"G": 1, "H": 1}, b.takeGets(), "one read per group and poll")
	for _, c := range []*consumerConn{g1, g2, h1} {
		c.sync(c.id + "-unchanged")
	}
	require.Zero(t, pushes(t, reg, "sent"))

	_, err := b.UpdateGroup(ctx, broker.Group{Name: "G", RetryInterval: 3 * time.Second, MaxRetries: 4})
	require.NoError(t, err)
	b.takeGets()
	s.pushGroupChanges(ctx)
	require.Equal(t, map[string]int{"G": 1, "H": 1}, b.takeGets(), "one read per group and poll")
	for _, c := range []*consumerConn{g1, g2} {
		pushed := c.next()
		requireInterval(t, 3*time.Second, pushed)
		require.Equal(t, int32(5), pushed.GetBackoffPolicy().GetMaxAttempts())
		require.Equal(t, c.id+"-unchanged", subscribedTopic(pushed), "built from the client's own last Settings")
		require.Equal(t, "G", pushed.GetSubscription().GetGroup().GetName())
		require.Equal(t, int32(consumerReceiveBatch), pushed.GetSubscription().GetReceiveBatchSize())
	}
	requireInterval(t, time.Second, h1.sync("h1-after"))
	require.Equal(t, float64(2), pushes(t, reg, "sent"))

	// Pushed once: the next poll finds nothing new, and replies carry the
	// new definition.
	s.pushGroupChanges(ctx)
	requireInterval(t, 3*time.Second, g1.sync("g1-after"))
	requireInterval(t, 3*time.Second, g2.sync("g2-after"))
	require.Equal(t, float64(2), pushes(t, reg, "sent"))
}

// TestPushGroupChangesBusyStream: a push that finds the stream full is not
// counted as sent, and the next poll tries again.
func TestPushGroupChangesBusyStream(t *testing.T) {
	t.Parallel()
	b := pushTestBroker(t, map[string]time.Duration{"G": time.Second})
	reg := prometheus.NewRegistry()
	s, err := New(Config{Broker: b, GroupPollPeriod: time.Hour, Metrics: reg})
	require.NoError(t, err)
	ctx := context.Background()

	// A stream nobody sends from: its queue fills.
	ts := newTelemetryStream(nil, "")
	in := clientSettings(v2.ClientType_PUSH_CONSUMER)
	in.PubSub = &v2.Settings_Subscription{Subscription: &v2.Subscription{Group: &v2.Resource{Name: "G"}}}
	s.clients.setSettings("c", in, ts)
	g, err := s.readGroup("G")
	require.NoError(t, err)
	ts.sent = sentGroup{group: "G", behaviour: behaviourOf(g), ok: true}
	for ts.push(&v2.TelemetryCommand{}) {
	}

	_, err = b.UpdateGroup(ctx, broker.Group{Name: "G", RetryInterval: 5 * time.Second})
	require.NoError(t, err)
	s.pushGroupChanges(ctx)
	require.Equal(t, float64(1), pushes(t, reg, "busy"))
	require.Zero(t, pushes(t, reg, "sent"))

	for len(ts.out) > 0 {
		<-ts.out
	}
	s.pushGroupChanges(ctx)
	require.Equal(t, float64(1), pushes(t, reg, "sent"))
	require.Len(t, ts.out, 1)
	requireInterval(t, 5*time.Second, (<-ts.out).GetSettings())

	// A stream whose client is gone is not pushed to.
	s.clients.dropStream("c", ts)
	_, err = b.UpdateGroup(ctx, broker.Group{Name: "G", RetryInterval: 7 * time.Second})
	require.NoError(t, err)
	s.pushGroupChanges(ctx)
	require.Empty(t, ts.out)
}

// TestGroupPollRuns: the server polls on its own every GroupPollPeriod and
// stops polling with the server.
func TestGroupPollRuns(t *testing.T) {
	t.Parallel()
	b := pushTestBroker(t, map[string]time.Duration{"G": time.Second})
	_, client := servePushTest(t, Config{Broker: b, GroupPollPeriod: 20 * time.Millisecond})
	c := connectConsumer(t, client, "c", "G")
	_, err := b.UpdateGroup(context.Background(), broker.Group{Name: "G", RetryInterval: 4 * time.Second})
	require.NoError(t, err)
	for {
		// Replies to the client's own Settings (none here) or the push.
		s := c.next()
		if exp := s.GetBackoffPolicy().GetExponentialBackoff(); exp.GetInitial().AsDuration() == 4*time.Second {
			requireInterval(t, 4*time.Second, s)
			return
		}
	}
}
