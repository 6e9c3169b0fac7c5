package proxy

import (
	"context"
	"slices"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/orbitmq/orbit/dataplane/acl"
)

// Request headers that describe the client (spec §2).
const (
	headerLanguage      = "x-mq-language"
	headerClientVersion = "x-mq-client-version"
)

// ClientKind is what a client is, from its Settings.
type ClientKind string

// Client kinds. The lite consumers count as their plain kinds.
const (
	ClientUnknown        ClientKind = "" // no Settings yet
	ClientProducer       ClientKind = "PRODUCER"
	ClientPushConsumer   ClientKind = "PUSH_CONSUMER"
	ClientSimpleConsumer ClientKind = "SIMPLE_CONSUMER"
	ClientPullConsumer   ClientKind = "PULL_CONSUMER"
)

// FilterType is how a subscription selects messages.
type FilterType string

// Filter types; an unknown one is FilterUnspecified.
const (
	FilterUnspecified FilterType = ""
	FilterTag         FilterType = "TAG"
	FilterSQL         FilterType = "SQL"
)

// ClientSubscription is one topic a consumer subscribes to.
type ClientSubscription struct {
	Topic      string
	FilterType FilterType
	Expression string // "*": every tag
}

// ClientInfo is a snapshot of one client the proxy knows (online: not yet
// terminated or reaped).
type ClientInfo struct {
	ID   string // x-mq-client-id
	Kind ClientKind
	// Address is the gRPC peer (host:port) of the client's latest request.
	Address string
	// Language and Version are the SDK's, from the Settings' user agent or,
	// before that, the x-mq-language and x-mq-client-version headers.
	Language, Version string
	Hostname          string // from the Settings' user agent
	// Group is a consumer's group; Subscriptions its topics.
	Group         string
	Subscriptions []ClientSubscription
	// Topics are the topics a producer declared.
	Topics []string
	// AccessKey is the key the client's requests were verified with; empty
	// when the node does not check signatures. Never a secret or signature.
	AccessKey string
	FirstSeen time.Time
	LastSeen  time.Time
}

// Clients returns a snapshot of the clients the proxy knows, sorted by id.
// The values are copies: callers hold no lock and share nothing with the
// proxy.
func (s *Server) Clients() []ClientInfo { return s.clients.snapshot() }

// snapshot returns every client's info, sorted by id.
func (r *registry) snapshot() []ClientInfo {
	r.mu.Lock()
	out := make([]ClientInfo, 0, len(r.clients))
	for _, c := range r.clients {
		out = append(out, c.info())
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b ClientInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// info describes c; the registry's lock must be held. Everything is copied
// out of the Settings message (strings are immutable).
func (c *clientState) info() ClientInfo {
	ci := ClientInfo{
		ID: c.id, Address: c.from.addr, Language: c.from.language, Version: c.from.version,
		AccessKey: c.from.accessKey, FirstSeen: c.first, LastSeen: c.lastSeen,
	}
	st := c.settings
	if st == nil {
		return ci
	}
	ci.Kind = kindOf(st)
	if ua := st.GetUserAgent(); ua != nil {
		if ua.GetLanguage() != v2.Language_LANGUAGE_UNSPECIFIED {
			ci.Language = ua.GetLanguage().String()
		}
		if ua.GetVersion() != "" {
			ci.Version = ua.GetVersion()
		}
		ci.Hostname = ua.GetHostname()
	}
	if sub := st.GetSubscription(); sub != nil {
		ci.Group = sub.GetGroup().GetName()
		for _, e := range sub.GetSubscriptions() {
			ci.Subscriptions = append(ci.Subscriptions, ClientSubscription{
				Topic:      e.GetTopic().GetName(),
				FilterType: filterTypeOf(e.GetExpression().GetType()),
				Expression: e.GetExpression().GetExpression(),
			})
		}
	}
	for _, t := range st.GetPublishing().GetTopics() {
		ci.Topics = append(ci.Topics, t.GetName())
	}
	return ci
}

// kindOf is the client's kind by its declared type, or by what its Settings
// carry when the type is missing.
func kindOf(st *v2.Settings) ClientKind {
	switch st.GetClientType() {
	case v2.ClientType_PRODUCER:
		return ClientProducer
	case v2.ClientType_PUSH_CONSUMER, v2.ClientType_LITE_PUSH_CONSUMER:
		return ClientPushConsumer
	case v2.ClientType_SIMPLE_CONSUMER, v2.ClientType_LITE_SIMPLE_CONSUMER:
		return ClientSimpleConsumer
	case v2.ClientType_PULL_CONSUMER:
		return ClientPullConsumer
	}
	if st.GetPublishing() != nil {
		return ClientProducer
	}
	return ClientUnknown
}

func filterTypeOf(t v2.FilterType) FilterType {
	switch t {
	case v2.FilterType_TAG:
		return FilterTag
	case v2.FilterType_SQL:
		return FilterSQL
	}
	return FilterUnspecified
}

// contactOf is what ctx's request says about its client: the peer address
// and the SDK headers. The access key is added once the request is
// verified (see admit).
func contactOf(ctx context.Context) contact {
	var c contact
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.addr = p.Addr.String()
	}
	c.language = headerValue(ctx, headerLanguage)
	c.version = headerValue(ctx, headerClientVersion)
	return c
}

// accessKeyOf is the access key of a request's authorization header, or ""
// (acl.ParseAuthorization; only the key is kept, never the signature).
func accessKeyOf(md metadata.MD) string {
	v := md.Get(headerAuthorization)
	if len(v) == 0 {
		return ""
	}
	cred, err := acl.ParseAuthorization(v[0])
	if err != nil {
		return ""
	}
	return cred.AccessKey
}
