package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

type result struct {
	ds  []broker.Delivery
	err error
}

// waitingReceive starts a long-polling receive and returns once it has
// blocked (the poll-wait hook fired), so whatever the test does next happens
// while the receiver waits.
func waitingReceive(t *testing.T, e *env, req broker.ReceiveRequest) <-chan result {
	t.Helper()
	var once sync.Once
	blocked := make(chan struct{})
	broker.SetPollWaitHook(e.b, func() { once.Do(func() { close(blocked) }) })
	done := make(chan result, 1)
	go func() {
		ds, err := e.b.Receive(context.Background(), req)
		done <- result{ds, err}
	}()
	select {
	case <-blocked:
	case r := <-done:
		t.Fatalf("receive returned before waiting: %+v", r)
	}
	return done
}

func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 4)
	e.group("g", 0)
	req := recvReq("g", "t", 10)
	// Far longer than any test run: only the append can end this receive.
	req.PollTimeout = time.Hour
	done := waitingReceive(t, e, req)
	e.send("t", "m", 1, nil)
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, []string{"m-0"}, ids(r.ds))
}

func TestLongPollWakesOnNack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	e.send("t", "m", 1, nil)
	d := e.recv(recvReq("g", "t", 1))[0]
	req := recvReq("g", "t", 10)
	req.PollTimeout = time.Hour
	done := waitingReceive(t, e, req)
	_, err := e.b.ChangeInvisible(context.Background(), "g", "t", "", d.ReceiptHandle, 0)
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	require.Len(t, r.ds, 1)
	require.Equal(t, int32(2), r.ds[0].Attempt)
}

func TestLongPollEndsEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 2)
	e.group("g", 0)

	req := recvReq("g", "t", 10)
	req.PollTimeout = 50 * time.Millisecond
	ds, err := e.b.Receive(context.Background(), req)
	require.NoError(t, err, "nothing ready is not an error")
	require.Empty(t, ds)

	// A cancelled context ends the wait the same way.
	ctx, cancel := context.WithCancel(context.Background())
	req.PollTimeout = time.Hour
	var once sync.Once
	broker.SetPollWaitHook(e.b, func() { once.Do(cancel) })
	ds, err = e.b.Receive(ctx, req)
	require.NoError(t, err)
	require.Empty(t, ds)
}

func TestLongPollEndsOnClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	req := recvReq("g", "t", 10)
	req.PollTimeout = time.Hour
	done := waitingReceive(t, e, req)
	require.NoError(t, e.b.Close())
	r := <-done
	require.ErrorIs(t, r.err, broker.ErrClosed)
	e.open() // for the cleanup's Close
}

func TestLongPollSkipsFilteredMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	req := recvReq("g", "t", 10)
	req.FilterType, req.Filter = broker.FilterTag, "wanted"
	req.PollTimeout = time.Hour
	done := waitingReceive(t, e, req)
	e.send("t", "skip", 3, nil) // untagged: consumed silently, keep waiting
	e.send("t", "keep", 1, func(_ int, m *store.Message) { m.Tag = "wanted" })
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, []string{"keep-0"}, ids(r.ds))
}

func TestLongPollEndsWhenGroupDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.topic("t", broker.TopicNormal, 1)
	e.group("g", 0)
	req := recvReq("g", "t", 10)
	req.PollTimeout = time.Hour
	done := waitingReceive(t, e, req)
	require.NoError(t, e.b.DeleteGroup(context.Background(), "g"))
	r := <-done
	require.NoError(t, r.err)
	require.Empty(t, r.ds)
}
