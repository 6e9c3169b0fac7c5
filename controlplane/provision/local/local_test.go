package local_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/provision/local"
	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/store"
)

// nodeEnv makes the test binary act as `orbit node` (a test cannot run the
// orbit main package): "run" serves, "fail" exits at once with an error.
const nodeEnv = "ORBIT_LOCAL_TEST_NODE"

func TestMain(m *testing.M) {
	switch os.Getenv(nodeEnv) {
	case "":
		os.Exit(m.Run())
	case "fail":
		fmt.Fprintln(os.Stderr, "Error: cannot start: broken on purpose")
		os.Exit(1)
	default:
		os.Exit(runNode())
	}
}

// runNode is a small `orbit node` taking the flags the provisioner passes.
func runNode() int {
	if len(os.Args) < 2 || os.Args[1] != "node" {
		fmt.Fprintln(os.Stderr, "want: node [flags]")
		return 2
	}
	cfg := node.DefaultConfig()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "", "")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", "", "")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "", "")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "")
	flush := fs.String("flush", "sync", "")
	fs.IntVar(&cfg.RetentionHours, "retention-hours", 0, "")
	fs.IntVar(&cfg.MaxTopics, "max-topics", 0, "")
	fs.IntVar(&cfg.MaxGroups, "max-groups", 0, "")
	fs.IntVar(&cfg.MaxTPS, "max-tps", 0, "")
	if err := fs.Parse(os.Args[2:]); err != nil {
		return 2
	}
	cfg.Flush = store.FlushMode(*flush)
	cfg.AdminToken = os.Getenv("ORBIT_NODE_ADMIN_TOKEN")
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	fmt.Printf("RocketMQ endpoint: %s\nAdmin service: %s\n", n.GRPCAddr(), n.AdminAddr())
	select {
	case <-ctx.Done():
		if err := n.Stop(context.Background()); err != nil {
			return 1
		}
	case <-n.Done():
		return 1
	}
	return 0
}

const token = "test-admin-token-0123456789"

func testConfig(t *testing.T, dir string, env ...string) local.Config {
	cfg := local.DefaultConfig()
	cfg.Dir = dir
	cfg.Executable = os.Args[0]
	cfg.Env = append([]string{nodeEnv + "=run"}, env...)
	cfg.StopTimeout = 10 * time.Second
	cfg.ProbeInterval = 100 * time.Millisecond
	cfg.BackoffMin = 50 * time.Millisecond
	cfg.BackoffMax = time.Second
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	return cfg
}

// newProvisioner returns a Provisioner on dir; when the test ends it is
// closed and every node under dir is killed.
func newProvisioner(t *testing.T, cfg local.Config) *local.Provisioner {
	t.Helper()
	p, err := local.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Close()
		killAll(cfg.Dir)
	})
	return p
}

