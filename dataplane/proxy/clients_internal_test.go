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

	r.touch("a")
	r.touch("b")
	r.touch("") // requests without a client id are not clients
	require.Equal(t, 2, r.len())
	require.Equal(t, 2, active)

	clock.Advance(100 * time.Second)
	r.touch("b") // heartbeat
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
	r.touch("e") // known, but no Settings and no stream

	require.Equal(t, []producerStream{{"a", a2}, {"b", b}}, r.producerStreams("pay"), "producers of the topic only, by client id")
	require.Empty(t, r.producerStreams("nobody"))

	r.dropStream("a", a2)
	require.Equal(t, []producerStream{{"a", a1}, {"b", b}}, r.producerStreams("pay"), "another open stream takes over")
	r.dropStream("a", a1)
	require.Equal(t, []producerStream{{"b", b}}, r.producerStreams("pay"), "a client without a stream cannot be asked")
	r.remove("b")
	require.Empty(t, r.producerStreams("pay"))
}
