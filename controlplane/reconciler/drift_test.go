package reconciler_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/reconciler"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func topicNames(ts []resources.Topic) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func groupNames(gs []resources.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.GroupID)
	}
	return out
}

func nodeTopics(names ...string) []*adminpb.Topic {
	var out []*adminpb.Topic
	for _, n := range names {
		out = append(out, &adminpb.Topic{Name: n})
	}
	return out
}

func nodeGroups(gs ...resources.Group) []*adminpb.Group {
	var out []*adminpb.Group
	for _, g := range gs {
		r := resources.GroupRequest(g)
		out = append(out, &adminpb.Group{Name: r.GetName(), Orderly: r.GetOrderly(), MaxRetries: r.GetMaxRetries(),
			MaxReceiveTps: r.GetMaxReceiveTps(), RetryIntervalSeconds: r.GetRetryIntervalSeconds()})
	}
	return out
}

func TestPlanDrift(t *testing.T) {
	t.Parallel()
	topics := []resources.Topic{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	g1 := resources.Group{GroupID: "g1", DeliveryOrderType: resources.OrderConcurrently, MaxRetryTimes: 16, RetryPolicy: resources.RetryDefault}
	g2 := resources.Group{GroupID: "g2", DeliveryOrderType: resources.OrderOrderly, MaxRetryTimes: 3, RetryPolicy: resources.RetryFixed, FixedIntervalRetryTime: 10}
	groups := []resources.Group{g1, g2}
	capped := resources.Topic{Name: "a", MaxSendTPS: 50}
	tests := []struct {
		name                   string
		topics                 []resources.Topic
		nodeTopics             []*adminpb.Topic
		groups                 []resources.Group
		nodeGroups             []*adminpb.Group
		wantTopics, wantGroups []string
		wantUpdT, wantUpdG     []string
	}{
		{name: "nothing wanted"},
		{name: "converged", topics: topics, nodeTopics: nodeTopics("a", "b", "c"), groups: groups, nodeGroups: nodeGroups(g1, g2)},
		{name: "empty node", topics: topics, groups: groups, wantTopics: []string{"a", "b", "c"}, wantGroups: []string{"g1", "g2"}},
		{name: "node lost one of each", topics: topics, nodeTopics: nodeTopics("a", "c"), groups: groups, nodeGroups: nodeGroups(g2), wantTopics: []string{"b"}, wantGroups: []string{"g1"}},
		{name: "extra names on the node are left alone", topics: topics[:1], nodeTopics: nodeTopics("a", "%DLQ%g1", "manual"), groups: groups[:1], nodeGroups: nodeGroups(g1, resources.Group{GroupID: "other"})},
		{name: "names are case-sensitive", topics: topics[:1], nodeTopics: nodeTopics("A"), wantTopics: []string{"a"}},
		{name: "send cap lost on the node", topics: []resources.Topic{capped}, nodeTopics: nodeTopics("a"), wantUpdT: []string{"a"}},
		{name: "send cap changed by hand", topics: []resources.Topic{capped}, nodeTopics: []*adminpb.Topic{{Name: "a", MaxSendTps: 7}}, wantUpdT: []string{"a"}},
		{name: "send cap kept", topics: []resources.Topic{capped}, nodeTopics: []*adminpb.Topic{{Name: "a", MaxSendTps: 50}}},
		{name: "group made orderly by hand", groups: groups[:1], nodeGroups: nodeGroups(resources.Group{GroupID: "g1", DeliveryOrderType: resources.OrderOrderly, MaxRetryTimes: 16}), wantUpdG: []string{"g1"}},
		{name: "fixed retry interval lost", groups: groups[1:], nodeGroups: nodeGroups(resources.Group{GroupID: "g2", DeliveryOrderType: resources.OrderOrderly, MaxRetryTimes: 3}), wantUpdG: []string{"g2"}},
		{name: "receive cap differs", groups: []resources.Group{{GroupID: "g1", DeliveryOrderType: resources.OrderConcurrently, MaxRetryTimes: 16, RetryPolicy: resources.RetryDefault, MaxReceiveTPS: 9}}, nodeGroups: nodeGroups(g1), wantUpdG: []string{"g1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := reconciler.PlanDrift(tc.topics, tc.nodeTopics, tc.groups, tc.nodeGroups)
			require.Equal(t, tc.wantTopics, topicNames(d.Topics))
			require.Equal(t, tc.wantGroups, groupNames(d.Groups))
			require.Equal(t, tc.wantUpdT, topicNames(d.UpdateTopics))
			require.Equal(t, tc.wantUpdG, groupNames(d.UpdateGroups))
			require.Equal(t, len(tc.wantTopics)+len(tc.wantGroups)+len(tc.wantUpdT)+len(tc.wantUpdG) == 0, d.Empty())
		})
	}
}

// TestLoopRepairsDrift: a RUNNING instance's node that lacks topics or
// groups of the database (or loses one later) gets them back.
func TestLoopRepairsDrift(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		insertInstances(t, db, 1)
		require.NoError(t, db.Exec("UPDATE instances SET status = 'RUNNING', observed_generation = 1, admin_addr = ?, admin_token = ? WHERE id = 'i0'", n.AdminAddr(), nodetest.Token).Error)
		p := newFake(t)
		p.obs["i0"] = provision.Observed{Phase: provision.PhaseRunning, Generation: 1, Endpoint: n.GRPCAddr(), AdminAddr: n.AdminAddr()}

		store := resources.NewStore(db)
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, tp := range []resources.Topic{
			{InstanceID: "i0", Name: "orders", MessageType: resources.TypeFIFO, QueueCount: 4, CreatedAt: now, UpdatedAt: now},
			{InstanceID: "i0", Name: "events", MessageType: resources.TypeNormal, QueueCount: 8, MaxSendTPS: 200, CreatedAt: now, UpdatedAt: now},
		} {
			require.NoError(t, store.CreateTopic(t.Context(), tp, 10))
		}
		require.NoError(t, store.CreateGroup(t.Context(), resources.Group{InstanceID: "i0", GroupID: "billing", DeliveryOrderType: resources.OrderOrderly,
			MaxRetryTimes: 3, RetryPolicy: resources.RetryFixed, FixedIntervalRetryTime: 10, CreatedAt: now, UpdatedAt: now}, 10))
		// The node already has one of them, without its send cap.
		nodetest.CreateTopic(t, n, "events", broker.TopicNormal, 8)

		ctx, cancel := context.WithCancel(context.Background())
		l := &reconciler.Loop{DB: db, Provisioner: p, Owner: "drift", Interval: 10 * time.Millisecond,
			Resources: store, DriftInterval: 10 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); require.NoError(t, <-done) }) }
		t.Cleanup(stop)

		b := n.Broker()
		require.Eventually(t, func() bool {
			_, errT := b.GetTopic("orders")
			_, errG := b.GetGroup("billing")
			return errT == nil && errG == nil
		}, 20*time.Second, 10*time.Millisecond)
		got, err := b.GetTopic("orders")
		require.NoError(t, err)
		require.Equal(t, broker.TopicFIFO, got.Type)
		require.EqualValues(t, 4, got.Queues)
		g, err := b.GetGroup("billing")
		require.NoError(t, err)
		require.True(t, g.Orderly)
		require.EqualValues(t, 3, g.MaxRetries)
		require.Equal(t, 10*time.Second, g.RetryInterval)
		require.Eventually(t, func() bool {
			ev, err := b.GetTopic("events")
			return err == nil && ev.MaxSendTPS == 200
		}, 20*time.Second, 10*time.Millisecond, "the send cap the node lacked is put back")

		// A policy changed on the node by hand is put back too.
		g.RetryInterval, g.MaxReceiveTPS = 0, 5
		_, err = b.UpdateGroup(t.Context(), g)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			g, err := b.GetGroup("billing")
			return err == nil && g.RetryInterval == 10*time.Second && g.MaxReceiveTPS == 0
		}, 20*time.Second, 10*time.Millisecond)

		// A node that loses a topic gets it back.
		require.NoError(t, b.DeleteTopic(t.Context(), "orders"))
		require.Eventually(t, func() bool {
			_, err := b.GetTopic("orders")
			return err == nil
		}, 20*time.Second, 10*time.Millisecond)
		stop()
	})
}
