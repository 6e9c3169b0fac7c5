// Package brokerrpc carries the broker's API over the network, so a RocketMQ
// proxy can run in another process than the broker (`orbit node --roles
// proxy` in front of `orbit node --roles broker`). The service
// (orbit.broker.v1.Broker, brokerpb/broker.proto) is internal: both ends ship
// in the same binary. Client implements proxy.Broker; Server wraps a
// *broker.Broker. Broker errors keep their identity across the wire: the
// client's errors match the same broker and store sentinels with errors.Is.
// The broker.Caller of a call's context crosses too (caller.go).
//
// Every call must carry the broker node's admin token as metadata
// "authorization: Bearer <token>".
package brokerrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
	"github.com/orbitmq/orbit/dataplane/grpcauth"
	"github.com/orbitmq/orbit/dataplane/store"
)

// DefaultMaxMessageBytes bounds one call either way: a send batch of 32
// bodies of 4 MiB with their properties, like the proxy's own receive limit,
// and a receive answer (the broker caps it at 16 MiB of bodies plus one
// message).
const DefaultMaxMessageBytes = 130 << 20

// errStopping ends long polls when the server stops.
var errStopping = errors.New("broker rpc server stopping")

// Backend is what a Server serves: *broker.Broker (tests substitute a
// wrapper to produce errors the real broker cannot be driven into cheaply).
type Backend interface {
	Send(ctx context.Context, msgs []*store.Message) ([]broker.SendResult, error)
	Receive(ctx context.Context, req broker.ReceiveRequest) ([]broker.Delivery, error)
	Ack(ctx context.Context, group, topic, messageID, handle string) error
	ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error)
	ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error
	ClientGone(clientID string)
	GetGroup(name string) (broker.Group, error)
	GetTopic(name string) (broker.Topic, error)
	ListTopics(after string, limit int) []broker.Topic
	EndTransaction(ctx context.Context, topic, messageID, transactionID string, r broker.Resolution, fromCheck bool) error
	Recall(ctx context.Context, topic, handle string) (string, error)
	TakeTxnChecks(ctx context.Context, max int) ([]broker.TxnCheck, error)
}

var _ Backend = (*broker.Broker)(nil)

// ServerConfig builds a Server.
type ServerConfig struct {
	Broker Backend // required: the node's *broker.Broker
	// Token is the broker node's admin token; every call must present it.
	// Required: the service never runs unauthenticated.
	Token string
	// Keys are the node's access keys, which ListAccessKeys serves (with
	// their secrets) to proxy nodes; nil: the call fails.
	Keys            *acl.Store
	Log             *slog.Logger // nil: discard
	MaxMessageBytes int          // 0: DefaultMaxMessageBytes
}

// Server serves the broker service for remote proxies.
type Server struct {
	brokerpb.UnimplementedBrokerServer

	b    Backend
	keys *acl.Store
	log  *slog.Logger
	auth *grpcauth.Verifier
	grpc *grpc.Server

	stopCtx  context.Context // canceled when Stop begins: long polls answer at once
	stop     context.CancelCauseFunc
	stopOnce sync.Once
}

// NewServer checks cfg and builds the server; it serves once Serve is called.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Broker == nil {
		return nil, errors.New("broker rpc config: a broker is required")
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("broker rpc config: a token is required: refusing to serve the broker without authentication")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxBytes := cfg.MaxMessageBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	auth, err := grpcauth.NewVerifier(cfg.Token, "token")
	if err != nil {
		return nil, fmt.Errorf("broker rpc config: %w", err)
	}
	s := &Server{b: cfg.Broker, keys: cfg.Keys, log: log, auth: auth}
	s.stopCtx, s.stop = context.WithCancelCause(context.Background())
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxBytes),
		grpc.MaxSendMsgSize(maxBytes),
		// Proxies keep one connection open and ping it while idle.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.intercept),
	)
	brokerpb.RegisterBrokerServer(s.grpc, s)
	return s, nil
}

// Serve serves on ln until Stop; ln is closed on return.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("broker rpc serving", slog.String("addr", ln.Addr().String()))
	if err := s.grpc.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve broker rpc: %w", err)
	}
	return nil
}

// Stop ends long polls, lets in-flight calls finish until ctx ends, then
// closes every connection. Safe to call more than once.
func (s *Server) Stop(ctx context.Context) {
	s.stopOnce.Do(func() {
		s.stop(errStopping)
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.log.Warn("broker rpc graceful stop timed out; closing connections")
			s.grpc.Stop()
			<-done
		}
	})
}

// intercept authenticates every call, puts the caller named in the metadata
// on its context and logs failures. The token is never logged.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	op := path.Base(info.FullMethod)
	if err := s.auth.Check(ctx); err != nil {
		attrs := []any{slog.String("op", op), slog.String("reason", status.Convert(err).Message())}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			attrs = append(attrs, slog.String("peer", p.Addr.String()))
		}
		s.log.WarnContext(ctx, "broker rpc call rejected", attrs...)
		return nil, err
	}
	resp, err := handler(callerContext(ctx), req)
	if err != nil && status.Code(err) == codes.Internal {
		s.log.ErrorContext(ctx, "broker rpc call failed", slog.String("op", op), slog.Any("err", err))
	}
	return resp, err
}

