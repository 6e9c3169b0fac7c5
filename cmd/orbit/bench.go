package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/bench"
)

type benchFlags struct {
	cfg        bench.Config
	adminAddr  string
	adminToken string
	flush      string
	queues     int32
	output     string
	nodeFlags  []string
}

func newBenchCmd() *cobra.Command {
	f := benchFlags{cfg: bench.Config{Topic: "bench", Group: "bench", Size: 1024, Producers: 1, Consumers: 1, Duration: 10 * time.Second}}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a node's send and end-to-end throughput and latency with the official RocketMQ client",
		Long: `Send messages of --size bytes from --producers concurrent senders for --duration
while --consumers push consumers receive them, then report throughput and
latency percentiles (send acknowledgement and end to end).

Without --endpoint it starts its own node (this executable, --flush mode) on
loopback in a temporary directory and also reports the node's CPU time per
message (user+system ÷ messages received or sent).

--type fifo sends to a FIFO topic over --message-groups message groups and
consumes with an orderly group, counting order violations; --type delay sends
messages due --delay later and reports how late they arrived (with --messages
to schedule a fixed number, e.g. 100000).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Endpoint, "endpoint", "", "RocketMQ endpoint of a running node (default: start one)")
	fl.StringVar(&f.adminAddr, "admin-addr", "", "admin address of that node, to create the topic and group")
	fl.StringVar(&f.adminToken, "admin-token", "", "admin token of that node")
	fl.StringVar(&f.cfg.AccessKey, "access-key", "", "access key the clients sign requests with (a node started by bench needs none)")
	fl.StringVar(&f.cfg.SecretKey, "secret-key", "", "secret key of --access-key")
	fl.StringVar(&f.cfg.Topic, "topic", f.cfg.Topic, "topic to send to (created if an admin address is known)")
	fl.StringVar(&f.cfg.Group, "group", f.cfg.Group, "consumer group of the consumers")
	fl.Int32Var(&f.queues, "queues", 8, "queues of the topic when it is created")
	fl.IntVar(&f.cfg.Size, "size", f.cfg.Size, "message body size in bytes")
	fl.IntVar(&f.cfg.Producers, "producers", f.cfg.Producers, "concurrent senders, one message in flight each (0: only receive --messages messages)")
	fl.IntVar(&f.cfg.Consumers, "consumers", f.cfg.Consumers, "push consumers (0: send only)")
	fl.DurationVar(&f.cfg.Duration, "duration", f.cfg.Duration, "how long to send")
	fl.BoolVar(&f.cfg.TLS, "tls", false, "connect with TLS (the node serves both on one port)")
	fl.StringVar(&f.flush, "flush", "sync", "flush mode of the node bench starts: sync or async")
	fl.StringVar(&f.output, "output", "text", "report format: text or json")
	fl.StringVar(&f.cfg.Type, "type", bench.TypeNormal, "message type: normal, fifo or delay (the topic gets a matching type; default names gain the type)")
	fl.IntVar(&f.cfg.MessageGroups, "message-groups", 1000, "fifo: message groups (at least --producers)")
	fl.DurationVar(&f.cfg.Delay, "delay", 10*time.Second, "delay: how far ahead each message is due")
	fl.Int64Var(&f.cfg.Messages, "messages", 0, "stop after this many messages (0: send for --duration)")
	fl.StringArrayVar(&f.nodeFlags, "node-flag", nil, "extra flag for the node bench starts, e.g. --node-flag=--trace=false (repeatable)")
	return cmd
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	if f.cfg.Type != bench.TypeNormal {
		// A topic has one message type: keep the runs of each type apart.
		if !cmd.Flags().Changed("topic") {
			f.cfg.Topic += "-" + f.cfg.Type
		}
		if !cmd.Flags().Changed("group") {
			f.cfg.Group += "-" + f.cfg.Type
		}
	}
	var node *benchNode
	if f.cfg.Endpoint == "" {
		var err error
		if node, err = startBenchNode(ctx, f.flush, f.nodeFlags); err != nil {
			return err
		}
		defer node.stop()
		f.cfg.Endpoint, f.adminAddr, f.adminToken = node.endpoint, node.adminAddr, node.token
		fmt.Fprintf(cmd.ErrOrStderr(), "started node pid %d (%s flush) at %s\n", node.cmd.Process.Pid, f.flush, node.endpoint)
	}
	if f.adminAddr != "" {
		if err := ensureBenchTopic(ctx, f); err != nil {
			return err
		}
	}
	if f.output == "text" {
		f.cfg.Progress = cmd.ErrOrStderr()
	}
	var cpu0 time.Duration
	if node != nil {
		cpu0, _ = processCPU(node.cmd.Process.Pid)
	}
	rep, err := bench.Run(ctx, f.cfg)
	if err != nil {
		return err
	}
	res := benchResult{Report: rep, Size: f.cfg.Size, Producers: f.cfg.Producers, Consumers: f.cfg.Consumers, Flush: f.flush,
		Type: f.cfg.Type, NodeFlags: f.nodeFlags}
	if node != nil {
		if cpu1, err := processCPU(node.cmd.Process.Pid); err == nil {
			msgs := max(rep.Sent, rep.Received)
			res.NodeCPU = cpu1 - cpu0
			if msgs > 0 {
				res.NodeCPUPerMessage = res.NodeCPU / time.Duration(msgs)
			}
		}
	}
	return printBench(out, f.output, res)
}

type benchResult struct {
	bench.Report
	Size              int
	Producers         int
	Consumers         int
	Flush             string
	Type              string
	NodeFlags         []string `json:",omitempty"`
	NodeCPU           time.Duration
	NodeCPUPerMessage time.Duration
}

func printBench(w io.Writer, format string, r benchResult) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "messages: %s, %d B, %d producers, %d consumers, %s flush", r.Type, r.Size, r.Producers, r.Consumers, r.Flush)
	if len(r.NodeFlags) > 0 {
		fmt.Fprintf(w, ", node %s", strings.Join(r.NodeFlags, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "sent:     %d in %s = %.0f msg/s (%d send errors)\n", r.Sent, r.Elapsed.Round(time.Millisecond), r.SendRate, r.SendErrors)
	if r.FirstSendError != "" {
		fmt.Fprintf(w, "first send error: %s\n", r.FirstSendError)
	}
	fmt.Fprintf(w, "send ack: %s\n", r.SendLatency)
	if r.Consumers > 0 {
		fmt.Fprintf(w, "received: %d = %.0f msg/s\n", r.Received, r.ReceiveRate)
		fmt.Fprintf(w, "e2e:      %s\n", r.E2ELatency)
	}
	if r.Type == bench.TypeDelay {
		fmt.Fprintf(w, "lateness: %s (%d early)\n", r.Lateness, r.Early)
	}
	if r.Type == bench.TypeFIFO {
		fmt.Fprintf(w, "order:    %d violations\n", r.OrderViolations)
	}
	if r.NodeCPU > 0 {
		fmt.Fprintf(w, "node CPU: %s total, %.1f µs per message\n", r.NodeCPU.Round(time.Millisecond), float64(r.NodeCPUPerMessage.Nanoseconds())/1000)
	}
	return nil
}

func ensureBenchTopic(ctx context.Context, f benchFlags) error {
	cfg := adminclient.DefaultConfig()
	cfg.Addr, cfg.Token = f.adminAddr, f.adminToken
	c, err := adminclient.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	typ := map[string]adminpb.TopicType{
		bench.TypeNormal: adminpb.TopicType_TOPIC_TYPE_NORMAL,
		bench.TypeFIFO:   adminpb.TopicType_TOPIC_TYPE_FIFO,
		bench.TypeDelay:  adminpb.TopicType_TOPIC_TYPE_DELAY,
	}[f.cfg.Type]
	_, err = c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: f.cfg.Topic, Type: typ, QueueCount: f.queues})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("create topic %s: %w", f.cfg.Topic, err)
	}
	if f.cfg.Consumers > 0 {
		_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: f.cfg.Group, Orderly: f.cfg.Type == bench.TypeFIFO})
		if err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("create group %s: %w", f.cfg.Group, err)
		}
	}
	return nil
}

type benchNode struct {
	cmd                        *exec.Cmd
	dir                        string
	endpoint, adminAddr, token string
}

// startBenchNode runs `orbit node` (this executable) on loopback ports in a
// temporary directory and waits for it to say where it listens.
func startBenchNode(ctx context.Context, flush string, extra []string) (*benchNode, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "orbit-bench-")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	n := &benchNode{dir: dir, token: hex.EncodeToString(tok)}
	args := []string{"node", "--data-dir", dir, "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--http-addr", "", "--flush", flush, "--log-level", "warn", "--allow-anonymous"}
	n.cmd = exec.CommandContext(ctx, exe, append(args, extra...)...)
	n.cmd.Env = append(os.Environ(), "ORBIT_NODE_ADMIN_TOKEN="+n.token) // not on the command line, where ps would show it
	n.cmd.Stderr = os.Stderr
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start node: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	for (n.endpoint == "" || n.adminAddr == "") && sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "RocketMQ endpoint: "); ok {
			n.endpoint = v
		}
		if v, ok := strings.CutPrefix(line, "Admin service: "); ok {
			n.adminAddr = v
		}
	}
	if n.endpoint == "" || n.adminAddr == "" {
		n.stop()
		return nil, errors.New("the node exited before it was ready")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return n, nil
}

func (n *benchNode) stop() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(n.dir)
}

// processCPU reads user+system CPU time of a process from /proc (Linux).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) start past the last ')'.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

func isAlreadyExists(err error) bool { return status.Code(err) == codes.AlreadyExists }
