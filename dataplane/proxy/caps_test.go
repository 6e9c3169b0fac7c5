package proxy_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

// lookupCounter counts the definition lookups the proxy makes.
type lookupCounter struct {
	*broker.Broker
	topics, groups atomic.Int64
}

func (l *lookupCounter) GetTopic(name string) (broker.Topic, error) {
	l.topics.Add(1)
	return l.Broker.GetTopic(name)
}

func (l *lookupCounter) GetGroup(name string) (broker.Group, error) {
	l.groups.Add(1)
	return l.Broker.GetGroup(name)
}

// sendCodes sends n messages to topic, one per request, and returns each
// answer's code, checking that a throttled answer names what throttled it.
func sendCodes(t *testing.T, c v2.MessagingServiceClient, topic string, from, n int, refusal string) []v2.Code {
	t.Helper()
	var codes []v2.Code
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("01C%s%03d", topic, i)
		resp := send(t, c, normalMessage(topic, id, "body-"+id))
		codes = append(codes, resp.GetEntries()[0].GetStatus().GetCode())
		if resp.GetStatus().GetCode() == v2.Code_TOO_MANY_REQUESTS {
			require.Contains(t, resp.GetStatus().GetMessage(), refusal)
		}
	}
	return codes
}

func codesOf(ok, refused int) []v2.Code {
	var out []v2.Code
	for range ok {
		out = append(out, v2.Code_OK)
	}
	for range refused {
		out = append(out, v2.Code_TOO_MANY_REQUESTS)
	}
	return out
}

func stored(t *testing.T, b *broker.Broker, topic string) int64 {
	t.Helper()
	offs, err := b.Offsets("g", topic)
	require.NoError(t, err)
	var n int64
	for _, o := range offs {
		n += o.MaxOffset
	}
	return n
}

