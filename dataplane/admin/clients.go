package admin

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker/filter"
)

// ClientSource lists the clients connected to the node's proxy. The node
// adapts its proxy to it; admin does not depend on the proxy.
type ClientSource interface {
	// Clients returns copies the caller may keep and change.
	Clients() []ClientInfo
}

// ClientInfo is one client connected to the node's proxy.
type ClientInfo struct {
	ID string
	// Kind is PRODUCER, PUSH_CONSUMER, SIMPLE_CONSUMER, PULL_CONSUMER or ""
	// (no Settings yet).
	Kind              string
	Address           string // host:port of its latest request
	Language, Version string
	Hostname          string
	Group             string // consumers
	Subscriptions     []ClientSubscription
	Topics            []string // producers
	AccessKey         string
	FirstSeen         time.Time
	LastSeen          time.Time
}

// ClientSubscription is one topic a consumer subscribes to. FilterType is
// TAG, SQL or "" (unknown).
type ClientSubscription struct {
	Topic      string
	FilterType string
	Expression string
}

// consumer reports whether c is a consumer (of its Group).
func (c ClientInfo) consumer() bool {
	switch c.Kind {
	case "PUSH_CONSUMER", "SIMPLE_CONSUMER", "PULL_CONSUMER":
		return true
	}
	return false
}

// uses reports whether c publishes to or subscribes to topic.
func (c ClientInfo) uses(topic string) bool {
	return slices.Contains(c.Topics, topic) ||
		slices.ContainsFunc(c.Subscriptions, func(s ClientSubscription) bool { return s.Topic == topic })
}

func (v *service) clientList() ([]ClientInfo, error) {
	if v.s.clients == nil {
		return nil, status.Error(codes.FailedPrecondition, "this node runs no proxy: clients connect to the proxy nodes, ask them")
	}
	return v.s.clients.Clients(), nil
}

func (v *service) ListClients(ctx context.Context, req *adminpb.ListClientsRequest) (*adminpb.ListClientsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken("clients", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	all, err := v.clientList()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b ClientInfo) int { return strings.Compare(a.ID, b.ID) })
	var picked []ClientInfo
	for _, c := range all {
		switch {
		case after != "" && c.ID <= after:
		case req.GetGroup() != "" && (c.Group != req.GetGroup() || !c.consumer()):
		case req.GetTopic() != "" && !c.uses(req.GetTopic()):
		default:
			picked = append(picked, c)
		}
	}
	resp := &adminpb.ListClientsResponse{}
	if len(picked) > size {
		picked = picked[:size]
		resp.NextPageToken = encodePageToken("clients", picked[size-1].ID)
	}
	resp.Clients = make([]*adminpb.Client, len(picked))
	for i, c := range picked {
		resp.Clients[i] = toClient(c)
	}
	return resp, nil
}

func (v *service) GetGroupSubscriptions(ctx context.Context, req *adminpb.GetGroupSubscriptionsRequest) (*adminpb.GetGroupSubscriptionsResponse, error) {
	if req.GetGroup() == "" {
		return nil, invalid("group is required")
	}
	all, err := v.clientList()
	if err != nil {
		return nil, err
	}
	if _, err := v.s.broker.GetGroup(req.GetGroup()); err != nil {
		return nil, v.s.toStatus(ctx, "GetGroupSubscriptions", subject{group: req.GetGroup()}, err)
	}
	return groupSubscriptions(req.GetGroup(), all), nil
}

// groupSubscriptions is what the online consumers of group subscribe to, per
// topic: each distinct filter with its clients. A topic is consistent when
// every consumer of the group subscribes to it, all with the same filter.
func groupSubscriptions(group string, clients []ClientInfo) *adminpb.GetGroupSubscriptionsResponse {
	type variant struct {
		typ  string
		expr string
	}
	byTopic := map[string]map[variant][]string{} // topic → filter → client ids
	subscribers := map[string]map[string]bool{}  // topic → client ids
	consumers := 0
	for _, c := range clients {
		if c.Group != group || !c.consumer() {
			continue
		}
		consumers++
		for _, s := range c.Subscriptions {
			if byTopic[s.Topic] == nil {
				byTopic[s.Topic] = map[variant][]string{}
				subscribers[s.Topic] = map[string]bool{}
			}
			f := variant{s.FilterType, canonicalExpression(s.FilterType, s.Expression)}
			if !slices.Contains(byTopic[s.Topic][f], c.ID) {
				byTopic[s.Topic][f] = append(byTopic[s.Topic][f], c.ID)
			}
			subscribers[s.Topic][c.ID] = true
		}
	}
	resp := &adminpb.GetGroupSubscriptionsResponse{Consistent: true, ClientCount: int32(consumers)}
	for topic, filters := range byTopic {
		ts := &adminpb.TopicSubscription{Topic: topic}
		for f, ids := range filters {
			slices.Sort(ids)
			ts.Variants = append(ts.Variants, &adminpb.SubscriptionVariant{
				FilterType: toFilterType(f.typ), Expression: f.expr, ClientIds: ids,
			})
		}
		slices.SortFunc(ts.Variants, func(a, b *adminpb.SubscriptionVariant) int {
			return cmp.Or(cmp.Compare(len(b.ClientIds), len(a.ClientIds)),
				cmp.Compare(a.FilterType, b.FilterType), cmp.Compare(a.Expression, b.Expression))
		})
		ts.Consistent = len(ts.Variants) == 1 && len(subscribers[topic]) == consumers
		resp.Consistent = resp.Consistent && ts.Consistent
		resp.Subscriptions = append(resp.Subscriptions, ts)
	}
	slices.SortFunc(resp.Subscriptions, func(a, b *adminpb.TopicSubscription) int { return strings.Compare(a.Topic, b.Topic) })
	return resp
}

func toClient(c ClientInfo) *adminpb.Client {
	out := &adminpb.Client{
		ClientId: c.ID, Kind: adminpb.ClientKind(adminpb.ClientKind_value["CLIENT_KIND_"+c.Kind]),
		Address: c.Address, Language: c.Language, Version: c.Version, Hostname: c.Hostname,
		Group: c.Group, Topics: slices.Clone(c.Topics), AccessKey: c.AccessKey,
		LastHeartbeat: timestamp(c.LastSeen), FirstSeen: timestamp(c.FirstSeen),
	}
	for _, s := range c.Subscriptions {
		out.Subscriptions = append(out.Subscriptions, &adminpb.ClientSubscription{
			Topic: s.Topic, FilterType: toFilterType(s.FilterType), Expression: s.Expression,
		})
	}
	return out
}

// canonicalExpression spells equivalent filters alike, so "b || a" and
// "a||b" count as one subscription: tag lists sorted, SQL trimmed.
func canonicalExpression(typ, expr string) string {
	if typ == "TAG" {
		return filter.CanonicalTags(expr)
	}
	return strings.TrimSpace(expr)
}

// toFilterType maps TAG and SQL; anything else is UNSPECIFIED.
func toFilterType(s string) adminpb.FilterType {
	return adminpb.FilterType(adminpb.FilterType_value["FILTER_TYPE_"+s])
}