// Send stores the messages and answers the fields the store assigned.
func (s *Server) Send(ctx context.Context, req *brokerpb.SendRequest) (*brokerpb.SendResponse, error) {
	msgs := make([]*store.Message, len(req.GetMessages()))
	for i, m := range req.GetMessages() {
		msgs[i] = messageFromPB(m)
	}
	results, err := s.b.Send(ctx, msgs)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &brokerpb.SendResponse{Results: make([]*brokerpb.SendResult, len(results))}
	for i, r := range results {
		pr := &brokerpb.SendResult{
			MessageId: r.MessageID, QueueId: r.QueueID, QueueOffset: r.QueueOffset,
			TransactionId: r.TransactionID, RecallHandle: r.RecallHandle,
		}
		if i < len(msgs) && msgs[i] != nil {
			pr.CommitLogOffset = msgs[i].CommitLogOffset
			pr.StoreTime = timeToPB(msgs[i].StoreTime)
			pr.StoreSize = msgs[i].StoreSize
		}
		out.Results[i] = pr
	}
	return out, nil
}

// Receive long-polls the broker within the caller's deadline; the broker
// answers an empty batch when the poll or the deadline ends, and at once when
// this server stops.
func (s *Server) Receive(ctx context.Context, req *brokerpb.ReceiveRequest) (*brokerpb.ReceiveResponse, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	unhook := context.AfterFunc(s.stopCtx, func() { cancel(errStopping) })
	defer unhook()
	ds, err := s.b.Receive(ctx, receiveFromPB(req))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &brokerpb.ReceiveResponse{Deliveries: make([]*brokerpb.Delivery, len(ds))}
	for i, d := range ds {
		out.Deliveries[i] = deliveryToPB(d)
	}
	return out, nil
}

func (s *Server) Ack(ctx context.Context, req *brokerpb.HandleRequest) (*brokerpb.AckResponse, error) {
	if err := s.b.Ack(ctx, req.GetGroup(), req.GetTopic(), req.GetMessageId(), req.GetReceiptHandle()); err != nil {
		return nil, toStatus(err)
	}
	return &brokerpb.AckResponse{}, nil
}

func (s *Server) ChangeInvisible(ctx context.Context, req *brokerpb.ChangeInvisibleRequest) (*brokerpb.ChangeInvisibleResponse, error) {
	h, err := s.b.ChangeInvisible(ctx, req.GetGroup(), req.GetTopic(), req.GetMessageId(), req.GetReceiptHandle(), time.Duration(req.GetInvisibleDurationNanos()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &brokerpb.ChangeInvisibleResponse{ReceiptHandle: h}, nil
}

func (s *Server) ForwardToDLQ(ctx context.Context, req *brokerpb.HandleRequest) (*brokerpb.AckResponse, error) {
	if err := s.b.ForwardToDLQ(ctx, req.GetGroup(), req.GetTopic(), req.GetMessageId(), req.GetReceiptHandle()); err != nil {
		return nil, toStatus(err)
	}
	return &brokerpb.AckResponse{}, nil
}

func (s *Server) ClientGone(_ context.Context, req *brokerpb.ClientGoneRequest) (*brokerpb.ClientGoneResponse, error) {
	s.b.ClientGone(req.GetClientId())
	return &brokerpb.ClientGoneResponse{}, nil
}

func (s *Server) GetGroup(_ context.Context, req *brokerpb.GetRequest) (*brokerpb.Group, error) {
	g, err := s.b.GetGroup(req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return groupToPB(g), nil
}

func (s *Server) GetTopic(_ context.Context, req *brokerpb.GetRequest) (*brokerpb.Topic, error) {
	t, err := s.b.GetTopic(req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return topicToPB(t), nil
}

func (s *Server) ListTopics(_ context.Context, req *brokerpb.ListTopicsRequest) (*brokerpb.ListTopicsResponse, error) {
	ts := s.b.ListTopics(req.GetAfter(), int(req.GetLimit()))
	out := &brokerpb.ListTopicsResponse{Topics: make([]*brokerpb.Topic, len(ts))}
	for i, t := range ts {
		out.Topics[i] = topicToPB(t)
	}
	return out, nil
}

func (s *Server) EndTransaction(ctx context.Context, req *brokerpb.EndTransactionRequest) (*brokerpb.EndTransactionResponse, error) {
	r, err := resolutionFromPB(req.GetResolution())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.b.EndTransaction(ctx, req.GetTopic(), req.GetMessageId(), req.GetTransactionId(), r, req.GetFromCheck()); err != nil {
		return nil, toStatus(err)
	}
	return &brokerpb.EndTransactionResponse{}, nil
}

func (s *Server) Recall(ctx context.Context, req *brokerpb.RecallRequest) (*brokerpb.RecallResponse, error) {
	id, err := s.b.Recall(ctx, req.GetTopic(), req.GetHandle())
	if err != nil {
		return nil, toStatus(err)
	}
	return &brokerpb.RecallResponse{MessageId: id}, nil
}

func (s *Server) TakeTxnChecks(ctx context.Context, req *brokerpb.TakeTxnChecksRequest) (*brokerpb.TakeTxnChecksResponse, error) {
	checks, err := s.b.TakeTxnChecks(ctx, int(req.GetMax()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &brokerpb.TakeTxnChecksResponse{Checks: make([]*brokerpb.TxnCheck, len(checks))}
	for i, c := range checks {
		out.Checks[i] = &brokerpb.TxnCheck{TransactionId: c.TransactionID, Message: messageToPB(c.Message)}
	}
	return out, nil
}
