package admin

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

// consumerOf is a consumer of group subscribing to topic=expr pairs with
// TAG filters ("sql:" prefix: SQL).
func consumerOf(id, group string, subs ...string) ClientInfo {
	c := ClientInfo{ID: id, Kind: "PUSH_CONSUMER", Group: group}
	for i := 0; i+1 < len(subs); i += 2 {
		typ, expr := "TAG", subs[i+1]
		if len(expr) > 4 && expr[:4] == "sql:" {
			typ, expr = "SQL", expr[4:]
		}
		c.Subscriptions = append(c.Subscriptions, ClientSubscription{Topic: subs[i], FilterType: typ, Expression: expr})
	}
	return c
}

type variant struct {
	typ  adminpb.FilterType
	expr string
	ids  []string
}

func TestGroupSubscriptionsConsistency(t *testing.T) {
	t.Parallel()
	tag, sql := adminpb.FilterType_FILTER_TYPE_TAG, adminpb.FilterType_FILTER_TYPE_SQL
	producer := ClientInfo{ID: "p", Kind: "PRODUCER", Topics: []string{"t1"}}
	tests := []struct {
		name       string
		clients    []ClientInfo
		consumers  int32
		consistent bool
		topics     map[string]bool      // topic → consistent
		variants   map[string][]variant // topic → variants, in order
	}{
		{
			name:       "no consumers",
			clients:    []ClientInfo{producer, consumerOf("x", "other", "t1", "*")},
			consistent: true,
			topics:     map[string]bool{},
		},
		{
			name:       "all the same",
			clients:    []ClientInfo{consumerOf("b", "g", "t1", "a||b"), consumerOf("a", "g", "t1", "a||b"), producer},
			consumers:  2,
			consistent: true,
			topics:     map[string]bool{"t1": true},
			variants:   map[string][]variant{"t1": {{tag, "a||b", []string{"a", "b"}}}},
		},
		{
			name:      "one tag list spelled two ways",
			clients:   []ClientInfo{consumerOf("a", "g", "t1", "b || a"), consumerOf("b", "g", "t1", "a||b||a"), consumerOf("c", "g", "t1", " * ")},
			consumers: 3,
			topics:    map[string]bool{"t1": false},
			variants:  map[string][]variant{"t1": {{tag, "a||b", []string{"a", "b"}}, {tag, "*", []string{"c"}}}},
		},
		{
			name: "different tags, most used first",
			clients: []ClientInfo{
				consumerOf("a", "g", "t1", "x"), consumerOf("b", "g", "t1", "*"), consumerOf("c", "g", "t1", "*"),
			},
			consumers: 3,
			topics:    map[string]bool{"t1": false},
			variants:  map[string][]variant{"t1": {{tag, "*", []string{"b", "c"}}, {tag, "x", []string{"a"}}}},
		},
		{
			name:      "same expression, other filter type",
			clients:   []ClientInfo{consumerOf("a", "g", "t1", "sql:x"), consumerOf("b", "g", "t1", "x")},
			consumers: 2,
			topics:    map[string]bool{"t1": false},
			variants:  map[string][]variant{"t1": {{tag, "x", []string{"b"}}, {sql, "x", []string{"a"}}}},
		},
		{
			name: "a topic only some consumers subscribe to",
			clients: []ClientInfo{
				consumerOf("a", "g", "t1", "*", "t2", "*"), consumerOf("b", "g", "t1", "*"),
			},
			consumers: 2,
			topics:    map[string]bool{"t1": true, "t2": false},
			variants: map[string][]variant{
				"t1": {{tag, "*", []string{"a", "b"}}},
				"t2": {{tag, "*", []string{"a"}}},
			},
		},
		{
			name:      "a consumer without subscriptions",
			clients:   []ClientInfo{consumerOf("a", "g", "t1", "*"), consumerOf("b", "g")},
			consumers: 2,
			topics:    map[string]bool{"t1": false},
		},
		{
			name: "clients without Settings and producers do not count",
			clients: []ClientInfo{
				consumerOf("a", "g", "t1", "*"), {ID: "new"}, {ID: "p", Kind: "PRODUCER", Group: "g"},
			},
			consumers:  1,
			consistent: true,
			topics:     map[string]bool{"t1": true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := groupSubscriptions("g", tc.clients)
			require.Equal(t, tc.consumers, got.GetClientCount())
			require.Equal(t, tc.consistent, got.GetConsistent())
			topics := map[string]bool{}
			var order []string
			for _, ts := range got.GetSubscriptions() {
				topics[ts.GetTopic()] = ts.GetConsistent()
				order = append(order, ts.GetTopic())
				want, ok := tc.variants[ts.GetTopic()]
				if !ok {
					continue
				}
				var vs []variant
				for _, v := range ts.GetVariants() {
					vs = append(vs, variant{v.GetFilterType(), v.GetExpression(), v.GetClientIds()})
				}
				require.Equal(t, want, vs, "topic %s", ts.GetTopic())
			}
			require.Equal(t, tc.topics, topics)
			require.IsIncreasing(t, order, "sorted by topic")
		})
	}
}

