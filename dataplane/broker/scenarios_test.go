package broker_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// storeScenarios runs the broker's core behaviours over one Store
// implementation, so every store is exercised through the broker as well as
// by its own conformance suite. The other tests use the memstore only.
func storeScenarios(t *testing.T, open openStore) {
	t.Run("send receive ack", func(t *testing.T) {
		t.Parallel()
		e := newEnvOn(t, open)
		e.topic("t", broker.TopicNormal, 4)
		e.group("g", 0)
		e.send("t", "m", 50, nil)
		var got []broker.Delivery
		for len(got) < 50 {
			ds := e.recv(recvReq("g", "t", 32))
			require.NotEmpty(t, ds)
			got = append(got, ds...)
		}
		require.Len(t, got, 50)
		e.ackAll("g", got)
		lag, inflight := sumLag(t, e.b, "g", "t")
		require.Zero(t, lag)
		require.Zero(t, inflight)
	})
	t.Run("redelivery and dead letter", func(t *testing.T) {
		t.Parallel()
		e := newEnvOn(t, open)
		e.topic("t", broker.TopicNormal, 1)
		e.group("g", 1)
		e.group("r", 0)
		e.send("t", "m", 1, nil)
		first := e.recv(recvReq("g", "t", 1))
		e.clk.Advance(time.Minute)
		second := e.recv(recvReq("g", "t", 1))
		require.Len(t, second, 1)
		require.Equal(t, int32(2), second[0].Attempt)
		require.ErrorIs(t, e.b.Ack(context.Background(), "g", "t", "", first[0].ReceiptHandle), broker.ErrInvalidHandle)
		e.clk.Advance(time.Minute)
		require.Empty(t, e.recv(recvReq("g", "t", 1)))
		dead := e.recv(recvReq("r", broker.DLQTopic("g"), 1))
		require.Len(t, dead, 1)
		require.Equal(t, "t", dead[0].Message.OriginTopic)
		require.Equal(t, "m-0", dead[0].Message.OriginMessageID)
		require.Equal(t, int32(2), dead[0].Message.DeliveryAttempt)
	})
	t.Run("reset by time and persist", func(t *testing.T) {
		t.Parallel()
		e := newEnvOn(t, open)
		e.topic("t", broker.TopicNormal, 2)
		e.group("g", 0)
		t0 := e.clk.Now()
		e.send("t", "old", 4, nil)
		e.clk.Advance(time.Hour)
		e.send("t", "new", 4, nil)
		e.ackAll("g", e.recv(recvReq("g", "t", 32)))
		require.NoError(t, e.b.ResetOffset(context.Background(), "g", "t", broker.ResetTarget{Time: t0.Add(time.Minute)}))
		e.reopen()
		got := ids(e.recv(recvReq("g", "t", 32)))
		sort.Strings(got)
		require.Equal(t, []string{"new-0", "new-1", "new-2", "new-3"}, got)
	})
	t.Run("long poll wakes on append", func(t *testing.T) {
		t.Parallel()
		e := newEnvOn(t, open)
		e.topic("t", broker.TopicNormal, 2)
		e.group("g", 0)
		req := recvReq("g", "t", 10)
		req.PollTimeout = time.Hour
		done := waitingReceive(t, e, req)
		e.send("t", "m", 1, nil)
		r := <-done
		require.NoError(t, r.err)
		require.Equal(t, []string{"m-0"}, ids(r.ds))
	})
}

func TestScenariosMemstore(t *testing.T) {
	t.Parallel()
	storeScenarios(t, memStore)
}
