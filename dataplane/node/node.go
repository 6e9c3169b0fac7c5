// Package node runs one data-plane node (`orbit node`): the store, broker,
// name server, RocketMQ gRPC proxy and admin service in one process, with a
// data-directory lock, Prometheus metrics and graceful shutdown.
//
// Config.Roles splits a node in two: a broker node (store, broker, admin
// service and the internal broker rpc service of dataplane/broker/brokerrpc)
// and any number of proxy nodes (name server and RocketMQ proxy) that reach
// it over that service. The default role, all, runs everything in process
// without the broker rpc service. A proxy node that requires signed requests
// checks them against a copy of its broker node's access keys, refreshed
// over that service every couple of seconds.
package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc"
	"github.com/orbitmq/orbit/dataplane/namesrv"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// Roles of a node (Config.Roles).
const (
	// RoleAll runs store, broker, admin service, name server and proxy in
	// one process; the proxy calls the broker directly.
	RoleAll = "all"
	// RoleBroker runs store, broker and admin service, and serves the broker
	// to proxy nodes on BrokerAddr. It has no RocketMQ client port.
	RoleBroker = "broker"
	// RoleProxy runs name server and proxy in front of the broker node at
	// BrokerEndpoint. It keeps no data: no data directory, store or lock.
	RoleProxy = "proxy"
)

// Config configures a node.
type Config struct {
	// Roles is what this node runs: RoleAll (the default; "" means it too),
	// RoleBroker or RoleProxy.
	Roles      string
	DataDir    string // all, broker
	GRPCAddr   string // all, proxy: RocketMQ clients (TLS and plaintext on one port)
	AdminAddr  string // all, broker: admin gRPC service
	HTTPAddr   string // /metrics and /healthz; empty: off
	BrokerAddr string // broker: the broker rpc service proxy nodes call
	// BrokerEndpoint is the broker node's BrokerAddr (proxy role only).
	BrokerEndpoint string
	// AdminToken guards the admin service and the broker rpc service; a
	// proxy node presents it to its broker node, so both share one token.
	AdminToken string
	Advertise  string // address clients are told to use; empty: what they dialled
	Flush      store.FlushMode
	// RetentionHours: whole commit-log segments older than this are deleted (0 = keep).
	RetentionHours int
	// MaxDiskUsedPercent: when the file system holding the data passes this,
	// the oldest segments are deleted first, whatever their age (0 = off).
	MaxDiskUsedPercent int
	// ShutdownTimeout bounds how long in-flight RPCs may take to finish on Stop.
	ShutdownTimeout time.Duration

	// Broker settings (all, broker); 0 takes the broker's default.
	// MaxDelay bounds how far ahead a delay message may be scheduled.
	MaxDelay time.Duration
	// TxnCheckDelay is how long a transaction may stay unresolved before the
	// first orphan check is sent to a producer.
	TxnCheckDelay time.Duration
	// TxnCheckInterval is the first gap between orphan checks; it doubles
	// after each check up to TxnCheckMaxInterval.
	TxnCheckInterval    time.Duration
	TxnCheckMaxInterval time.Duration
	// TxnCheckMax is how many orphan checks a transaction gets before it is
	// rolled back.
	TxnCheckMax int
	// Trace records server-side message traces (all, broker): on by
	// default, needing nothing from clients.
	Trace bool

	// The instance's limits (0 = unlimited). MaxTopics and MaxGroups bound
	// what users create on the broker (all, broker); MaxTPS bounds sent plus
	// received messages per second at the proxy (all, proxy).
	MaxTopics int
	MaxGroups int
	MaxTPS    int

	// AllowAnonymous turns client authentication off: the RocketMQ endpoint
	// accepts every request, signed or not. Without it (the default, and
	// always for instances the control plane provisions) every request must
	// be signed with one of the node's access keys (dataplane/acl, managed
	// through the admin service) that allows what it does. A proxy-role node
	// checks its broker node's keys: it keeps an in-memory copy, fetched
	// over the broker rpc service at start and every KeySyncInterval, and
	// refuses signed requests until the first fetch succeeds.
	AllowAnonymous bool
	// KeySyncInterval (proxy role, without AllowAnonymous) is how often the
	// copy of the broker node's access keys is refreshed, so a key deleted or
	// disabled there stops working within about this long; 0: 2 s.
	KeySyncInterval time.Duration

	// LagSampleInterval is the time between the samples of every group's
	// lag the admin service keeps (GetLagHistory); 0: its default, 30 s.
	LagSampleInterval time.Duration

	Version string
	Log     *slog.Logger
}

