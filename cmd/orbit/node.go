package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/store"
)

func newNodeCmd() *cobra.Command {
	cfg := node.DefaultConfig()
	var flush string
	var lf logFlags
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a data-plane node: RocketMQ 5 gRPC endpoint, broker, store and admin service",
		Long: `Run a data-plane node. Official RocketMQ 5 clients connect to --grpc-addr
(TLS and plaintext on the same port); operators and the control plane use the
admin service on --admin-addr with --admin-token. Prometheus metrics are served
at http://<http-addr>/metrics.

With --flush sync a send is acknowledged only after its data reached the disk
(fsync, shared by concurrent sends): acknowledged messages survive kill -9 and
power loss. --flush async acknowledges after the write and fsyncs periodically,
trading the last moments before a machine crash for speed.

--roles splits a node in two. A broker node (--roles broker) keeps the store
and the broker, serves the admin service, and serves the broker to proxy nodes
on --broker-addr; it has no RocketMQ client port. A proxy node (--roles proxy)
serves RocketMQ clients on --grpc-addr and calls the broker node at
--broker-endpoint with --admin-token (the broker node's); it keeps no data.
--roles all (the default) runs everything in one process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg.Flush = store.FlushMode(flush)
			cfg.Log = log
			cfg.Version = version
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.Start(ctx, cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Orbit node %s is running (roles: %s).\n", version, cfg.Roles)
			if addr := n.GRPCAddr(); addr != "" {
				fmt.Fprintf(out, "RocketMQ endpoint: %s\n", addr)
			}
			if addr := n.AdminAddr(); addr != "" {
				fmt.Fprintf(out, "Admin service: %s\n", addr)
			}
			if addr := n.BrokerAddr(); addr != "" {
				fmt.Fprintf(out, "Broker service for proxy nodes: %s\n", addr)
			}
			if cfg.BrokerEndpoint != "" {
				fmt.Fprintf(out, "Broker node: %s\n", cfg.BrokerEndpoint)
			}
			select {
			case <-ctx.Done():
				return n.Stop(context.WithoutCancel(ctx))
			case <-n.Done():
				return n.Err()
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Roles, "roles", cfg.Roles, "what this node runs: all, broker (store, broker, admin service, broker service for proxy nodes) or proxy (RocketMQ endpoint in front of a broker node)")
	fl.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the message store and metadata (locked while the node runs)")
	fl.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "address RocketMQ 5 clients connect to")
	fl.StringVar(&cfg.AdminAddr, "admin-addr", cfg.AdminAddr, "address of the admin gRPC service")
	fl.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "address serving /metrics and /healthz (empty: off)")
	fl.StringVar(&cfg.BrokerAddr, "broker-addr", cfg.BrokerAddr, "broker role: address proxy nodes reach the broker at (authenticated with --admin-token; keep it on a private network)")
	fl.StringVar(&cfg.BrokerEndpoint, "broker-endpoint", "", "proxy role: host:port of the broker node's --broker-addr")
	fl.StringVar(&cfg.AdminToken, "admin-token", "", "bearer token the admin service and the broker service require; a proxy node presents it to its broker node (required)")
	fl.StringVar(&cfg.Advertise, "advertise", "", "host:port clients are told to use (default: the address they dialled)")
	fl.StringVar(&flush, "flush", string(cfg.Flush), "when sends are acknowledged: sync (after fsync) or async (after write)")
	fl.IntVar(&cfg.RetentionHours, "retention-hours", cfg.RetentionHours, "delete stored messages older than this (0: keep)")
	fl.IntVar(&cfg.MaxDiskUsedPercent, "max-disk-used-percent", cfg.MaxDiskUsedPercent, "delete the oldest messages first when the disk is fuller than this (0: off)")
	fl.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long in-flight requests may take to finish on SIGTERM")
	fl.DurationVar(&cfg.MaxDelay, "max-delay", cfg.MaxDelay, "how far ahead a delay message may be scheduled; later delivery times are refused with ILLEGAL_DELIVERY_TIME")
	fl.DurationVar(&cfg.TxnCheckDelay, "txn-check-delay", cfg.TxnCheckDelay, "how long a transaction may stay unresolved before its producer is asked for the outcome (orphan check)")
	fl.DurationVar(&cfg.TxnCheckInterval, "txn-check-interval", cfg.TxnCheckInterval, "first gap between orphan checks of a transaction; it doubles after each check up to --txn-check-max-interval")
	fl.DurationVar(&cfg.TxnCheckMaxInterval, "txn-check-max-interval", cfg.TxnCheckMaxInterval, "longest gap between orphan checks of a transaction")
	fl.IntVar(&cfg.TxnCheckMax, "txn-check-max", cfg.TxnCheckMax, "orphan checks a transaction gets before it is rolled back")
	fl.IntVar(&cfg.MaxTopics, "max-topics", cfg.MaxTopics, "topics users may create on this instance; the broker's own (%DLQ%...) do not count (0: unlimited)")
	fl.IntVar(&cfg.MaxGroups, "max-groups", cfg.MaxGroups, "consumer groups users may create on this instance (0: unlimited)")
	fl.IntVar(&cfg.MaxTPS, "max-tps", cfg.MaxTPS, "messages per second, sends plus receives; faster sends are refused with TOO_MANY_REQUESTS and receives return fewer messages (0: unlimited)")
	fl.BoolVar(&cfg.AllowAnonymous, "allow-anonymous", false, "accept unsigned RocketMQ requests: turns access-key authentication off (default: every request must be signed with an access key of this node; a proxy-role node uses its broker node's keys)")
	fl.BoolVar(&cfg.Trace, "trace", cfg.Trace, "record server-side message traces (read them with orbit admin trace)")
	lf.register(cmd)
	bindEnvPrefix(cmd, "ORBIT_NODE_")
	return cmd
}