type fakeClients []ClientInfo

func (f fakeClients) Clients() []ClientInfo { return append([]ClientInfo(nil), f...) }

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// testServer is a Server on a real broker with a memory store; the broker
// is not run (nothing here needs its background work).
func testServer(t *testing.T, cfg Config) (*service, *broker.Broker) {
	t.Helper()
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(); _ = st.Close() })
	cfg.Broker, cfg.Store, cfg.Token = b, st, "token"
	s, err := New(cfg)
	require.NoError(t, err)
	return &service{s: s}, b
}

func TestListClientsAndGroupSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	noProxy, _ := testServer(t, Config{})
	_, err := noProxy.ListClients(ctx, &adminpb.ListClientsRequest{})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "no proxy")
	_, err = noProxy.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: "g"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))

	seen := time.Unix(1000, 0).UTC()
	c1 := consumerOf("c1", "g", "t1", "a")
	c1.Address, c1.Language, c1.Version, c1.AccessKey, c1.FirstSeen, c1.LastSeen = "127.0.0.1:1", "GOLANG", "5.1.4", "ak", seen, seen.Add(time.Second)
	clients := fakeClients{
		{ID: "p1", Kind: "PRODUCER", Topics: []string{"t1"}},
		{ID: "p2", Kind: "PRODUCER", Topics: []string{"t2"}},
		consumerOf("c2", "g", "t1", "b"),
		c1,
		consumerOf("c3", "h", "t2", "*"),
	}
	v, b := testServer(t, Config{Clients: clients})
	_, err = b.CreateGroup(ctx, broker.Group{Name: "g"})
	require.NoError(t, err)

	list := func(req *adminpb.ListClientsRequest) []string {
		resp, err := v.ListClients(ctx, req)
		require.NoError(t, err)
		var ids []string
		for _, c := range resp.GetClients() {
			ids = append(ids, c.GetClientId())
		}
		return ids
	}
	require.Equal(t, []string{"c1", "c2", "c3", "p1", "p2"}, list(&adminpb.ListClientsRequest{}), "sorted by id")
	require.Equal(t, []string{"c1", "c2"}, list(&adminpb.ListClientsRequest{Group: "g"}))
	require.Equal(t, []string{"c1", "c2", "p1"}, list(&adminpb.ListClientsRequest{Topic: "t1"}), "publishers and subscribers")
	require.Equal(t, []string{"c3"}, list(&adminpb.ListClientsRequest{Group: "h", Topic: "t2"}))
	require.Empty(t, list(&adminpb.ListClientsRequest{Group: "nobody"}))

	// Pages of two.
	var pages [][]string
	for token := ""; ; {
		resp, err := v.ListClients(ctx, &adminpb.ListClientsRequest{PageSize: 2, PageToken: token})
		require.NoError(t, err)
		var ids []string
		for _, c := range resp.GetClients() {
			ids = append(ids, c.GetClientId())
		}
		pages = append(pages, ids)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	require.Equal(t, [][]string{{"c1", "c2"}, {"c3", "p1"}, {"p2"}}, pages)
	_, err = v.ListClients(ctx, &adminpb.ListClientsRequest{PageToken: "bogus"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = v.ListClients(ctx, &adminpb.ListClientsRequest{PageSize: 1001})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	resp, err := v.ListClients(ctx, &adminpb.ListClientsRequest{Group: "g", PageSize: 1})
	require.NoError(t, err)
	got := resp.GetClients()[0]
	require.Equal(t, adminpb.ClientKind_CLIENT_KIND_PUSH_CONSUMER, got.GetKind())
	require.Equal(t, "127.0.0.1:1", got.GetAddress())
	require.Equal(t, "GOLANG", got.GetLanguage())
	require.Equal(t, "5.1.4", got.GetVersion())
	require.Equal(t, "ak", got.GetAccessKey())
	require.Equal(t, "g", got.GetGroup())
	require.Equal(t, seen, got.GetFirstSeen().AsTime())
	require.Equal(t, seen.Add(time.Second), got.GetLastHeartbeat().AsTime())
	require.Len(t, got.GetSubscriptions(), 1)
	require.Equal(t, adminpb.FilterType_FILTER_TYPE_TAG, got.GetSubscriptions()[0].GetFilterType())
	require.Equal(t, "a", got.GetSubscriptions()[0].GetExpression())

	subs, err := v.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: "g"})
	require.NoError(t, err)
	require.EqualValues(t, 2, subs.GetClientCount())
	require.False(t, subs.GetConsistent())
	_, err = v.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: "h"})
	require.Equal(t, codes.NotFound, status.Code(err), "h has clients but is no group of this node")
	_, err = v.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestLagSampler(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := &fakeClock{now: time.Unix(5000, 0).UTC()}
	v, b := testServer(t, Config{LagInterval: 10 * time.Second, LagPoints: 3, Now: clock.Now})
	_, err := b.CreateTopic(ctx, broker.Topic{Name: "t", Type: broker.TopicNormal, Queues: 2})
	require.NoError(t, err)
	for _, g := range []string{"g1", "g2"} {
		_, err = b.CreateGroup(ctx, broker.Group{Name: g})
		require.NoError(t, err)
	}
	send := func(n int) {
		for i := range n {
			_, err := b.Send(ctx, []*store.Message{{Topic: "t", MessageID: fmt.Sprintf("m-%d-%d", clock.now.Unix(), i), Type: store.TypeNormal, Body: []byte("x"), BornTime: clock.now}})
			require.NoError(t, err)
		}
	}
	// g1 waits for everything from the start; g2 has no subscription yet.
	require.NoError(t, b.ResetOffset(ctx, "g1", "t", broker.ResetTarget{Earliest: true}))

	history := func(groups ...string) *adminpb.GetLagHistoryResponse {
		resp, err := v.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: groups})
		require.NoError(t, err)
		require.Equal(t, 10*time.Second, resp.GetInterval().AsDuration())
		return resp
	}
	points := func(s *adminpb.LagSeries) (lags []int64, times []int64) {
		for _, p := range s.GetPoints() {
			lags = append(lags, p.GetLag())
			times = append(times, p.GetTime().AsTime().Unix())
		}
		return lags, times
	}
	require.Empty(t, history("g1").GetSeries()[0].GetPoints(), "nothing sampled yet")

	// Five samples, one more message before each: the ring keeps the last three.
	for range 5 {
		send(1)
		require.NoError(t, v.s.sampleLag())
		clock.now = clock.now.Add(10 * time.Second)
	}
	lags, times := points(history("g1").GetSeries()[0])
	require.Equal(t, []int64{3, 4, 5}, lags, "oldest first, bounded")
	require.Equal(t, []int64{5020, 5030, 5040}, times)
	offs, err := b.Offsets("g1", "")
	require.NoError(t, err)
	var total int64
	for _, o := range offs {
		total += o.Lag
	}
	require.EqualValues(t, total, lags[2], "the total GetGroupOffsets reports")

	all := history()
	require.Len(t, all.GetSeries(), 2, "every group, by name")
	require.Equal(t, "g1", all.GetSeries()[0].GetGroup())
	require.Equal(t, "g2", all.GetSeries()[1].GetGroup())
	g2, _ := points(all.GetSeries()[1])
	require.Equal(t, []int64{0, 0, 0}, g2, "a group without subscriptions has no lag")

	// A deleted group's history goes at the next sample.
	require.NoError(t, b.DeleteGroup(ctx, "g2"))
	require.NoError(t, v.s.sampleLag())
	v.s.lag.mu.Lock()
	_, kept := v.s.lag.series["g2"]
	v.s.lag.mu.Unlock()
	require.False(t, kept)
	require.Len(t, history().GetSeries(), 1)

	_, err = v.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: []string{"g2"}})
	require.Equal(t, codes.NotFound, status.Code(err))
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	_, err = v.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: many})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}
