package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/peer"

	"github.com/orbitmq/orbit/dataplane/acl"
)

// Request headers of the signature (spec §3).
const (
	headerAuthorization = "authorization"
	headerDateTime      = "x-mq-date-time"
)

// ACLAuthenticator requires every call to be signed with an access key of
// Keys and the key to be allowed what the call does: SendMessage,
// EndTransaction and RecallMessage need PUB on the topic; ReceiveMessage,
// AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue
// need SUB on the group and on the topic; anything else (QueryRoute,
// Heartbeat, Telemetry, ...) only a valid, enabled key used from an allowed
// address.
type ACLAuthenticator struct {
	Keys *acl.Store
}

// Authenticate implements Authenticator.
func (a ACLAuthenticator) Authenticate(ctx context.Context, call Call) error {
	first := func(k string) string {
		if v := call.Metadata.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	key, err := a.Keys.Verify(first(headerAuthorization), first(headerDateTime))
	if err != nil {
		return authError(err)
	}
	src := sourceAddr(ctx)
	if err := acl.CheckSource(key, src); err != nil {
		return authError(err)
	}
	for _, r := range resourcesOf(call) {
		if err := acl.Authorize(key, r.typ, r.name, r.action, src); err != nil {
			return authError(err)
		}
	}
	return nil
}

type resourceUse struct {
	typ    acl.ResourceType
	name   string
	action acl.Action
}

// resourcesOf is what call does, by method (issue 6).
func resourcesOf(call Call) []resourceUse {
	pub := func(topic string) resourceUse { return resourceUse{acl.ResourceTopic, topic, acl.ActionPub} }
	sub := func(group, topic string) []resourceUse {
		return []resourceUse{{acl.ResourceGroup, group, acl.ActionSub}, {acl.ResourceTopic, topic, acl.ActionSub}}
	}
	switch r := call.Request.(type) {
	case *v2.SendMessageRequest:
		var out []resourceUse
		seen := map[string]bool{}
		for _, m := range r.GetMessages() {
			if t := m.GetTopic().GetName(); !seen[t] {
				seen[t] = true
				out = append(out, pub(t))
			}
		}
		return out
	case *v2.EndTransactionRequest:
		return []resourceUse{pub(r.GetTopic().GetName())}
	case *v2.RecallMessageRequest:
		return []resourceUse{pub(r.GetTopic().GetName())}
	case *v2.ReceiveMessageRequest:
		return sub(r.GetGroup().GetName(), r.GetMessageQueue().GetTopic().GetName())
	case *v2.AckMessageRequest:
		return sub(r.GetGroup().GetName(), r.GetTopic().GetName())
	case *v2.ChangeInvisibleDurationRequest:
		return sub(r.GetGroup().GetName(), r.GetTopic().GetName())
	case *v2.ForwardMessageToDeadLetterQueueRequest:
		return sub(r.GetGroup().GetName(), r.GetTopic().GetName())
	}
	return nil
}

// authError maps an acl error onto the Authenticator contract, keeping its
// message for the client.
func authError(err error) error {
	if errors.Is(err, acl.ErrForbidden) {
		return &refusal{forbidden: true, msg: err.Error()}
	}
	return &refusal{msg: err.Error()}
}

// refusal is an Authenticator error whose message is meant for the client.
type refusal struct {
	forbidden bool
	msg       string
}

func (r *refusal) Error() string { return r.msg }

func (r *refusal) Unwrap() error {
	if r.forbidden {
		return ErrForbidden
	}
	return ErrUnauthorized
}

func sourceAddr(ctx context.Context) netip.Addr {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Addr{}
	}
	if ta, ok := p.Addr.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