// DefaultConfig returns the defaults of `orbit node`.
func DefaultConfig() Config {
	bd := broker.DefaultConfig()
	return Config{
		Roles:               RoleAll,
		DataDir:             "./orbit-node",
		GRPCAddr:            "127.0.0.1:8081",
		AdminAddr:           "127.0.0.1:9081",
		HTTPAddr:            "127.0.0.1:9082",
		BrokerAddr:          "127.0.0.1:9083",
		Flush:               store.FlushSync,
		RetentionHours:      72,
		MaxDiskUsedPercent:  85,
		ShutdownTimeout:     10 * time.Second,
		MaxDelay:            bd.MaxDelay,
		TxnCheckDelay:       bd.TxnCheckDelay,
		TxnCheckInterval:    bd.TxnCheckInterval,
		TxnCheckMaxInterval: bd.TxnCheckMaxInterval,
		TxnCheckMax:         bd.TxnCheckMax,
		Trace:               true,
		Version:             "dev",
	}
}

// role is Roles with the empty default resolved.
func (c Config) role() string {
	if c.Roles == "" {
		return RoleAll
	}
	return c.Roles
}

// Validate reports configuration that cannot work. Settings a role does not
// use are ignored, except BrokerEndpoint: it only makes sense for a proxy
// node, and setting it elsewhere means the wrong role was chosen.
func (c Config) Validate() error {
	var errs []error
	role := c.role()
	switch role {
	case RoleAll, RoleBroker, RoleProxy:
	default:
		return fmt.Errorf("roles %q: want %s, %s or %s", c.Roles, RoleAll, RoleBroker, RoleProxy)
	}
	if role != RoleProxy {
		if c.DataDir == "" {
			errs = append(errs, errors.New("data dir is required"))
		}
		if c.AdminAddr == "" {
			errs = append(errs, errors.New("an admin address is required (--admin-addr)"))
		}
		if c.Flush != store.FlushSync && c.Flush != store.FlushAsync {
			errs = append(errs, fmt.Errorf("flush mode %q: want sync or async", c.Flush))
		}
	}
	if role != RoleBroker && c.GRPCAddr == "" {
		errs = append(errs, errors.New("a grpc address for RocketMQ clients is required (--grpc-addr)"))
	}
	if role == RoleBroker && c.BrokerAddr == "" {
		errs = append(errs, errors.New("the broker role needs --broker-addr: proxy nodes reach the broker there"))
	}
	if role == RoleProxy && c.BrokerEndpoint == "" {
		errs = append(errs, errors.New("the proxy role needs --broker-endpoint: the --broker-addr of a broker-role node"))
	}
	if role != RoleProxy && c.BrokerEndpoint != "" {
		errs = append(errs, fmt.Errorf("--broker-endpoint is for the proxy role only; this node's role is %s", role))
	}
	if c.AdminToken == "" {
		if role == RoleProxy {
			errs = append(errs, errors.New("an admin token is required (--admin-token): the broker node's, to call its broker"))
		} else {
			errs = append(errs, errors.New("an admin token is required (--admin-token)"))
		}
	}
	if c.RetentionHours < 0 {
		errs = append(errs, errors.New("retention hours must not be negative"))
	}
	if c.MaxDiskUsedPercent < 0 || c.MaxDiskUsedPercent > 99 {
		errs = append(errs, errors.New("max disk used percent must be 0 (off) to 99"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--max-delay", c.MaxDelay}, {"--txn-check-delay", c.TxnCheckDelay},
		{"--txn-check-interval", c.TxnCheckInterval}, {"--txn-check-max-interval", c.TxnCheckMaxInterval},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (0: the default)", d.flag))
		}
	}
	if c.KeySyncInterval < 0 {
		errs = append(errs, errors.New("key sync interval must not be negative (0: the default)"))
	}
	if c.LagSampleInterval < 0 {
		errs = append(errs, errors.New("lag sample interval must not be negative (0: the default)"))
	}
	if c.TxnCheckMax < 0 {
		errs = append(errs, errors.New("--txn-check-max must not be negative (0: the default)"))
	}
	for _, l := range []struct {
		flag string
		v    int
	}{{"--max-topics", c.MaxTopics}, {"--max-groups", c.MaxGroups}, {"--max-tps", c.MaxTPS}} {
		if l.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (0: unlimited)", l.flag))
		}
	}
	return errors.Join(errs...)
}

