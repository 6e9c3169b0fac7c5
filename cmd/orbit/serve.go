package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbitmq/orbit/console"
	"github.com/orbitmq/orbit/controlplane/api"
	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/provision/kube"
	"github.com/orbitmq/orbit/controlplane/provision/local"
	"github.com/orbitmq/orbit/controlplane/reconciler"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/migrations"
	"gorm.io/gorm"
)

type serveFlags struct {
	listen          string
	dataDir         string
	databaseURL     string
	secureCookies   bool
	trustedProxies  []string
	accessTokenTTL  time.Duration
	refreshTokenTTL time.Duration
	shutdownTimeout time.Duration
	masterKeys      masterKeyFlags
	log             logFlags
	reconcile       reconcileFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the control plane: REST API and web console",
		Long: `Run the control plane: the REST API under /api/v1 and the web console.

With no configuration it keeps its database in SQLite under --data-dir and
prints the console URL. Set --database-url (ORBIT_DATABASE_URL) to a
postgres:// URL to use PostgreSQL, which several replicas can share.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve HTTP on")
	fl.StringVar(&f.dataDir, "data-dir", "./orbit-data", "directory for the embedded SQLite database and local state")
	fl.StringVar(&f.databaseURL, "database-url", "", "postgres://user:pass@host/db to use PostgreSQL instead of embedded SQLite")
	fl.BoolVar(&f.secureCookies, "secure-cookies", false, "mark the session cookie Secure even on plain HTTP (set behind a TLS-terminating proxy); it is always Secure over TLS")
	fl.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed for client IPs (default: none)")
	fl.DurationVar(&f.accessTokenTTL, "access-token-ttl", iam.DefaultConfig().AccessTokenTTL, "lifetime of session access tokens")
	fl.DurationVar(&f.refreshTokenTTL, "refresh-token-ttl", iam.DefaultConfig().RefreshTokenTTL, "lifetime of session refresh tokens")
	f.masterKeys.register(cmd)
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to let in-flight requests finish on SIGTERM")
	fl.BoolVar(&f.reconcile.enabled, "reconcile", true, "run the reconciler, which starts, stops and deletes instances (false: serve the API only)")
	fl.StringVar(&f.reconcile.dir, "instances-dir", "", "directory of the local provisioner's instances: their data, logs and state (default <data-dir>/instances)")
	fl.StringVar(&f.reconcile.provisioner, "provisioner", "local", "where instances run: local (child processes of this executable) or kubernetes (StatefulSets; see deploy/kubernetes)")
	fl.StringVar(&f.reconcile.kube.Namespace, "kube-namespace", "", "kubernetes provisioner: namespace of the instances")
	fl.StringVar(&f.reconcile.kube.Image, "kube-image", kube.DefaultImage(version), "kubernetes provisioner: image of the instances' nodes")
	fl.StringVar(&f.reconcile.kube.StorageClass, "kube-storage-class", "", "kubernetes provisioner: storage class of the data volumes (default: the cluster's)")
	fl.StringVar(&f.reconcile.kube.Kubeconfig, "kubeconfig", "", "kubernetes provisioner: kubeconfig file (default: the in-cluster service account)")
	fl.StringVar(&f.reconcile.kube.EndpointTemplate, "kube-endpoint-template", "", "kubernetes provisioner: client address of an instance, with {id}, {name}, {namespace} (default: its Service)")
	f.log.register(cmd)
	bindEnv(cmd)
	return cmd
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	log, err := f.log.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := openDatabase(ctx, f.databaseURL, f.dataDir, log)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}

	icfg := iam.DefaultConfig()
	icfg.AccessTokenTTL, icfg.RefreshTokenTTL = f.accessTokenTTL, f.refreshTokenTTL
	ids := iam.NewService(iamdb.New(db), icfg, log.With("component", "iam"))
	if err := ids.EnsureSigningKey(ctx); err != nil {
		return fmt.Errorf("prepare session signing key: %w", err)
	}
	consoleHandler, err := console.Handler(console.Files())
	if err != nil {
		return fmt.Errorf("load console: %w", err)
	}
	box, err := f.masterKeys.box(f.dataDir, true, log)
	if err != nil {
		return err
	}
	// One admin connection per instance node, shared by REST calls and the
	// reconciler.
	nodes := resources.NewPool(resources.Connect, 0)
	defer nodes.Close()
	akeys := resources.NewAccessKeyService(resources.NewAccessKeyStore(db), instances.NewStore(db), resources.AccessKeyConfig{Box: box, Connect: nodes.Connect}, log.With("component", "accesskeys"))
	if n, err := akeys.StaleSecrets(ctx); err != nil {
		log.Warn("count access-key secrets under old master keys", "err", err)
	} else if n > 0 {
		log.Info("access-key secrets not sealed under the master key yet; orbit master-key reencrypt reseals them", "count", n)
	}
	insts := instances.NewService(instances.NewStore(db), instances.DefaultConfig(), log.With("component", "instances"))
	srv := api.New(api.Config{Version: version, CookieSecure: f.secureCookies, TrustedProxies: f.trustedProxies}, api.Deps{
		DB: db, IAM: ids, Audit: audit.NewStore(db), Idempotency: idempotency.NewStore(db),
		Instances: insts, Console: consoleHandler, Log: log,
		Resources:  resources.NewService(resources.NewStore(db), instances.NewStore(db), resources.Config{Connect: nodes.Connect}, log.With("component", "resources")),
		AccessKeys: akeys,
	})

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	stopReconciler, err := startReconciler(ctx, f, db, akeys, nodes.Connect, log)
	if err != nil {
		_ = httpSrv.Close()
		return err
	}
	defer stopReconciler()

	// One write, so that whoever watches the output sees the banner whole.
	url := consoleURL(ln.Addr())
	banner := fmt.Sprintf("Orbit %s is running.\nConsole: %s\nREST API: %sapi/v1 (docs at %sapi/v1/docs)\n", version, url, url, url)
	if empty, err := noAccounts(ctx, db); err == nil && empty {
		banner += fmt.Sprintf("No accounts yet: open %ssignup to create the first one.\n", url)
	}
	if !console.Built {
		banner += "Note: this binary has no web console built in; use `make run` to build it.\n"
	}
	fmt.Fprint(cmd.OutOrStdout(), banner)

	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openDatabase opens the configured database and brings its schema up to date.
func openDatabase(ctx context.Context, url, dataDir string, log *slog.Logger) (*gorm.DB, error) {
	db, err := migrations.Open(ctx, migrations.Config{DatabaseURL: url, DataDir: dataDir}, log)
	if err != nil {
		return nil, err
	}
	v, err := migrations.Up(ctx, db)
	if err != nil {
		if sqlDB, derr := db.DB(); derr == nil {
			sqlDB.Close()
		}
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	log.Info("database ready", "dialect", migrations.Dialect(db), "version", v)
	return db, nil
}

func noAccounts(ctx context.Context, db *gorm.DB) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Table("accounts").Limit(1).Count(&n).Error
	return n == 0, err
}

// consoleURL turns the listening address into a URL a person can open:
// an unspecified host (0.0.0.0, ::) is shown as 127.0.0.1.
func consoleURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

type reconcileFlags struct {
	enabled     bool
	dir         string
	provisioner string
	kube        kube.Config
}

// startReconciler runs the reconciler with the local provisioner: instances
// are `orbit node` processes of this executable under --instances-dir. They
// run in their own sessions and outlive `orbit serve`; the next start adopts
// them. The returned function stops the loop (releasing its leases) and
// leaves the nodes running.
func startReconciler(ctx context.Context, f serveFlags, db *gorm.DB, akeys *resources.AccessKeyService, connect resources.Connector, log *slog.Logger) (func(), error) {
	if !f.reconcile.enabled {
		log.Info("reconciler disabled")
		return func() {}, nil
	}
	dir := f.reconcile.dir
	if dir == "" {
		dir = filepath.Join(f.dataDir, "instances")
	}
	var prov provision.Provisioner
	switch f.reconcile.provisioner {
	case "local":
		pcfg := local.DefaultConfig()
		pcfg.Dir, pcfg.Log = dir, log
		p, err := local.New(pcfg)
		if err != nil {
			return nil, err
		}
		prov = p
	case "kubernetes":
		p, err := kube.New(f.reconcile.kube)
		if err != nil {
			return nil, fmt.Errorf("kubernetes provisioner: %w", err)
		}
		prov, dir = p, "namespace "+f.reconcile.kube.Namespace
	default:
		return nil, fmt.Errorf("--provisioner %q: want local or kubernetes", f.reconcile.provisioner)
	}
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	loop := &reconciler.Loop{
		DB: db, Provisioner: prov, Log: log,
		Owner:      fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(suffix)),
		Specs:      instances.NewStore(db).GetSpec,
		Resources:  resources.NewStore(db),
		AccessKeys: akeys,
		Connect:    connect,
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- loop.Run(lctx) }()
	log.Info("reconciler started", "provisioner", f.reconcile.provisioner, "instances", dir, "owner", loop.Owner)
	return func() {
		cancel()
		if err := <-done; err != nil {
			log.Error("reconciler", "err", err)
		}
		if c, ok := prov.(io.Closer); ok {
			_ = c.Close() // the local provisioner stops supervising; nodes keep running
		}
	}, nil
}
