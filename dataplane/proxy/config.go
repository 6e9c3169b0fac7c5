package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/metadata"

	"github.com/orbitmq/orbit/dataplane/namesrv"
)

// Defaults of Config.
const (
	DefaultBrokerName       = "broker-0"
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxRecvMsgBytes  = 130 << 20
	DefaultClientTimeout    = 120 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultShutdownTimeout  = 5 * time.Second
	DefaultMinInvisible     = 10 * time.Second
	DefaultMaxInvisible     = 12 * time.Hour
	DefaultMinPoll          = 5 * time.Second
	DefaultMaxPoll          = 20 * time.Second
	DefaultMaxBatch         = 32
	DefaultLongPolling      = 20 * time.Second
	DefaultTxnCheckPeriod   = time.Second
	DefaultGroupPollPeriod  = 2 * time.Second
)

// Authenticator checks the credentials of a call; ACLAuthenticator checks
// access-key signatures and permissions. A nil Authenticator allows
// everything.
type Authenticator interface {
	// Authenticate returns nil to allow the call. An error wrapping
	// ErrForbidden answers FORBIDDEN (40300); any other error UNAUTHORIZED
	// (40100). The error text is not sent to the client, except the
	// refusals ACLAuthenticator words for clients.
	Authenticate(ctx context.Context, call Call) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, call Call) error

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, call Call) error { return f(ctx, call) }

// Call describes an RPC for the Authenticator.
type Call struct {
	// Method is the short RPC name, e.g. "SendMessage".
	Method string
	// Metadata holds the request headers (authorization, x-mq-date-time,
	// x-mq-client-id, ...).
	Metadata metadata.MD
	// Request is the request message of unary RPCs; nil for streams.
	Request any
}

// Errors an Authenticator may wrap.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
)

// Config builds a Server. The zero value of every field but Broker has a
// usable default (DefaultConfig shows them).
type Config struct {
	// Broker serves the messages: *broker.Broker in process, or a remote
	// broker's client (see Broker).
	Broker Broker
	// Routes is the route table. Nil: a new table. Unless the table already
	// has a broker named BrokerName, New registers Broker under that name at
	// Advertise (or, without Advertise, at whatever address each client
	// used).
	Routes *namesrv.Table
	// BrokerName is the name of Broker in Routes.
	BrokerName string
	// Advertise is the "host:port" clients should use. Empty: echo the
	// endpoints of each request (spec §7.1); never 0.0.0.0.
	Advertise string
	// TLSConfig serves TLS next to plaintext on the same port. Nil: a
	// self-signed ECDSA certificate generated in memory at New.
	TLSConfig *tls.Config
	// Authenticator checks credentials; nil allows all.
	Authenticator Authenticator
	Log           *slog.Logger
	Metrics       prometheus.Registerer // nil: metrics are kept but not registered
	Now           func() time.Time

	MaxBodyBytes     int           // largest message body accepted (4 MiB)
	MaxRecvMsgBytes  int           // gRPC receive limit (130 MiB)
	ClientTimeout    time.Duration // a client silent this long is gone (120 s)
	HandshakeTimeout time.Duration // first byte + TLS handshake of a new connection (10 s)
	ShutdownTimeout  time.Duration // graceful stop bound before connections are cut (5 s)
	MinInvisible     time.Duration // smallest invisible_duration of a receive (10 s)
	MaxInvisible     time.Duration // largest invisible duration (12 h)
	MinPoll, MaxPoll time.Duration // long-polling clamp (5 s, 20 s)
	MaxBatch         int           // messages per receive (32)
	// LongPollingTimeout is what Settings tell push consumers to use (20 s).
	// A push consumer's graceful stop waits for its polls, so tests lower it.
	LongPollingTimeout time.Duration
	// TxnCheckPeriod is how often the proxy asks the broker for due orphan
	// transaction checks and pushes them to producers (1 s). The broker
	// decides when a check is due; this only bounds how late it goes out.
	TxnCheckPeriod time.Duration
	// GroupPollPeriod is how often the proxy reads the definitions of the
	// groups that have consumers connected, to push fresh Settings to those
	// consumers when a definition changed (2 s; groupsettings.go).
	GroupPollPeriod time.Duration
	// MaxTPS is the instance's message rate: sent plus received messages
	// per second (0 = unlimited). A send beyond it is refused with
	// TOO_MANY_REQUESTS and stores nothing; a receive returns fewer
	// messages, or waits within its long poll, instead of failing.
	// Topics' send caps and groups' receive caps (broker.Topic.MaxSendTPS,
	// broker.Group.MaxReceiveTPS) apply on top of it (caps.go).
	MaxTPS int
}

// DefaultConfig returns a Config with every default filled in but Broker.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.BrokerName == "" {
		c.BrokerName = DefaultBrokerName
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.MaxRecvMsgBytes, DefaultMaxRecvMsgBytes)
	setDefault(&c.ClientTimeout, DefaultClientTimeout)
	setDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.MinInvisible, DefaultMinInvisible)
	setDefault(&c.MaxInvisible, DefaultMaxInvisible)
	setDefault(&c.MinPoll, DefaultMinPoll)
	setDefault(&c.MaxPoll, DefaultMaxPoll)
	setDefault(&c.MaxBatch, DefaultMaxBatch)
	setDefault(&c.LongPollingTimeout, DefaultLongPolling)
	setDefault(&c.TxnCheckPeriod, DefaultTxnCheckPeriod)
	setDefault(&c.GroupPollPeriod, DefaultGroupPollPeriod)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Validate reports a configuration New cannot serve.
func (c *Config) Validate() error {
	if c.Broker == nil {
		return errors.New("proxy config: Broker is required")
	}
	if c.Advertise != "" {
		host, port, err := net.SplitHostPort(c.Advertise)
		if err != nil {
			return fmt.Errorf("proxy config: advertise %q: %w", c.Advertise, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("proxy config: advertise %q: bad port", c.Advertise)
		}
		if host == "" || isUnspecifiedHost(host) {
			return fmt.Errorf("proxy config: advertise %q: clients cannot dial an unspecified address", c.Advertise)
		}
	}
	if c.MaxBodyBytes < 0 || c.MaxRecvMsgBytes < c.MaxBodyBytes {
		return fmt.Errorf("proxy config: MaxRecvMsgBytes %d must cover MaxBodyBytes %d", c.MaxRecvMsgBytes, c.MaxBodyBytes)
	}
	if c.MinPoll > c.MaxPoll || c.MinInvisible > c.MaxInvisible {
		return errors.New("proxy config: a minimum exceeds its maximum")
	}
	if c.MaxTPS < 0 {
		return errors.New("proxy config: MaxTPS must not be negative (0: unlimited)")
	}
	if c.TxnCheckPeriod < 0 {
		return errors.New("proxy config: TxnCheckPeriod must not be negative")
	}
	if c.GroupPollPeriod < 0 {
		return errors.New("proxy config: GroupPollPeriod must not be negative")
	}
	if c.LongPollingTimeout < c.MinPoll || c.LongPollingTimeout > c.MaxPoll {
		return fmt.Errorf("proxy config: LongPollingTimeout %s is outside the poll range [%s, %s]", c.LongPollingTimeout, c.MinPoll, c.MaxPoll)
	}
	return nil
}

func isUnspecifiedHost(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}
