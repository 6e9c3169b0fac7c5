// Package adminclient is the typed client of a data-plane node's admin
// service (orbit.admin.v1.Admin). It sends the admin token with every call,
// bounds every attempt with a deadline and retries idempotent calls while the
// node is unavailable. Callers see adminpb types and gRPC status errors:
// match them with status.Code(err) (codes.NotFound, codes.AlreadyExists...).
package adminclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// Config builds a Client.
type Config struct {
	Addr  string // host:port of the node's admin service; required
	Token string // the node's admin token; required
	// Timeout bounds each attempt of a call when the caller's context has no
	// earlier deadline. Default 10 s.
	Timeout time.Duration
	// Attempts is how often an idempotent call (Get*, List*, Update*,
	// QueryMessages) is tried while the node answers
	// UNAVAILABLE or an attempt times out. Create, Delete and
	// ResetGroupOffset are tried once: a retry after a lost answer would
	// report ALREADY_EXISTS or NOT_FOUND for a call that worked. Default 3.
	Attempts int
	// Backoff is the wait before the first retry; it doubles up to 2 s, with
	// jitter. Default 100 ms.
	Backoff time.Duration
	// TLS secures the connection; nil is plaintext (loopback or a private
	// network only: the token travels with every call).
	TLS *tls.Config
	// DialOptions are added to the client's own.
	DialOptions []grpc.DialOption
}

// DefaultConfig returns the defaults for everything but Addr and Token.
func DefaultConfig() Config {
	return Config{Timeout: 10 * time.Second, Attempts: 3, Backoff: 100 * time.Millisecond}
}

// Validate reports configuration that cannot work. It never includes the token.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("the admin address is required"))
	}
	if strings.TrimSpace(c.Token) == "" {
		errs = append(errs, errors.New("the admin token is required"))
	}
	if c.Timeout < 0 || c.Attempts < 0 || c.Backoff < 0 {
		errs = append(errs, errors.New("timeout, attempts and backoff must not be negative"))
	}
	return errors.Join(errs...)
}

const maxBackoff = 2 * time.Second

// idempotent lists the methods that are safe to send again.
var idempotent = map[string]bool{
	"GetTopic": true, "ListTopics": true, "UpdateTopic": true,
	"GetGroup": true, "ListGroups": true, "UpdateGroup": true,
	"GetGroupOffsets": true, "GetNodeStats": true,
	"QueryMessages": true, "GetMessage": true, "GetTrace": true,
}

// MaxRecvBytes is the largest answer the client accepts: a GetMessage of a
// maximal message (4 MiB of body plus its properties) or a QueryMessages
// page with whole bodies fits with room to spare; gRPC's default (4 MiB)
// would not.
const MaxRecvBytes = 32 << 20

// Client is a connection to one node's admin service. Its adminpb.AdminClient
// methods are safe for concurrent use.
type Client struct {
	adminpb.AdminClient
	conn     *grpc.ClientConn
	auth     string
	timeout  time.Duration
	attempts int
	backoff  time.Duration
}

// New returns a client for cfg.Addr. It connects lazily: an unreachable node
// shows up as UNAVAILABLE on the first call, not here.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("admin client config: %w", err)
	}
	def := DefaultConfig()
	c := &Client{
		auth:     "Bearer " + strings.TrimSpace(cfg.Token),
		timeout:  cmpOr(cfg.Timeout, def.Timeout),
		attempts: cmpOr(cfg.Attempts, def.Attempts),
		backoff:  cmpOr(cfg.Backoff, def.Backoff),
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(c.intercept),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvBytes)),
	}, cfg.DialOptions...)
	conn, err := grpc.NewClient(cfg.Addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("admin client for %s: %w", cfg.Addr, err)
	}
	c.conn = conn
	c.AdminClient = adminpb.NewAdminClient(conn)
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Close releases the connection.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("close admin client: %w", err)
	}
	return nil
}

// intercept adds the token, a per-attempt deadline and retries.
func (c *Client) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", c.auth)
	attempts := 1
	if idempotent[path.Base(method)] {
		attempts = c.attempts
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		err := invoker(actx, method, req, reply, cc, opts...)
		cancel()
		if err == nil || attempt >= attempts || !retryable(ctx, err) {
			return err
		}
		// Jitter (half the wait, at random) keeps clients from retrying in step.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// retryable says whether a failed attempt may be tried again: the node was
// unreachable or shutting down, or the attempt ran out of time while the
// caller's context still has some.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// ListAllTopics pages through the node's topics, sorted by name; limit > 0
// stops after that many.
func (c *Client) ListAllTopics(ctx context.Context, limit int) ([]*adminpb.Topic, error) {
	var all []*adminpb.Topic
	req := &adminpb.ListTopicsRequest{}
	for {
		req.PageSize = pageSize(limit, len(all))
		resp, err := c.ListTopics(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, resp.GetTopics()...)
		if resp.GetNextPageToken() == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// ListAllGroups pages through the node's consumer groups, sorted by name;
// limit > 0 stops after that many.
func (c *Client) ListAllGroups(ctx context.Context, limit int) ([]*adminpb.Group, error) {
	var all []*adminpb.Group
	req := &adminpb.ListGroupsRequest{}
	for {
		req.PageSize = pageSize(limit, len(all))
		resp, err := c.ListGroups(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, resp.GetGroups()...)
		if resp.GetNextPageToken() == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// QueryAllMessages follows a message query's pages (req.PageToken is the
// first one's, usually empty) until the last page or until limit > 0
// messages were found. The server bounds the work of each page, so a sparse
// time range may take several calls.
func (c *Client) QueryAllMessages(ctx context.Context, req *adminpb.QueryMessagesRequest, limit int) ([]*adminpb.Message, error) {
	r := proto.CloneOf(req)
	var all []*adminpb.Message
	for {
		if limit > 0 {
			r.PageSize = int32(min(limit-len(all), messagePage))
		} else if r.PageSize == 0 {
			r.PageSize = messagePage
		}
		resp, err := c.QueryMessages(ctx, r)
		if err != nil {
			return nil, err
		}
		all = append(all, resp.GetMessages()...)
		if resp.GetNextPageToken() == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		r.PageToken = resp.GetNextPageToken()
	}
}

// messagePage is the page size of QueryAllMessages: the server's maximum.
const messagePage = 100

// listPage is the page size of ListAll*: the server's maximum.
const listPage = 1000

func pageSize(limit, have int) int32 {
	if limit > 0 {
		return int32(min(limit-have, listPage))
	}
	return listPage
}
