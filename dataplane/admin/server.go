// Package admin is a data-plane node's admin gRPC service
// (orbit.admin.v1.Admin, defined in adminpb/admin.proto): topics, consumer
// groups, group offsets, node statistics, message query and message traces,
// the clients connected to the node's proxy and a history of group lag
// (RunLagSampler, run by the node). The control plane and the `orbit admin` command reach a node only through
// it.
//
// Authentication is built in: Register installs the service so that every
// call must carry the node's admin token as metadata
// `authorization: Bearer <token>`, whatever interceptors the grpc.Server has.
// ServerOptions adds a call log and is optional. The node owns the
// grpc.Server and its listener:
//
//	adm, err := admin.New(admin.Config{Broker: b, Store: st, Token: token, Log: log, Version: v, StartedAt: time.Now()})
//	srv := grpc.NewServer(adm.ServerOptions()...)
//	adm.Register(srv)
//	go srv.Serve(ln)
package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/grpcauth"
	"github.com/orbitmq/orbit/dataplane/store"
)

// Config builds a Server.
type Config struct {
	Broker *broker.Broker // required
	Store  store.Store    // required: node statistics come from it
	// Token is the node's admin token; every call must present it. Required.
	Token     string
	Log       *slog.Logger // nil: discard
	Version   string       // reported by GetNodeStats
	StartedAt time.Time    // start of the node, for uptime; zero: when New ran
	// StoreHost is the node's advertised address, reported as the store
	// host of its messages (QueryMessages, GetMessage, GetTrace).
	StoreHost string
	// Keys are the node's access keys (PutAccessKey, DeleteAccessKey,
	// ListAccessKeys); nil: those calls fail with FailedPrecondition.
	Keys *acl.Store
	// Clients are the clients of the node's proxy (ListClients,
	// GetGroupSubscriptions); nil (a node without a proxy): those calls
	// fail with FailedPrecondition.
	Clients ClientSource
	// LagInterval is the time between samples of RunLagSampler (0:
	// DefaultLagInterval); LagPoints how many samples it keeps per group
	// (0: DefaultLagPoints).
	LagInterval time.Duration
	LagPoints   int
	// Now is the clock of lag samples; nil: time.Now.
	Now func() time.Time
}

// Validate reports configuration that cannot work. It never includes the token.
func (c Config) Validate() error {
	var errs []error
	if c.Broker == nil {
		errs = append(errs, errors.New("a broker is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if strings.TrimSpace(c.Token) == "" {
		errs = append(errs, errors.New("an admin token is required: refusing to serve the admin service without authentication"))
	}
	if c.LagInterval < 0 {
		errs = append(errs, errors.New("lag interval must not be negative (0: the default)"))
	}
	if c.LagPoints < 0 {
		errs = append(errs, errors.New("lag points must not be negative (0: the default)"))
	}
	return errors.Join(errs...)
}

// Server is the admin service of one node.
type Server struct {
	broker    *broker.Broker
	store     store.Store
	log       *slog.Logger
	version   string
	startedAt time.Time
	storeHost string
	auth      *grpcauth.Verifier // the admin token check
	keys      *acl.Store
	clients   ClientSource // nil: no proxy in this node
	lag       *lagHistory
	now       func() time.Time
}

// New checks cfg and returns the admin service. An empty token is an error:
// the service never runs unauthenticated.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("admin config: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := cfg.StartedAt
	if started.IsZero() {
		started = time.Now()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	auth, err := grpcauth.NewVerifier(cfg.Token, "admin token")
	if err != nil {
		return nil, fmt.Errorf("admin config: %w", err)
	}
	return &Server{
		auth:      auth,
		broker:    cfg.Broker,
		store:     cfg.Store,
		log:       log,
		version:   cfg.Version,
		startedAt: started,
		storeHost: cfg.StoreHost,
		keys:      cfg.Keys,
		clients:   cfg.Clients,
		lag:       newLagHistory(cmp.Or(cfg.LagInterval, DefaultLagInterval), cmp.Or(cfg.LagPoints, DefaultLagPoints)),
		now:       now,
	}, nil
}

// Register installs the admin service on g. Every method, including ones
// added to the proto later, checks the admin token before it runs; the check
// runs innermost, after g's own interceptors, so they see rejected calls too.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	desc := adminpb.Admin_ServiceDesc // a copy: the generated descriptor stays untouched
	desc.Methods = slices.Clone(desc.Methods)
	for i := range desc.Methods {
		desc.Methods[i].Handler = s.authUnary(desc.Methods[i].Handler)
	}
	desc.Streams = slices.Clone(desc.Streams)
	for i := range desc.Streams {
		desc.Streams[i].Handler = s.authStream(desc.Streams[i].Handler)
	}
	g.RegisterService(&desc, &service{s: s})
}

// ServerOptions are the options the node should create the admin
// grpc.Server with: a call log (mutations at Info, reads and client errors at
// Debug, authentication failures at Warn). Authentication does not depend on
// them.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.logCalls)}
}

// mutating lists the methods whose successful calls are logged at Info.
var mutating = map[string]bool{
	"CreateTopic": true, "UpdateTopic": true, "DeleteTopic": true,
	"CreateGroup": true, "UpdateGroup": true, "DeleteGroup": true,
	"ResetGroupOffset": true, "ResendDeadLetters": true,
}

func (s *Server) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	op := path.Base(info.FullMethod)
	code := status.Code(err)
	attrs := []any{"op", op, "code", code.String(), "duration", time.Since(start)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, "peer", p.Addr.String())
	}
	switch {
	case code == codes.OK && mutating[op]:
		s.log.InfoContext(ctx, "admin call", attrs...)
	case code == codes.Unauthenticated:
		s.log.WarnContext(ctx, "admin call rejected", append(attrs, "reason", status.Convert(err).Message())...)
	case code == codes.Internal:
		// Already logged with its cause where it was turned into a status.
	default:
		s.log.DebugContext(ctx, "admin call", attrs...)
	}
	return resp, err
}
