package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/namesrv"
)

// Request headers (spec §2).
const (
	headerClientID = "x-mq-client-id"
)

// errStopping is returned to requests that arrive during shutdown.
var errStopping = errors.New("proxy stopping")

// Server is the RocketMQ 5 gRPC endpoint of a node.
type Server struct {
	v2.UnimplementedMessagingServiceServer

	cfg       Config
	routes    *namesrv.Table
	advertise *v2.Endpoints // nil: echo request endpoints
	tls       *tls.Config
	log       *slog.Logger
	metrics   *metrics
	clients   *registry
	grpc      *grpc.Server
	txnRR     atomic.Uint64 // rotates transaction checks among a topic's producers
	tps       *tpsBucket    // nil: no rate limit (Config.MaxTPS 0)
	caps      *caps         // topics' send caps and groups' receive caps

	bgOnce   sync.Once
	bgCtx    context.Context // background loops; canceled by Stop
	bgCancel context.CancelFunc
	bgDone   sync.WaitGroup

	stopping chan struct{} // closed when Stop begins: long polls and streams end
	stopOnce sync.Once
}

// New builds a Server; it serves once Serve is called.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		routes:   cfg.Routes,
		log:      cfg.Log,
		stopping: make(chan struct{}),
		caps:     newCaps(cfg.Broker, cfg.Now, cfg.Log),
	}
	if cfg.MaxTPS > 0 {
		s.tps = newTPSBucket(cfg.MaxTPS, cfg.Now)
	}
	if cfg.Advertise != "" {
		ep, err := parseEndpoints([]string{cfg.Advertise})
		if err != nil {
			return nil, fmt.Errorf("proxy config: %w", err)
		}
		s.advertise = ep
	}
	if s.routes == nil {
		s.routes = namesrv.New()
	}
	if _, ok := s.routes.Broker(cfg.BrokerName); !ok {
		var eps []string
		if cfg.Advertise != "" {
			eps = []string{cfg.Advertise}
		}
		if err := s.routes.Register(cfg.BrokerName, eps, BrokerTopics(cfg.Broker)); err != nil {
			return nil, fmt.Errorf("register local broker: %w", err)
		}
	}
	if cfg.TLSConfig != nil {
		s.tls = withH2(cfg.TLSConfig)
	} else {
		host, _, _ := net.SplitHostPort(cfg.Advertise)
		t, err := selfSignedTLS(cfg.Now(), host)
		if err != nil {
			return nil, err
		}
		s.tls = t
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.clients = newRegistry(cfg.Now, cfg.ClientTimeout, s.clientGone, func(n int) { m.activeClients.Set(float64(n)) })
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())

	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgBytes),
		grpc.ConnectionTimeout(cfg.HandshakeTimeout),
		// Apache closes connections idle for 120 s (spec §1); clients
		// reconnect transparently. Clients that ping are tolerated.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 120 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	)
	v2.RegisterMessagingServiceServer(s.grpc, s)
	return s, nil
}

// Serve serves TLS and plaintext gRPC on ln until ctx ends or Stop is called;
// then it stops gracefully within Config.ShutdownTimeout and returns nil.
// ln is closed on return. Serve may be called for several listeners.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	select {
	case <-s.stopping:
		_ = ln.Close()
		return grpc.ErrServerStopped
	default:
	}
	s.bgOnce.Do(func() {
		s.bgDone.Add(3)
		go func() {
			defer s.bgDone.Done()
			s.clients.run(s.bgCtx)
		}()
		go func() {
			defer s.bgDone.Done()
			s.runTxnChecks(s.bgCtx)
		}()
		go func() {
			defer s.bgDone.Done()
			s.runGroupPoll(s.bgCtx)
		}()
	})
	sl := newSniffListener(ln, s.tls, s.cfg.HandshakeTimeout, s.log)
	s.log.Info("proxy serving", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(sl) }()
	select {
	case <-ctx.Done():
		s.Stop()
		<-errc
		return nil
	case err := <-errc:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve rocketmq grpc: %w", err)
		}
		return nil
	}
}

// Stop ends long polls and telemetry streams, lets in-flight RPCs finish
// within Config.ShutdownTimeout, then closes every connection. It is safe to
// call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.stopping)
		s.bgCancel()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		t := time.NewTimer(s.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			s.log.Warn("proxy graceful stop timed out; closing connections")
			s.grpc.Stop()
			<-done
		}
		s.bgDone.Wait()
		s.log.Info("proxy stopped")
	})
}