// Node is a running data-plane node.
type Node struct {
	cfg    Config
	log    *slog.Logger
	lock   *dirLock
	store  *filestore.Store
	broker *broker.Broker
	proxy  *proxy.Server
	admin  *grpc.Server
	// adminSvc is the service admin serves (nil for a proxy node).
	adminSvc *admin.Server
	http     *http.Server
	rpc      *brokerrpc.Server // broker role
	remote   *brokerrpc.Client // proxy role
	tracer   *trace.Writer     // nil when tracing is off or for a proxy role
	// keys are the node's access keys; a proxy role's are an in-memory copy
	// of its broker node's (nil with AllowAnonymous).
	keys *acl.Store

	grpcLn, adminLn, httpLn, brokerLn net.Listener

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
	done    chan struct{}
	stopped sync.Once
}

// Start opens the data directory (recovering the store if the last run
// crashed), binds the listeners and serves until Stop or a fatal error. A
// proxy-role node opens no data directory; it connects to its broker node
// lazily, so the two may start in either order.
func Start(ctx context.Context, cfg Config) (_ *Node, retErr error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log, done: make(chan struct{})}
	defer func() {
		if retErr != nil {
			n.closeAll()
		}
	}()

	role := cfg.role()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// What the proxy talks to: the broker in process, or over the network.
	var pb proxy.Broker
	if role != RoleProxy {
		if err := n.openBroker(reg); err != nil {
			return nil, err
		}
		pb = n.broker
	}
	var err error
	switch role {
	case RoleBroker:
		if n.rpc, err = brokerrpc.NewServer(brokerrpc.ServerConfig{Broker: n.broker, Token: cfg.AdminToken, Keys: n.keys, Log: log.With("component", "brokerrpc")}); err != nil {
			return nil, fmt.Errorf("start broker rpc service: %w", err)
		}
		if n.brokerLn, err = net.Listen("tcp", cfg.BrokerAddr); err != nil {
			return nil, fmt.Errorf("listen for proxy nodes on %s: %w", cfg.BrokerAddr, err)
		}
	case RoleProxy:
		if n.remote, err = brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: cfg.BrokerEndpoint, Token: cfg.AdminToken, Log: log.With("component", "brokerrpc")}); err != nil {
			return nil, fmt.Errorf("broker at %s: %w", cfg.BrokerEndpoint, err)
		}
		pb = n.remote
		if !cfg.AllowAnonymous {
			n.keys = acl.NewMemory() // filled by the key sync below
		}
	}
	if role != RoleBroker {
		pcfg := proxy.Config{
			Broker: pb, Routes: namesrv.New(), Advertise: cfg.Advertise, Log: log.With("component", "proxy"), Metrics: reg,
			MaxTPS: cfg.MaxTPS,
		}
		if !cfg.AllowAnonymous {
			pcfg.Authenticator = proxy.ACLAuthenticator{Keys: n.keys}
		}
		if n.proxy, err = proxy.New(pcfg); err != nil {
			return nil, fmt.Errorf("start proxy: %w", err)
		}
		if n.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			return nil, fmt.Errorf("listen for clients on %s: %w", cfg.GRPCAddr, err)
		}
	}
	if role != RoleProxy {
		storeHost := cfg.Advertise // where messages are stored, as queries report it
		if storeHost == "" {
			storeHost = cmp.Or(n.GRPCAddr(), n.BrokerAddr())
		}
		acfg := admin.Config{Broker: n.broker, Store: n.store, Token: cfg.AdminToken, Log: log.With("component", "admin"),
			Version: cfg.Version, StartedAt: time.Now(), StoreHost: storeHost, Keys: n.keys, LagInterval: cfg.LagSampleInterval}
		if n.proxy != nil {
			acfg.Clients = proxyClients{n.proxy}
		}
		adm, err := admin.New(acfg)
		if err != nil {
			return nil, fmt.Errorf("start admin service: %w", err)
		}
		n.adminSvc = adm
		n.admin = grpc.NewServer(adm.ServerOptions()...)
		adm.Register(n.admin)
		if n.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			return nil, fmt.Errorf("listen for admin on %s: %w", cfg.AdminAddr, err)
		}
	}
	if cfg.HTTPAddr != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("listen for metrics on %s: %w", cfg.HTTPAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}

	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel
	if n.tracer != nil {
		n.run(func() error { return n.tracer.Run(rctx) })
	}
	if n.broker != nil {
		n.run(func() error { return n.broker.Run(rctx) })
		n.run(func() error { return ignoreClosed(n.admin.Serve(n.adminLn)) })
		n.run(func() error { return n.adminSvc.RunLagSampler(rctx) })
	}
	if n.rpc != nil {
		n.run(func() error { return n.rpc.Serve(n.brokerLn) })
	}
	if n.remote != nil && n.keys != nil {
		// Never fails at start: an unreachable broker is retried every
		// interval, and signed requests are refused until it answers.
		n.run(func() error {
			return brokerrpc.SyncAccessKeys(rctx, brokerrpc.KeySyncConfig{
				Source: n.remote, Keys: n.keys, Interval: cfg.KeySyncInterval, Log: log.With("component", "keysync"),
			})
		})
	}
	if n.proxy != nil {
		n.run(func() error { return n.proxy.Serve(rctx, n.grpcLn) })
	}
	if n.http != nil {
		n.run(func() error { return ignoreClosed(n.http.Serve(n.httpLn)) })
	}
	attrs := []any{"roles", role, "grpc", n.GRPCAddr(), "admin", n.AdminAddr()}
	switch role {
	case RoleBroker:
		attrs = append(attrs, "broker_rpc", n.BrokerAddr())
	case RoleProxy:
		attrs = append(attrs, "broker_endpoint", cfg.BrokerEndpoint)
	}
	if role != RoleProxy {
		attrs = append(attrs, "flush", cfg.Flush)
	}
	log.Info("node started", attrs...)
	return n, nil
}

