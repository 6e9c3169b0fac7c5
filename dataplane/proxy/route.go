package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/namesrv"
)

// BrokerTopics lets a route table look topics up in b.
func BrokerTopics(b Broker) namesrv.TopicSource {
	return namesrv.TopicSourceFunc(func(name string) (namesrv.Topic, error) {
		t, err := b.GetTopic(name)
		if errors.Is(err, broker.ErrTopicNotFound) {
			return namesrv.Topic{}, fmt.Errorf("%w: %s", namesrv.ErrTopicNotFound, name)
		}
		if err != nil {
			return namesrv.Topic{}, err
		}
		perm := namesrv.PermReadWrite
		if strings.HasPrefix(t.Name, "%DLQ%") {
			perm = namesrv.PermRead // the broker writes dead letters itself
		}
		return namesrv.Topic{Name: t.Name, Type: string(t.Type), Queues: t.Queues, Perm: perm}, nil
	})
}

// parseEndpoints turns "host:port" strings into wire Endpoints. The scheme
// is IPv4/IPv6 for literal addresses and DOMAIN_NAME otherwise, as the Go
// client parses its own access point.
func parseEndpoints(addrs []string) (*v2.Endpoints, error) {
	ep := &v2.Endpoints{Scheme: v2.AddressScheme_DOMAIN_NAME}
	for i, a := range addrs {
		host, portStr, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", a, err)
		}
		port, err := strconv.ParseInt(portStr, 10, 32)
		if err != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("endpoint %q: bad port", a)
		}
		scheme := v2.AddressScheme_DOMAIN_NAME
		if ip := net.ParseIP(host); ip != nil {
			scheme = v2.AddressScheme_IPv4
			if ip.To4() == nil {
				scheme = v2.AddressScheme_IPv6
			}
		}
		if i == 0 {
			ep.Scheme = scheme
		}
		ep.Addresses = append(ep.Addresses, &v2.Address{Host: host, Port: int32(port)})
	}
	return ep, nil
}

// usableEndpoints reports whether a client-sent Endpoints can be echoed:
// at least one address, no empty or unspecified host, a port.
func usableEndpoints(ep *v2.Endpoints) bool {
	if len(ep.GetAddresses()) == 0 {
		return false
	}
	for _, a := range ep.GetAddresses() {
		if a.GetHost() == "" || isUnspecifiedHost(a.GetHost()) || a.GetPort() <= 0 {
			return false
		}
	}
	return true
}

// localEndpoints is the address the client's connection arrived at.
func localEndpoints(ctx context.Context) (*v2.Endpoints, error) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.LocalAddr == nil {
		return nil, errors.New("no local address")
	}
	ep, err := parseEndpoints([]string{p.LocalAddr.String()})
	if err != nil {
		return nil, err
	}
	if !usableEndpoints(ep) {
		return nil, fmt.Errorf("local address %s is not dialable", p.LocalAddr)
	}
	return ep, nil
}

// brokerEndpoints says where clients reach broker b. Every Broker on the wire
// MUST carry at least one address (spec §0.6): registered endpoints first,
// then the advertised address, then the endpoints the client sent (Apache
// echoes them, spec §7.1), then the address the connection arrived at.
func (s *Server) brokerEndpoints(ctx context.Context, b namesrv.Broker, requested *v2.Endpoints) (*v2.Endpoints, error) {
	if len(b.Endpoints) > 0 {
		return parseEndpoints(b.Endpoints)
	}
	if s.advertise != nil {
		return proto.Clone(s.advertise).(*v2.Endpoints), nil
	}
	if usableEndpoints(requested) {
		return proto.Clone(requested).(*v2.Endpoints), nil
	}
	return localEndpoints(ctx)
}

// storeHost names this node in delivered messages.
func (s *Server) storeHost(ctx context.Context) string {
	if s.cfg.Advertise != "" {
		return s.cfg.Advertise
	}
	if p, ok := peer.FromContext(ctx); ok && p.LocalAddr != nil {
		return p.LocalAddr.String()
	}
	return s.cfg.BrokerName
}

func (s *Server) wireQueue(ctx context.Context, r namesrv.QueueRoute, requested *v2.Endpoints, withTypes bool) (*v2.MessageQueue, error) {
	ep, err := s.brokerEndpoints(ctx, r.Broker, requested)
	if err != nil {
		return nil, err
	}
	mq := &v2.MessageQueue{
		Topic:      &v2.Resource{Name: r.Topic},
		Id:         r.QueueID,
		Permission: v2.Permission(r.Perm),
		// Broker id MUST be 0: the Java client keeps only master (id 0)
		// queues (spec §0.5).
		Broker: &v2.Broker{Name: r.Broker.Name, Id: 0, Endpoints: ep},
	}
	if withTypes {
		mq.AcceptMessageTypes = acceptTypes(r.TopicType)
	}
	return mq, nil
}

// QueryRoute answers the queues of a topic (spec §7.1, §11).
func (s *Server) QueryRoute(ctx context.Context, req *v2.QueryRouteRequest) (*v2.QueryRouteResponse, error) {
	mqs, err := s.queryRoute(ctx, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "QueryRoute", st, err, slog.String("client_id", clientIDOf(ctx)), slog.String("topic", req.GetTopic().GetName()))
	return &v2.QueryRouteResponse{Status: st, MessageQueues: mqs}, nil
}

func (s *Server) queryRoute(ctx context.Context, req *v2.QueryRouteRequest) ([]*v2.MessageQueue, error) {
	if clientIDOf(ctx) == "" {
		return nil, reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	topic, err := checkReceiveTopic(req.GetTopic())
	if err != nil {
		return nil, err
	}
	routes, err := s.routes.Route(topic)
	if err != nil {
		return nil, err
	}
	out := make([]*v2.MessageQueue, 0, len(routes))
	for _, r := range routes {
		mq, err := s.wireQueue(ctx, r, req.GetEndpoints(), true)
		if err != nil {
			return nil, err
		}
		out = append(out, mq)
	}
	return out, nil
}

// QueryAssignment answers a push consumer's queues (spec §7.4).
func (s *Server) QueryAssignment(ctx context.Context, req *v2.QueryAssignmentRequest) (*v2.QueryAssignmentResponse, error) {
	as, err := s.queryAssignment(ctx, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "QueryAssignment", st, err, slog.String("client_id", clientIDOf(ctx)),
		slog.String("topic", req.GetTopic().GetName()), slog.String("group", req.GetGroup().GetName()))
	return &v2.QueryAssignmentResponse{Status: st, Assignments: as}, nil
}

func (s *Server) queryAssignment(ctx context.Context, req *v2.QueryAssignmentRequest) ([]*v2.Assignment, error) {
	if clientIDOf(ctx) == "" {
		return nil, reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	topic, err := checkReceiveTopic(req.GetTopic())
	if err != nil {
		return nil, err
	}
	group, err := checkGroup(req.GetGroup())
	if err != nil {
		return nil, err
	}
	g, err := s.cfg.Broker.GetGroup(group)
	if err != nil {
		return nil, err
	}
	routes, err := s.routes.Assignments(topic, g.Orderly)
	if err != nil {
		return nil, err
	}
	out := make([]*v2.Assignment, 0, len(routes))
	for _, r := range routes {
		mq, err := s.wireQueue(ctx, r, req.GetEndpoints(), false)
		if err != nil {
			return nil, err
		}
		out = append(out, &v2.Assignment{MessageQueue: mq})
	}
	return out, nil
}