// TestTopicSendCap: a topic's max send TPS refuses sends beyond it with
// TOO_MANY_REQUESTS naming the topic and its cap, stores nothing of them,
// leaves other topics alone, reads the definition once per refresh (not per
// message), and follows a changed cap after the refresh.
func TestTopicSendCap(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	_, err := b.CreateTopic(context.Background(), broker.Topic{Name: "capped", Type: broker.TopicNormal, Queues: 1, MaxSendTPS: 3})
	require.NoError(t, err)
	createTopic(t, b, "open", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	lc := &lookupCounter{Broker: b}
	clk := &fakeClock{t: time.Now()}
	addr, _ := startProxy(t, lc, func(c *proxy.Config) { c.Now = clk.Now })
	c := dial(t, addr, false)
	const refusal = "topic capped allows 3 messages per second"

	require.Equal(t, codesOf(3, 2), sendCodes(t, c, "capped", 0, 5, refusal))
	require.EqualValues(t, 3, stored(t, b, "capped"), "refused messages are not stored")
	require.Equal(t, codesOf(20, 0), sendCodes(t, c, "open", 0, 20, ""), "another topic is not capped")
	require.EqualValues(t, 20, stored(t, b, "open"))
	require.EqualValues(t, 2, lc.topics.Load(), "one lookup per topic while the clock stands still")

	// A second later the bucket is full again.
	clk.Advance(time.Second)
	require.Equal(t, codesOf(3, 1), sendCodes(t, c, "capped", 10, 4, refusal))

	// A raised cap applies once the definition is read again.
	capped, err := b.GetTopic("capped")
	require.NoError(t, err)
	capped.MaxSendTPS = 6
	_, err = b.UpdateTopic(context.Background(), capped)
	require.NoError(t, err)
	require.Equal(t, codesOf(0, 1), sendCodes(t, c, "capped", 20, 1, refusal), "the old cap holds until the refresh")
	clk.Advance(time.Second)
	require.Equal(t, codesOf(6, 1), sendCodes(t, c, "capped", 30, 7, "topic capped allows 6 messages per second"))

	// Cap 0: no cap.
	capped.MaxSendTPS = 0
	_, err = b.UpdateTopic(context.Background(), capped)
	require.NoError(t, err)
	clk.Advance(time.Second)
	require.Equal(t, codesOf(30, 0), sendCodes(t, c, "capped", 40, 30, ""))
	require.EqualValues(t, 3+3+6+30, stored(t, b, "capped"))
}

// TestTopicSendCapWithInstanceLimit: the topic cap and the instance's
// MaxTPS both apply; a send the topic refuses costs the instance nothing.
func TestTopicSendCapWithInstanceLimit(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	_, err := b.CreateTopic(context.Background(), broker.Topic{Name: "capped", Type: broker.TopicNormal, Queues: 1, MaxSendTPS: 2})
	require.NoError(t, err)
	createTopic(t, b, "open", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	clk := &fakeClock{t: time.Now()}
	addr, _ := startProxy(t, b, func(c *proxy.Config) {
		c.Now = clk.Now
		c.MaxTPS = 5
	})
	c := dial(t, addr, false)
	require.Equal(t, codesOf(2, 3), sendCodes(t, c, "capped", 0, 5, "topic capped allows 2 messages per second"))
	require.Equal(t, codesOf(3, 1), sendCodes(t, c, "open", 0, 4, "instance allows 5 messages per second"),
		"the instance had 5 tokens and the refused sends took none")
	require.EqualValues(t, 2, stored(t, b, "capped"))
	require.EqualValues(t, 3, stored(t, b, "open"))
}

// TestGroupReceiveCap: a group's max receive TPS makes a receive return
// fewer messages, or wait and answer like an empty queue, never fail;
// another group reading the same topic is not limited.
func TestGroupReceiveCap(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "orders", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "slow", MaxReceiveTPS: 2})
	createGroup(t, b, broker.Group{Name: "fast"})
	lc := &lookupCounter{Broker: b}
	clk := &fakeClock{t: time.Now()}
	addr, _ := startProxy(t, lc, func(c *proxy.Config) {
		c.Now = clk.Now
		c.MinPoll = 100 * time.Millisecond
	})
	c := dial(t, addr, false)
	require.Equal(t, codesOf(6, 0), sendCodes(t, c, "orders", 0, 6, ""))

	receive := func(group string) (int, v2.Code) {
		req := receiveRequest(group, "orders")
		req.BatchSize = 16
		req.LongPollingTimeout = durationpb.New(300 * time.Millisecond)
		return receivedMessages(receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-"+group), req))
	}
	steps := []struct {
		name    string
		group   string
		advance time.Duration
		n       int
		code    v2.Code
	}{
		{"a full bucket gives 2 of 6", "slow", 0, 2, v2.Code_OK},
		{"an empty bucket waits out the poll", "slow", 0, 0, v2.Code_MESSAGE_NOT_FOUND},
		{"an uncapped group gets everything", "fast", 0, 6, v2.Code_OK},
		{"a second later, 2 more", "slow", time.Second, 2, v2.Code_OK},
		{"half a second: 1", "slow", 500 * time.Millisecond, 1, v2.Code_OK},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		n, code := receive(s.group)
		require.Equal(t, s.code, code, s.name)
		require.Equal(t, s.n, n, s.name)
	}
	require.LessOrEqual(t, lc.groups.Load(), int64(4), "group definitions are read once per refresh, not per receive")

	// Lifting the cap lets everything waiting through at once after the
	// refresh: the one message left and 6 more.
	require.Equal(t, codesOf(6, 0), sendCodes(t, c, "orders", 10, 6, ""))
	_, err := b.UpdateGroup(context.Background(), broker.Group{Name: "slow"})
	require.NoError(t, err)
	clk.Advance(time.Second)
	n, code := receive("slow")
	require.Equal(t, v2.Code_OK, code)
	require.Equal(t, 7, n)
}