// openBroker locks the data directory and opens the store and the broker.
func (n *Node) openBroker(reg *prometheus.Registry) error {
	cfg, log := n.cfg, n.log
	var err error
	if n.lock, err = lockDir(cfg.DataDir); err != nil {
		return err
	}
	scfg := filestore.DefaultConfig()
	scfg.Dir = cfg.DataDir + "/store"
	scfg.Flush = cfg.Flush
	scfg.RetentionHours = cfg.RetentionHours
	scfg.MaxDiskUsedPercent = cfg.MaxDiskUsedPercent
	scfg.Log = log.With("component", "store")
	// Retention counts deletions of messages some group had not consumed;
	// the broker that knows the offsets is built after the store.
	var brk atomic.Pointer[broker.Broker]
	scfg.MinConsumed = func(topic string, queueID int32) int64 {
		if b := brk.Load(); b != nil {
			return b.MinConsumed(topic, queueID)
		}
		return math.MaxInt64
	}
	if n.store, err = filestore.Open(scfg); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	registerStoreMetrics(reg, n.store)
	var tracer trace.Recorder // a nil *trace.Writer in the interface would not read as "off"
	if cfg.Trace {
		if n.tracer, err = trace.NewWriter(trace.Config{Store: n.store, Log: log.With("component", "trace"), Metrics: reg}); err != nil {
			return fmt.Errorf("start message tracing: %w", err)
		}
		tracer = n.tracer
	}
	if n.broker, err = broker.New(broker.Config{
		DataDir: cfg.DataDir + "/meta", Store: n.store, Log: log.With("component", "broker"), Metrics: reg,
		Tracer:              tracer,
		MaxDelay:            cfg.MaxDelay,
		TxnCheckDelay:       cfg.TxnCheckDelay,
		TxnCheckInterval:    cfg.TxnCheckInterval,
		TxnCheckMaxInterval: cfg.TxnCheckMaxInterval,
		TxnCheckMax:         cfg.TxnCheckMax,
		MaxTopics:           cfg.MaxTopics,
		MaxGroups:           cfg.MaxGroups,
	}); err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	brk.Store(n.broker)
	if n.keys, err = acl.Open(cfg.DataDir + "/meta/acl.db"); err != nil {
		return err
	}
	return nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// run starts a part; the first part to fail stops the node.
func (n *Node) run(f func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := f(); err != nil {
			n.errOnce.Do(func() { n.err = err })
			n.log.Error("node part failed; stopping", "err", err)
			go n.Stop(context.Background())
		}
	}()
}