func killAll(dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if pid := readPID(dir, de.Name()); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func readPID(dir, id string) int {
	raw, err := os.ReadFile(filepath.Join(dir, id, "instance.json"))
	if err != nil {
		return 0
	}
	var st struct{ PID int }
	if json.Unmarshal(raw, &st) != nil {
		return 0
	}
	return st.PID
}

func spec(id string, gen int64) provision.NodeSpec {
	return provision.NodeSpec{InstanceID: id, AdminToken: token, RetentionHours: 24, Flush: "async", Generation: gen}
}

func waitPhase(t *testing.T, p provision.Provisioner, id string, want provision.Phase) provision.Observed {
	t.Helper()
	var obs provision.Observed
	require.Eventually(t, func() bool {
		var err error
		obs, err = p.Observe(t.Context(), id)
		require.NoError(t, err)
		return obs.Phase == want
	}, 60*time.Second, 20*time.Millisecond, "want %s", want)
	return obs
}

func admin(t *testing.T, addr string) *adminclient.Client {
	t.Helper()
	cfg := adminclient.DefaultConfig()
	cfg.Addr, cfg.Token = addr, token
	c, err := adminclient.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestLocalApplyRunsNodeAndStopKeepsData(t *testing.T) {
	dir := t.TempDir()
	p := newProvisioner(t, testConfig(t, dir))
	ctx := t.Context()

	obs, err := p.Observe(ctx, "i1")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseAbsent, obs.Phase)

	limited := spec("i1", 1)
	limited.MaxTopics, limited.MaxGroups, limited.MaxTPS = 1, 2, 500
	obs, err = p.Apply(ctx, limited)
	require.NoError(t, err)
	require.Contains(t, []provision.Phase{provision.PhaseStarting, provision.PhaseRunning}, obs.Phase)
	obs = waitPhase(t, p, "i1", provision.PhaseRunning)
	require.EqualValues(t, 1, obs.Generation)
	require.NotEmpty(t, obs.Endpoint)
	require.NotEmpty(t, obs.AdminAddr)

	// The admin service answers with the token, and the token is not on
	// the node's command line.
	c := admin(t, obs.AdminAddr)
	_, err = c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders"})
	require.NoError(t, err)
	pid := readPID(dir, "i1")
	require.Positive(t, pid)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	require.NotContains(t, string(cmdline), token)
	require.Contains(t, string(cmdline), "--retention-hours\x0024")
	require.Contains(t, string(cmdline), "--flush\x00async")
	require.Contains(t, string(cmdline), "--max-topics\x001\x00--max-groups\x002\x00--max-tps\x00500")
	// The node enforces the spec's limits.
	_, err = c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "payments"})
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)

	// Apply again with the same generation is a no-op.
	_, err = p.Apply(ctx, spec("i1", 1))
	require.NoError(t, err)
	require.Equal(t, pid, readPID(dir, "i1"))

	list, err := p.List(ctx)
	require.NoError(t, err)
	require.Equal(t, provision.PhaseRunning, list["i1"].Phase)

	require.NoError(t, p.Stop(ctx, "i1"))
	require.True(t, processGone(pid), "the node is stopped")
	obs, err = p.Observe(ctx, "i1")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseStopped, obs.Phase)
	require.NoError(t, p.Stop(ctx, "i1"), "stopping twice is fine")

	_, err = p.Apply(ctx, spec("i1", 1))
	require.NoError(t, err)
	obs = waitPhase(t, p, "i1", provision.PhaseRunning)
	c = admin(t, obs.AdminAddr)
	_, err = c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: "orders"})
	require.NoError(t, err, "data survives stop and start")

	pid = readPID(dir, "i1")
	require.NoError(t, p.Delete(ctx, "i1"))
	require.NoDirExists(t, filepath.Join(dir, "i1"))
	require.True(t, processGone(pid))
	obs, err = p.Observe(ctx, "i1")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseAbsent, obs.Phase)
	require.NoError(t, p.Delete(ctx, "i1"), "deleting an absent instance succeeds")
}

func TestLocalSupervisorRestartsKilledNode(t *testing.T) {
	dir := t.TempDir()
	p := newProvisioner(t, testConfig(t, dir))
	ctx := t.Context()
	_, err := p.Apply(ctx, spec("i1", 1))
	require.NoError(t, err)
	before := waitPhase(t, p, "i1", provision.PhaseRunning)
	_, err = admin(t, before.AdminAddr).CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders"})
	require.NoError(t, err)
	pid := readPID(dir, "i1")

	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	var after provision.Observed
	require.Eventually(t, func() bool {
		after, err = p.Observe(ctx, "i1")
		require.NoError(t, err)
		return after.Phase == provision.PhaseRunning && readPID(dir, "i1") != pid
	}, 60*time.Second, 20*time.Millisecond)
	require.Equal(t, 1, after.Restarts)
	require.Equal(t, before.Endpoint, after.Endpoint, "the node comes back on the same ports")
	_, err = admin(t, after.AdminAddr).GetTopic(ctx, &adminpb.GetTopicRequest{Name: "orders"})
	require.NoError(t, err)
}

