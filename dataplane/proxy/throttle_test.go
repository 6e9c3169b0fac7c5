package proxy_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

// fakeClock is the proxy's injected time: the rate limit refills only when
// the test advances it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receivedMessages counts the messages of one ReceiveMessage stream.
func receivedMessages(items []*v2.ReceiveMessageResponse) (int, v2.Code) {
	n := 0
	for _, it := range items {
		if it.GetMessage() != nil {
			n++
		}
	}
	return n, items[0].GetStatus().GetCode()
}

func TestMaxTPSThrottlesSendAndReceive(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "orders", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	clk := &fakeClock{t: time.Now()}
	addr, _ := startProxy(t, b, func(c *proxy.Config) {
		c.MaxTPS = 3
		c.Now = clk.Now
		c.MinPoll = 100 * time.Millisecond
	})
	c := dial(t, addr, false)

	// A full bucket allows 3 sends; the 4th is refused and stores nothing.
	sendN := func(from, n int) []v2.Code {
		var codes []v2.Code
		for i := from; i < from+n; i++ {
			id := fmt.Sprintf("01M%02d", i)
			resp := send(t, c, normalMessage("orders", id, "body-"+id))
			codes = append(codes, resp.GetEntries()[0].GetStatus().GetCode())
			if resp.GetStatus().GetCode() == v2.Code_TOO_MANY_REQUESTS {
				require.Contains(t, resp.GetStatus().GetMessage(), "instance allows 3 messages per second")
			}
		}
		return codes
	}
	require.Equal(t, []v2.Code{v2.Code_OK, v2.Code_OK, v2.Code_OK, v2.Code_TOO_MANY_REQUESTS}, sendN(0, 4))
	offs, err := b.Offsets("g", "orders")
	require.NoError(t, err)
	require.Equal(t, int64(3), offs[0].MaxOffset, "the refused message was not stored")

	// A second later the bucket is full again: 3 more.
	clk.Advance(time.Second)
	require.Equal(t, []v2.Code{v2.Code_OK, v2.Code_OK, v2.Code_OK}, sendN(10, 3))

	// Six messages wait, but the bucket allows only 3 deliveries per second:
	// a receive asking for 16 gets 3, not an error.
	clk.Advance(time.Second)
	req := receiveRequest("g", "orders")
	req.LongPollingTimeout = durationpb.New(300 * time.Millisecond)
	n, code := receivedMessages(receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-1"), req))
	require.Equal(t, v2.Code_OK, code)
	require.Equal(t, 3, n)

	// With the bucket empty (the clock stands still) a receive waits out its
	// poll and answers like an empty queue.
	_, code = receivedMessages(receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-1"), req))
	require.Equal(t, v2.Code_MESSAGE_NOT_FOUND, code)

	clk.Advance(time.Second)
	n, code = receivedMessages(receiveAll(t, c, asClient(testContext(t, 8*time.Second), "consumer-1"), req))
	require.Equal(t, v2.Code_OK, code)
	require.Equal(t, 3, n)
}

func TestMaxTPSNegativeRefused(t *testing.T) {
	t.Parallel()
	_, err := proxy.New(proxy.Config{Broker: newBroker(t), MaxTPS: -1})
	require.ErrorContains(t, err, "MaxTPS must not be negative")
}