// GRPCAddr is the address RocketMQ clients connect to ("" for a broker node).
func (n *Node) GRPCAddr() string { return addrOf(n.grpcLn) }

// AdminAddr is the admin service's address ("" for a proxy node).
func (n *Node) AdminAddr() string { return addrOf(n.adminLn) }

// BrokerAddr is where proxy nodes reach this broker node ("" for other roles).
func (n *Node) BrokerAddr() string { return addrOf(n.brokerLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// HTTPAddr is the metrics address ("" when off).
func (n *Node) HTTPAddr() string {
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

// Broker exposes the broker (for in-process tests and tools); nil for a
// proxy node.
func (n *Node) Broker() *broker.Broker { return n.broker }

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is why the node stopped, nil after a clean Stop.
func (n *Node) Err() error {
	<-n.done
	return n.err
}

// Stop shuts down gracefully: stop accepting, let in-flight RPCs (sends in
// particular) finish within the shutdown timeout, then flush and close the
// store and release the data directory.
func (n *Node) Stop(ctx context.Context) error {
	n.stopped.Do(func() {
		timeout := n.cfg.ShutdownTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		n.log.Info("node stopping")
		n.cancel() // proxy.Serve drains gracefully on cancel; broker.Run returns
		if n.http != nil {
			_ = n.http.Shutdown(sctx)
		}
		if n.rpc != nil {
			// Before the broker closes: proxy nodes' calls finish first.
			n.rpc.Stop(sctx)
		}
		if n.admin != nil {
			stopped := make(chan struct{})
			go func() { n.admin.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-sctx.Done():
				n.admin.Stop()
			}
		}
		n.wg.Wait()
		n.closeAll()
		n.log.Info("node stopped")
		close(n.done)
	})
	<-n.done
	return n.err
}

// closeAll releases whatever was opened, in reverse order.
func (n *Node) closeAll() {
	for _, ln := range []net.Listener{n.grpcLn, n.adminLn, n.httpLn, n.brokerLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if n.remote != nil {
		if err := n.remote.Close(); err != nil {
			n.log.Error("close broker rpc client", "err", err)
		}
	}
	if n.broker != nil {
		if err := n.broker.Close(); err != nil {
			n.log.Error("close broker", "err", err)
		}
	}
	if n.tracer != nil {
		// After the broker, whose last events it flushes; before the store.
		if err := n.tracer.Close(); err != nil {
			n.log.Error("close message tracing", "err", err)
		}
	}
	if n.keys != nil {
		if err := n.keys.Close(); err != nil {
			n.log.Error("close access keys", "err", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Error("close store", "err", err)
		}
	}
	if err := n.lock.release(); err != nil {
		n.log.Error("release data directory", "err", err)
	}
}