func TestLocalNewProvisionerAdoptsRunningNode(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	p1 := newProvisioner(t, cfg)
	ctx := t.Context()
	_, err := p1.Apply(ctx, spec("i1", 3))
	require.NoError(t, err)
	before := waitPhase(t, p1, "i1", provision.PhaseRunning)
	pid := readPID(dir, "i1")
	require.NoError(t, p1.Close(), "closing leaves the node running")
	require.False(t, processGone(pid))
	_, err = p1.Observe(ctx, "i1")
	require.Error(t, err, "a closed provisioner refuses work")

	p2 := newProvisioner(t, cfg)
	list, err := p2.List(ctx)
	require.NoError(t, err)
	require.Contains(t, list, "i1")
	after := waitPhase(t, p2, "i1", provision.PhaseRunning)
	require.Equal(t, pid, readPID(dir, "i1"), "the same process is adopted")
	require.Equal(t, before.Endpoint, after.Endpoint)
	require.EqualValues(t, 3, after.Generation)

	// Apply of the generation it runs changes nothing; the adopted node is
	// supervised: killed, it comes back.
	_, err = p2.Apply(ctx, spec("i1", 3))
	require.NoError(t, err)
	require.Equal(t, pid, readPID(dir, "i1"))
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		obs, err := p2.Observe(ctx, "i1")
		require.NoError(t, err)
		return obs.Phase == provision.PhaseRunning && readPID(dir, "i1") != pid
	}, 60*time.Second, 20*time.Millisecond)

	// A newer generation restarts the node with it.
	pid = readPID(dir, "i1")
	_, err = p2.Apply(ctx, spec("i1", 4))
	require.NoError(t, err)
	obs := waitPhase(t, p2, "i1", provision.PhaseRunning)
	require.EqualValues(t, 4, obs.Generation)
	require.NotEqual(t, pid, readPID(dir, "i1"))
	require.True(t, processGone(pid))
}

func TestLocalStoppedInstanceStaysStoppedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	p1 := newProvisioner(t, cfg)
	_, err := p1.Apply(t.Context(), spec("i1", 1))
	require.NoError(t, err)
	waitPhase(t, p1, "i1", provision.PhaseRunning)
	require.NoError(t, p1.Stop(t.Context(), "i1"))
	require.NoError(t, p1.Close())

	p2 := newProvisioner(t, cfg)
	obs, err := p2.Observe(t.Context(), "i1")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseStopped, obs.Phase)
}

func TestLocalNodeThatCannotStartIsFailed(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Env = []string{nodeEnv + "=fail"}
	cfg.MaxFailures = 3
	cfg.BackoffMin = 10 * time.Millisecond
	p := newProvisioner(t, cfg)
	_, err := p.Apply(t.Context(), spec("i1", 1))
	require.NoError(t, err)
	obs := waitPhase(t, p, "i1", provision.PhaseFailed)
	require.Contains(t, obs.Reason, "exited 3 times in a row")
	require.Contains(t, obs.Reason, "broken on purpose", "the reason carries the node's last words")
	require.NotContains(t, obs.Reason, token)

	// Apply tries again (and fails again).
	_, err = p.Apply(t.Context(), spec("i1", 1))
	require.NoError(t, err)
	obs, err = p.Observe(t.Context(), "i1")
	require.NoError(t, err)
	require.NotEqual(t, provision.PhaseFailed, obs.Phase)
	waitPhase(t, p, "i1", provision.PhaseFailed)
	require.NoError(t, p.Delete(t.Context(), "i1"))
}

func TestLocalRejectsBadInput(t *testing.T) {
	p := newProvisioner(t, testConfig(t, t.TempDir()))
	for _, id := range []string{"", "..", "a/b", "../x"} {
		_, err := p.Apply(t.Context(), provision.NodeSpec{InstanceID: id, AdminToken: token})
		require.Error(t, err, id)
		_, err = p.Observe(t.Context(), id)
		require.Error(t, err, id)
	}
	_, err := p.Apply(t.Context(), provision.NodeSpec{InstanceID: "i1"})
	require.ErrorContains(t, err, "admin token")
	_, err = p.Apply(t.Context(), provision.NodeSpec{InstanceID: "i1", AdminToken: token, Flush: "sometimes"})
	require.ErrorContains(t, err, "flush")
	_, err = p.Apply(t.Context(), provision.NodeSpec{InstanceID: "i1", AdminToken: token, MaxTopics: -1})
	require.ErrorContains(t, err, "must not be negative")
	_, err = local.New(local.Config{})
	require.Error(t, err)
}
