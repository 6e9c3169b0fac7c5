// Package node runs one data-plane node (`orbit node`): the store, broker,
// name server, RocketMQ gRPC proxy and admin service in one process, with a
// data-directory lock, Prometheus metrics and graceful shutdown.
package node

import (
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

	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/namesrv"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/filestore"
)

// Config configures a node.
type Config struct {
	DataDir    string
	GRPCAddr   string // RocketMQ clients (TLS and plaintext on one port)
	AdminAddr  string // admin gRPC service
	HTTPAddr   string // /metrics and /healthz; empty: off
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
	Version         string
	Log             *slog.Logger
}

// DefaultConfig returns the defaults of `orbit node`.
func DefaultConfig() Config {
	return Config{
		DataDir:            "./orbit-node",
		GRPCAddr:           "127.0.0.1:8081",
		AdminAddr:          "127.0.0.1:9081",
		HTTPAddr:           "127.0.0.1:9082",
		Flush:              store.FlushSync,
		RetentionHours:     72,
		MaxDiskUsedPercent: 85,
		ShutdownTimeout:    10 * time.Second,
		Version:            "dev",
	}
}

// Validate reports configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if c.GRPCAddr == "" || c.AdminAddr == "" {
		errs = append(errs, errors.New("grpc and admin addresses are required"))
	}
	if c.AdminToken == "" {
		errs = append(errs, errors.New("an admin token is required (--admin-token)"))
	}
	if c.Flush != store.FlushSync && c.Flush != store.FlushAsync {
		errs = append(errs, fmt.Errorf("flush mode %q: want sync or async", c.Flush))
	}
	if c.RetentionHours < 0 {
		errs = append(errs, errors.New("retention hours must not be negative"))
	}
	if c.MaxDiskUsedPercent < 0 || c.MaxDiskUsedPercent > 99 {
		errs = append(errs, errors.New("max disk used percent must be 0 (off) to 99"))
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
	http   *http.Server

	grpcLn, adminLn, httpLn net.Listener

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
	done    chan struct{}
	stopped sync.Once
}

// Start opens the data directory (recovering the store if the last run
// crashed), binds the listeners and serves until Stop or a fatal error.
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

	var err error
	if n.lock, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

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
		return nil, fmt.Errorf("open store: %w", err)
	}
	registerStoreMetrics(reg, n.store)
	if n.broker, err = broker.New(broker.Config{
		DataDir: cfg.DataDir + "/meta", Store: n.store, Log: log.With("component", "broker"), Metrics: reg,
	}); err != nil {
		return nil, fmt.Errorf("open broker: %w", err)
	}
	brk.Store(n.broker)
	routes := namesrv.New()
	if n.proxy, err = proxy.New(proxy.Config{
		Broker: n.broker, Routes: routes, Advertise: cfg.Advertise, Log: log.With("component", "proxy"), Metrics: reg,
	}); err != nil {
		return nil, fmt.Errorf("start proxy: %w", err)
	}
	adm, err := admin.New(admin.Config{Broker: n.broker, Store: n.store, Token: cfg.AdminToken, Log: log.With("component", "admin"), Version: cfg.Version, StartedAt: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("start admin service: %w", err)
	}
	n.admin = grpc.NewServer(adm.ServerOptions()...)
	adm.Register(n.admin)

	if n.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("listen for clients on %s: %w", cfg.GRPCAddr, err)
	}
	if n.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
		return nil, fmt.Errorf("listen for admin on %s: %w", cfg.AdminAddr, err)
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
	n.run(func() error { return n.broker.Run(rctx) })
	n.run(func() error { return n.proxy.Serve(rctx, n.grpcLn) })
	n.run(func() error { return ignoreClosed(n.admin.Serve(n.adminLn)) })
	if n.http != nil {
		n.run(func() error { return ignoreClosed(n.http.Serve(n.httpLn)) })
	}
	log.Info("node started", "grpc", n.grpcLn.Addr().String(), "admin", n.adminLn.Addr().String(), "flush", cfg.Flush)
	return n, nil
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

// GRPCAddr is the address RocketMQ clients connect to.
func (n *Node) GRPCAddr() string { return n.grpcLn.Addr().String() }

// AdminAddr is the admin service's address.
func (n *Node) AdminAddr() string { return n.adminLn.Addr().String() }

// HTTPAddr is the metrics address ("" when off).
func (n *Node) HTTPAddr() string {
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

// Broker exposes the broker (for in-process tests and tools).
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
		stopped := make(chan struct{})
		go func() { n.admin.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-sctx.Done():
			n.admin.Stop()
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
	for _, ln := range []net.Listener{n.grpcLn, n.adminLn, n.httpLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if n.broker != nil {
		if err := n.broker.Close(); err != nil {
			n.log.Error("close broker", "err", err)
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
