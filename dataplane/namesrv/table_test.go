package namesrv_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/namesrv"
)

// topics is a TopicSource over a fixed map.
type topics map[string]namesrv.Topic

func (m topics) LookupTopic(name string) (namesrv.Topic, error) {
	t, ok := m[name]
	if !ok {
		return namesrv.Topic{}, fmt.Errorf("%w: %s", namesrv.ErrTopicNotFound, name)
	}
	return t, nil
}

func TestTableRouteSingleBroker(t *testing.T) {
	t.Parallel()
	tb := namesrv.New()
	require.NoError(t, tb.Register("broker-0", nil, topics{"orders": {Name: "orders", Type: "FIFO", Queues: 4}}))

	routes, err := tb.Route("orders")
	require.NoError(t, err)
	require.Len(t, routes, 4)
	for i, r := range routes {
		// Queue ids start at 0 and are READ_WRITE (spec §0.5).
		require.Equal(t, int32(i), r.QueueID)
		require.Equal(t, namesrv.PermReadWrite, r.Perm)
		require.Equal(t, "FIFO", r.TopicType)
		require.Equal(t, "broker-0", r.Broker.Name)
		require.Empty(t, r.Broker.Endpoints)
	}

	_, err = tb.Route("missing")
	require.ErrorIs(t, err, namesrv.ErrTopicNotFound)
}

func TestTableRouteSeveralBrokersStableOrder(t *testing.T) {
	t.Parallel()
	tb := namesrv.New()
	require.NoError(t, tb.Register("b", []string{"10.0.0.2:8081"}, topics{"t": {Queues: 2, Type: "NORMAL"}}))
	require.NoError(t, tb.Register("a", []string{"10.0.0.1:8081"}, topics{"t": {Queues: 1, Type: "NORMAL"}}))
	require.NoError(t, tb.Register("c", []string{"10.0.0.3:8081"}, topics{"other": {Queues: 1}}))

	for range 5 {
		routes, err := tb.Route("t")
		require.NoError(t, err)
		var got []string
		for _, r := range routes {
			got = append(got, fmt.Sprintf("%s/%d@%s", r.Broker.Name, r.QueueID, r.Broker.Endpoints[0]))
		}
		require.Equal(t, []string{"a/0@10.0.0.1:8081", "b/0@10.0.0.2:8081", "b/1@10.0.0.2:8081"}, got)
	}

	tb.Unregister("a")
	routes, err := tb.Route("t")
	require.NoError(t, err)
	require.Len(t, routes, 2)
	require.Equal(t, []string{"b", "c"}, names(tb.Brokers()))
}

func names(bs []namesrv.Broker) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return out
}

func TestTableAssignments(t *testing.T) {
	t.Parallel()
	tb := namesrv.New()
	require.NoError(t, tb.Register("b1", nil, topics{"t": {Queues: 3}}))
	require.NoError(t, tb.Register("b2", nil, topics{"t": {Queues: 2}, "ro": {Queues: 2, Perm: namesrv.PermWrite}}))

	// A normal group gets one assignment per broker meaning "any queue".
	as, err := tb.Assignments("t", false)
	require.NoError(t, err)
	require.Len(t, as, 2)
	for _, a := range as {
		require.Equal(t, int32(-1), a.QueueID)
	}
	// A FIFO group gets one per queue.
	as, err = tb.Assignments("t", true)
	require.NoError(t, err)
	require.Len(t, as, 5)

	_, err = tb.Assignments("ro", false)
	require.ErrorIs(t, err, namesrv.ErrNoReadableQueue)
	_, err = tb.Assignments("none", false)
	require.ErrorIs(t, err, namesrv.ErrTopicNotFound)
}

func TestTableRegisterValidates(t *testing.T) {
	t.Parallel()
	tb := namesrv.New()
	require.ErrorIs(t, tb.Register("", nil, topics{}), namesrv.ErrInvalidBroker)
	require.ErrorIs(t, tb.Register("x", nil, nil), namesrv.ErrInvalidBroker)
	require.ErrorIs(t, tb.Register("x", []string{""}, topics{}), namesrv.ErrInvalidBroker)

	eps := []string{"h:1"}
	require.NoError(t, tb.Register("x", eps, topics{}))
	eps[0] = "changed:2"
	b, ok := tb.Broker("x")
	require.True(t, ok)
	require.Equal(t, []string{"h:1"}, b.Endpoints, "the table keeps its own copy")
}

func TestTableLookupErrorsSurface(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tb := namesrv.New()
	require.NoError(t, tb.Register("bad", nil, namesrv.TopicSourceFunc(func(string) (namesrv.Topic, error) { return namesrv.Topic{}, boom })))
	_, err := tb.Route("t")
	require.ErrorIs(t, err, boom)

	// Another broker that has the topic still answers.
	require.NoError(t, tb.Register("good", nil, topics{"t": {Queues: 1}}))
	routes, err := tb.Route("t")
	require.NoError(t, err)
	require.Len(t, routes, 1)
	require.Equal(t, "good", routes[0].Broker.Name)
}

func TestTableConcurrentUse(t *testing.T) {
	t.Parallel()
	tb := namesrv.New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("b%d", i)
			for range 100 {
				if err := tb.Register(name, nil, topics{"t": {Queues: 1}}); err != nil {
					t.Error(err)
					return
				}
				_, _ = tb.Route("t")
				_ = tb.Brokers()
				tb.Unregister(name)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, tb.Brokers())
}
