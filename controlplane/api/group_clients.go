package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// Subscription is one topic a consumer subscribes to.
type Subscription struct {
	TopicName  string `json:"topicName"`
	FilterType string `json:"filterType" enum:"TAG,SQL92,UNSPECIFIED"`
	Expression string `json:"expression" doc:"A tag expression (* for every tag, tagA||tagB) or an SQL92 filter."`
}

// Connection is a client of the group connected to the instance.
type Connection struct {
	ClientID      string         `json:"clientId"`
	ClientType    string         `json:"clientType" enum:"PRODUCER,PUSH_CONSUMER,SIMPLE_CONSUMER,PULL_CONSUMER,UNSPECIFIED" doc:"UNSPECIFIED until the client has sent its settings."`
	Address       string         `json:"address" doc:"host:port the client's latest request came from."`
	Language      string         `json:"language" doc:"The SDK language the client reports, e.g. GOLANG, JAVA."`
	Version       string         `json:"version" doc:"The SDK version the client reports."`
	Hostname      string         `json:"hostname,omitempty"`
	AccessKey     string         `json:"accessKey,omitempty" doc:"The access key the client signs with; empty for anonymous clients."`
	Subscriptions []Subscription `json:"subscriptions"`
	LastHeartbeat time.Time      `json:"lastHeartbeat" doc:"Last heartbeat or request."`
	FirstSeen     time.Time      `json:"firstSeen"`
}

type ConnectionList struct {
	Items         []Connection `json:"items" doc:"Sorted by clientId."`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}

// SubscriptionVariant is one way a topic is subscribed, and by whom.
type SubscriptionVariant struct {
	FilterType string   `json:"filterType" enum:"TAG,SQL92,UNSPECIFIED"`
	Expression string   `json:"expression"`
	ClientIDs  []string `json:"clientIds"`
}

// TopicSubscription is how the group's online consumers subscribe to one topic.
type TopicSubscription struct {
	TopicName  string                `json:"topicName"`
	Consistent bool                  `json:"consistent" doc:"Every online consumer of the group subscribes to the topic with the same filter."`
	Variants   []SubscriptionVariant `json:"variants" doc:"Distinct filters, most used first."`
}

// GroupSubscriptions is what a group's online consumers subscribe to.
type GroupSubscriptions struct {
	GroupID       string              `json:"groupId"`
	Consistent    bool                `json:"consistent" doc:"Every topic is consistent. When false, consumers of the group disagree and messages may be lost to the wrong filter."`
	OnlineClients int32               `json:"onlineClients"`
	Items         []TopicSubscription `json:"items" doc:"Sorted by topic."`
}

var clientKinds = map[adminpb.ClientKind]string{
	adminpb.ClientKind_CLIENT_KIND_PRODUCER:        "PRODUCER",
	adminpb.ClientKind_CLIENT_KIND_PUSH_CONSUMER:   "PUSH_CONSUMER",
	adminpb.ClientKind_CLIENT_KIND_SIMPLE_CONSUMER: "SIMPLE_CONSUMER",
	adminpb.ClientKind_CLIENT_KIND_PULL_CONSUMER:   "PULL_CONSUMER",
}

func filterType(t adminpb.FilterType) string {
	switch t {
	case adminpb.FilterType_FILTER_TYPE_TAG:
		return "TAG"
	case adminpb.FilterType_FILTER_TYPE_SQL:
		return "SQL92"
	}
	return "UNSPECIFIED"
}

func connectionView(c *adminpb.Client) Connection {
	kind, ok := clientKinds[c.GetKind()]
	if !ok {
		kind = "UNSPECIFIED"
	}
	out := Connection{
		ClientID: c.GetClientId(), ClientType: kind, Address: c.GetAddress(), Language: c.GetLanguage(), Version: c.GetVersion(),
		Hostname: c.GetHostname(), AccessKey: c.GetAccessKey(), Subscriptions: make([]Subscription, 0, len(c.GetSubscriptions())),
		LastHeartbeat: c.GetLastHeartbeat().AsTime().UTC(), FirstSeen: c.GetFirstSeen().AsTime().UTC(),
	}
	for _, sub := range c.GetSubscriptions() {
		out.Subscriptions = append(out.Subscriptions, Subscription{TopicName: sub.GetTopic(), FilterType: filterType(sub.GetFilterType()), Expression: sub.GetExpression()})
	}
	return out
}

func (s *Server) registerGroupClients(tags []string, base string) {
	type connectionsInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		GroupID    string `path:"groupId" maxLength:"255"`
		PageSize   int    `query:"pageSize" minimum:"1" maximum:"100" default:"20" doc:"Items per page."`
		PageToken  string `query:"pageToken" maxLength:"1024" doc:"The nextPageToken of the previous page."`
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "listConsumerGroupConnections", Method: http.MethodGet, Path: base + "/{groupId}/connections",
		Summary: "List a consumer group's connections", Description: "The group's consumers online now (a heartbeat or request within the client timeout), read from the node (the instance must be RUNNING).",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *connectionsInput) (*struct{ Body ConnectionList }, error) {
		resp, err := s.resources.GroupConnections(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID, in.PageSize, in.PageToken)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &struct{ Body ConnectionList }{Body: ConnectionList{Items: make([]Connection, 0, len(resp.GetClients())), NextPageToken: resp.GetNextPageToken()}}
		for _, c := range resp.GetClients() {
			out.Body.Items = append(out.Body.Items, connectionView(c))
		}
		return out, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getConsumerGroupSubscriptions", Method: http.MethodGet, Path: base + "/{groupId}/subscriptions",
		Summary: "Get a consumer group's subscriptions", Description: "Per topic, the filters the group's online consumers subscribe with and whether they agree, read from the node (the instance must be RUNNING).",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *groupPath) (*struct{ Body GroupSubscriptions }, error) {
		resp, err := s.resources.GroupSubscriptions(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &struct{ Body GroupSubscriptions }{Body: GroupSubscriptions{
			GroupID: in.GroupID, Consistent: resp.GetConsistent(), OnlineClients: resp.GetClientCount(),
			Items: make([]TopicSubscription, 0, len(resp.GetSubscriptions())),
		}}
		for _, ts := range resp.GetSubscriptions() {
			v := TopicSubscription{TopicName: ts.GetTopic(), Consistent: ts.GetConsistent(), Variants: make([]SubscriptionVariant, 0, len(ts.GetVariants()))}
			for _, va := range ts.GetVariants() {
				v.Variants = append(v.Variants, SubscriptionVariant{
					FilterType: filterType(va.GetFilterType()), Expression: va.GetExpression(), ClientIDs: append([]string{}, va.GetClientIds()...),
				})
			}
			out.Body.Items = append(out.Body.Items, v)
		}
		return out, nil
	}))
}
