package proxy

import (
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRegistryReapsSilentClients(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	var mu sync.Mutex
	var gone []string
	active := -1
	r := newRegistry(clock.Now, 120*time.Second, func(id string) {
		mu.Lock()
		gone = append(gone, id)
		mu.Unlock()
	}, func(n int) { active = n })

	r.touch("a", contact{})
	r.touch("b", contact{})
	r.touch("", contact{}) // requests without a client id are not clients
	require.Equal(t, 2, r.len())
	require.Equal(t, 2, active)

	clock.Advance(100 * time.Second)
	r.touch("b", contact{}) // heartbeat
	clock.Advance(30 * time.Second)
	require.Equal(t, []string{"a"}, r.reap())
	require.Equal(t, []string{"a"}, gone)
	require.Equal(t, 1, active)

	clock.Advance(121 * time.Second)
	require.Equal(t, []string{"b"}, r.reap())
	require.Equal(t, 0, r.len())
	require.Empty(t, r.reap())
}

func TestRegistrySettingsAndStreams(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRegistry(clock.Now, time.Minute, func(string) {}, func(int) {})
	require.Nil(t, r.settings("c"))
	require.Equal(t, defaultRequestTimeout, r.requestTimeout("c"))

	ts := &telemetryStream{}
	in := &v2.Settings{RequestTimeout: durationpb.New(5 * time.Second)}
	r.setSettings("c", in, ts)
	in.RequestTimeout = durationpb.New(time.Hour) // the registry keeps a copy
	require.Equal(t, 5*time.Second, r.requestTimeout("c"))
	require.Equal(t, 5*time.Second, r.settings("c").GetRequestTimeout().AsDuration())

	r.mu.Lock()
	require.Len(t, r.clients["c"].streams, 1)
	r.mu.Unlock()
	r.dropStream("c", ts)
	r.mu.Lock()
	require.Empty(t, r.clients["c"].streams)
	r.mu.Unlock()
	require.NotNil(t, r.settings("c"), "a dropped stream does not forget the client")

	require.True(t, r.remove("c"))
	require.False(t, r.remove("c"))
}

func TestRegistryProducerStreams(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRegistry(clock.Now, time.Minute, func(string) {}, func(int) {})
	publishes := func(topics ...string) *v2.Settings {
		p := &v2.Publishing{}
		for _, name := range topics {
			p.Topics = append(p.Topics, &v2.Resource{Name: name})
		}
		return &v2.Settings{PubSub: &v2.Settings_Publishing{Publishing: p}}
	}
	a1, a2, b, c, d := &telemetryStream{}, &telemetryStream{}, &telemetryStream{}, &telemetryStream{}, &telemetryStream{}
	r.setSettings("b", publishes("pay", "other"), b)
	r.setSettings("a", publishes("pay"), a1)
	r.setSettings("a", publishes("pay"), a2) // a re-opened stream: the newest carries checks
	r.setSettings("c", publishes("other"), c)
	r.setSettings("d", &v2.Settings{PubSub: &v2.Settings_Subscription{Subscription: &v2.Subscription{
		Subscriptions: []*v2.SubscriptionEntry{{Topic: &v2.Resource{Name: "pay"}}},
	}}}, d)
	r.touch("e", contact{}) // known, but no Settings and no stream

	require.Equal(t, []producerStream{{"a", a2}, {"b", b}}, r.producerStreams("pay"), "producers of the topic only, by client id")
	require.Empty(t, r.producerStreams("nobody"))

	r.dropStream("a", a2)
	require.Equal(t, []producerStream{{"a", a1}, {"b", b}}, r.producerStreams("pay"), "another open stream takes over")
	r.dropStream("a", a1)
	require.Equal(t, []producerStream{{"b", b}}, r.producerStreams("pay"), "a client without a stream cannot be asked")
	r.remove("b")
	require.Empty(t, r.producerStreams("pay"))
}

func TestRegistrySnapshot(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRegistry(clock.Now, time.Minute, func(string) {}, func(int) {})

	// Before its Settings a client is what its headers say.
	r.touch("c", contact{addr: "10.0.0.1:5000", language: "GO", version: "5.1.3", accessKey: "ak-1"})
	first := clock.Now()
	require.Equal(t, []ClientInfo{{ID: "c", Address: "10.0.0.1:5000", Language: "GO", Version: "5.1.3", AccessKey: "ak-1",
		FirstSeen: first, LastSeen: first}}, r.snapshot())

	clock.Advance(time.Second)
	ct := v2.ClientType_SIMPLE_CONSUMER
	in := &v2.Settings{
		ClientType: &ct,
		UserAgent:  &v2.UA{Language: v2.Language_GOLANG, Version: "5.1.4", Hostname: "host-a"},
		PubSub: &v2.Settings_Subscription{Subscription: &v2.Subscription{
			Group: &v2.Resource{Name: "g"},
			Subscriptions: []*v2.SubscriptionEntry{
				{Topic: &v2.Resource{Name: "t1"}, Expression: &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "a||b"}},
				{Topic: &v2.Resource{Name: "t2"}, Expression: &v2.FilterExpression{Type: v2.FilterType_SQL, Expression: "x > 1"}},
			},
		}},
	}
	r.setSettings("c", in, nil)
	// A later request from elsewhere that says less keeps the rest.
	clock.Advance(time.Second)
	r.touch("c", contact{addr: "10.0.0.1:6000"})
	got := r.snapshot()
	require.Equal(t, []ClientInfo{{
		ID: "c", Kind: ClientSimpleConsumer, Address: "10.0.0.1:6000",
		Language: "GOLANG", Version: "5.1.4", Hostname: "host-a", // the user agent wins over the headers
		Group: "g", Subscriptions: []ClientSubscription{{"t1", FilterTag, "a||b"}, {"t2", FilterSQL, "x > 1"}},
		AccessKey: "ak-1", FirstSeen: first, LastSeen: clock.Now(),
	}}, got)

	// The snapshot is a copy: changing it or the sent Settings changes
	// nothing in the registry.
	got[0].Subscriptions[0].Expression = "changed"
	in.GetSubscription().GetSubscriptions()[0].GetExpression().Expression = "changed too"
	require.Equal(t, "a||b", r.snapshot()[0].Subscriptions[0].Expression)

	// A producer; a client without Settings; sorted by id.
	ptype := v2.ClientType_PRODUCER
	r.setSettings("a", &v2.Settings{ClientType: &ptype, PubSub: &v2.Settings_Publishing{Publishing: &v2.Publishing{
		Topics: []*v2.Resource{{Name: "t1"}, {Name: "t3"}}}}}, nil)
	r.touch("b", contact{})
	snap := r.snapshot()
	require.Len(t, snap, 3)
	require.Equal(t, []string{"a", "b", "c"}, []string{snap[0].ID, snap[1].ID, snap[2].ID})
	require.Equal(t, ClientProducer, snap[0].Kind)
	require.Equal(t, []string{"t1", "t3"}, snap[0].Topics)
	require.Empty(t, snap[0].Group)
	require.Equal(t, ClientUnknown, snap[1].Kind)

	// Reaped and terminated clients are gone.
	clock.Advance(50 * time.Second)
	r.touch("c", contact{})
	clock.Advance(20 * time.Second)
	require.ElementsMatch(t, []string{"a", "b"}, r.reap())
	require.Equal(t, []string{"c"}, []string{r.snapshot()[0].ID})
	r.remove("c")
	require.Empty(t, r.snapshot())
}