// clientGone releases what a departed client held in the broker.
func (s *Server) clientGone(id string) {
	s.log.Info("client gone", slog.String("client_id", id))
	s.cfg.Broker.ClientGone(id)
}

// withStop returns ctx canceled also when the server stops.
func (s *Server) withStop(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.bgCtx, func() { cancel(errStopping) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// withCaller names the calling client on ctx for the broker (traces record
// who produced and consumed): its client id and the address it connected
// from.
func withCaller(ctx context.Context) context.Context {
	c := broker.Caller{ClientID: clientIDOf(ctx)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.Addr = p.Addr.String()
	}
	return broker.WithCaller(ctx, c)
}

func clientIDOf(ctx context.Context) string {
	return headerValue(ctx, headerClientID)
}

func headerValue(ctx context.Context, key string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// methodName is the short RPC name of a full gRPC method.
func methodName(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

type statusGetter interface{ GetStatus() *v2.Status }

// admit authenticates call when the node checks signatures, and records it
// as activity of its client (any RPC counts as a heartbeat) with what the
// request says about the client: the access key only once it is verified.
func (s *Server) admit(ctx context.Context, call Call) error {
	from := contactOf(ctx)
	var err error
	if s.cfg.Authenticator != nil {
		if err = s.cfg.Authenticator.Authenticate(ctx, call); err == nil {
			from.accessKey = accessKeyOf(call.Metadata)
		}
	}
	s.clients.touch(clientIDOf(ctx), from)
	return err
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := methodName(info.FullMethod)
	md, _ := metadata.FromIncomingContext(ctx)
	if err := s.admit(ctx, Call{Method: method, Metadata: md, Request: req}); err != nil {
		st := authStatus(err)
		s.log.DebugContext(ctx, "request not authenticated", slog.String("op", method), slog.String("client_id", clientIDOf(ctx)))
		if resp := statusResponse(method, st, req); resp != nil {
			s.countRPC(method, st.GetCode().String())
			return resp, nil
		}
		s.countRPC(method, "grpc_Unauthenticated")
		return nil, status.Error(grpcUnauthenticated, st.GetMessage())
	}
	resp, err := handler(withCaller(ctx), req)
	code := "OK"
	if err != nil {
		code = "grpc_" + status.Code(err).String()
	} else if sg, ok := resp.(statusGetter); ok {
		code = sg.GetStatus().GetCode().String()
	}
	s.countRPC(method, code)
	return resp, err
}

func (s *Server) countRPC(method, code string) {
	s.metrics.rpcs.WithLabelValues(method, code).Inc()
}

// recordingStream remembers the last RocketMQ status a server stream sent,
// and gives the handler a context naming the caller.
type recordingStream struct {
	grpc.ServerStream
	ctx  context.Context
	code string
}

func (r *recordingStream) Context() context.Context { return r.ctx }

func (r *recordingStream) SendMsg(m any) error {
	if resp, ok := m.(*v2.ReceiveMessageResponse); ok && resp.GetStatus() != nil {
		r.code = resp.GetStatus().GetCode().String()
	}
	return r.ServerStream.SendMsg(m)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	method := methodName(info.FullMethod)
	ctx := ss.Context()
	md, _ := metadata.FromIncomingContext(ctx)
	call := Call{Method: method, Metadata: md}
	if s.cfg.Authenticator != nil && method == "ReceiveMessage" {
		// Authorization needs the group and topic: read the request here
		// and hand it to the handler (auth.go).
		req := new(v2.ReceiveMessageRequest)
		if err := ss.RecvMsg(req); err != nil {
			return err
		}
		call.Request = req
		ss = &preReadStream{ServerStream: ss, req: req}
	}
	if err := s.admit(ctx, call); err != nil {
		st := authStatus(err)
		s.log.DebugContext(ctx, "stream not authenticated", slog.String("op", method), slog.String("client_id", clientIDOf(ctx)))
		if method == "ReceiveMessage" {
			s.countRPC(method, st.GetCode().String())
			return ss.SendMsg(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: st}})
		}
		// Telemetry: Go fails Start() only on a stream error (spec §3).
		s.countRPC(method, "grpc_Unauthenticated")
		return status.Error(grpcUnauthenticated, st.GetMessage())
	}
	rs := &recordingStream{ServerStream: ss, ctx: withCaller(ctx)}
	err := handler(srv, rs)
	code := rs.code
	switch {
	case err != nil:
		code = "grpc_" + status.Code(err).String()
	case code == "":
		code = "OK"
	}
	s.countRPC(method, code)
	return err
}
