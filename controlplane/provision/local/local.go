// Package local is the embedded-default provisioner: it runs each instance as
// an `orbit node` child process of the orbit executable itself, on loopback
// ports it picks, with its own directory <Dir>/<instanceID>/ holding the
// node's data (data/), its log (node.log) and instance.json, the record that
// lets a new Provisioner adopt a node still running after `orbit serve`
// restarted.
//
// Nodes run in their own session: stopping `orbit serve` leaves them
// serving. While a Provisioner runs, a supervisor goroutine per instance
// health-checks its node through the admin service (GetNodeStats) and
// restarts it when it dies or stays unhealthy, with backoff; after
// Config.MaxFailures starts in a row that never became healthy the instance
// is FAILED until the next Apply.
//
// May import: controlplane/provision, dataplane/admin/{adminclient,adminpb}.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// Config of a Provisioner.
type Config struct {
	// Dir holds one directory per instance. Required.
	Dir string
	// Executable is the orbit binary run as `orbit node`; default
	// os.Executable(). Tests point it at a test binary that acts as orbit.
	Executable string
	// Env is added to the nodes' environment (which is this process's,
	// without ORBIT_NODE_* variables).
	Env []string
	// Host is the loopback address nodes listen on; default 127.0.0.1.
	Host string
	// StopTimeout is how long a node may take to shut down after SIGTERM
	// before it is killed. Default 15 s (the node's own shutdown takes up to 10).
	StopTimeout time.Duration
	// ProbeInterval is the gap between health checks of a healthy node
	// (a starting one is checked every 100 ms). Default 1 s.
	ProbeInterval time.Duration
	// UnhealthyTimeout: a node whose admin service has not answered for
	// this long (since it started or last answered) is killed and restarted.
	// Default 60 s.
	UnhealthyTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait before restarting a node
	// that died; it doubles with each failure in a row. Default 1 s and 30 s.
	BackoffMin, BackoffMax time.Duration
	// MaxFailures: after this many exits in a row without a stable run the
	// instance is FAILED and the supervisor gives up until the next Apply.
	// Default 5.
	MaxFailures int
	Log         *slog.Logger
}

// DefaultConfig returns the defaults for everything but Dir.
func DefaultConfig() Config {
	return Config{
		Host:             "127.0.0.1",
		StopTimeout:      15 * time.Second,
		ProbeInterval:    time.Second,
		UnhealthyTimeout: 60 * time.Second,
		BackoffMin:       time.Second,
		BackoffMax:       30 * time.Second,
		MaxFailures:      5,
	}
}

// Validate reports configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("local provisioner: Dir is required"))
	}
	if c.StopTimeout < 0 || c.ProbeInterval < 0 || c.UnhealthyTimeout < 0 || c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin || c.MaxFailures < 0 {
		errs = append(errs, errors.New("local provisioner: durations and MaxFailures must not be negative, BackoffMax ≥ BackoffMin"))
	}
	return errors.Join(errs...)
}

// maxLogBytes: node.log is rotated (one old copy) when it grew past this at a start.
const maxLogBytes = 16 << 20

// probeTimeout bounds one health check.
const probeTimeout = time.Second

// Provisioner runs instances as local `orbit node` processes. See the package doc.
type Provisioner struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry
	closed  bool
}

var _ provision.Provisioner = (*Provisioner)(nil)

// entry is one instance the Provisioner knows.
type entry struct {
	id, dir string
	op      sync.Mutex // serialises Apply, Stop and Delete

	mu        sync.Mutex
	st        state
	proc      *proc
	sup       *supervisor
	healthy   bool
	failed    bool
	reason    string
	phase     provision.Phase
	since     time.Time
	client    *adminclient.Client
	clientKey string
}

type supervisor struct {
	stop   chan struct{}
	detach bool // set before stop is closed: leave the node running
	done   chan struct{}
}

// New returns a Provisioner keeping its instances under cfg.Dir. Zero fields
// of cfg take DefaultConfig's values.
func New(cfg Config) (*Provisioner, error) {
	def := DefaultConfig()
	if cfg.Host == "" {
		cfg.Host = def.Host
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = def.StopTimeout
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = def.ProbeInterval
	}
	if cfg.UnhealthyTimeout == 0 {
		cfg.UnhealthyTimeout = def.UnhealthyTimeout
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = def.BackoffMin
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(def.BackoffMax, cfg.BackoffMin)
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = def.MaxFailures
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("local provisioner: find the orbit executable: %w", err)
		}
		cfg.Executable = exe
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("local provisioner: %w", err)
	}
	cfg.Dir = abs
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("local provisioner: create %s: %w", cfg.Dir, err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provisioner{cfg: cfg, log: log.With("component", "provision/local"), entries: map[string]*entry{}}, nil
}

var errClosed = errors.New("local provisioner is closed")

// Close stops supervising without stopping any node: they keep serving and
// the next Provisioner on the same Dir adopts them.
func (p *Provisioner) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := make([]*entry, 0, len(p.entries))
	for _, e := range p.entries {
		entries = append(entries, e)
	}
	p.mu.Unlock()
	for _, e := range entries {
		p.stopSupervisor(e, false)
		e.mu.Lock()
		if e.proc != nil {
			e.proc.release()
		}
		e.closeClientLocked()
		e.mu.Unlock()
	}
	return nil
}

func (p *Provisioner) instanceDir(id string) string { return filepath.Join(p.cfg.Dir, id) }
func dataDir(dir string) string                     { return filepath.Join(dir, "data") }
func logPath(dir string) string                     { return filepath.Join(dir, "node.log") }

// get returns the entry of id, loading (and adopting) it from disk when this
// Provisioner has not seen it yet; nil when nothing is provisioned.
func (p *Provisioner) get(id string) (*entry, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	e := p.entries[id]
	p.mu.Unlock()
	if e != nil {
		return e, nil
	}
	e, err := p.load(id)
	if err != nil || e == nil {
		return nil, err
	}
	p.mu.Lock()
	prev := p.entries[id]
	if prev == nil {
		p.entries[id] = e
	}
	p.mu.Unlock()
	if prev != nil { // loaded concurrently: keep the first
		p.stopSupervisor(e, false)
		if e.proc != nil {
			e.proc.release()
		}
		return prev, nil
	}
	return e, nil
}

// load reads instance.json and adopts a node that still runs: its pid is
// alive, runs this instance's data directory (or, where /proc is missing,
// its admin service answers with the token).
func (p *Provisioner) load(id string) (*entry, error) {
	dir := p.instanceDir(id)
	st, err := readState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &entry{id: id, dir: dir, st: st}
	if st.PID > 0 && alive(st.PID) {
		ours, known := runsDataDir(st.PID, dataDir(dir))
		if !known {
			ours = p.probe(e) == nil
		}
		if ours {
			e.proc = adoptProcess(st.PID, st.StartedAt)
			e.healthy = p.probe(e) == nil
			p.log.Info("adopted running node", "instance_id", id, "pid", st.PID, "healthy", e.healthy)
			p.startSupervisor(e)
			return e, nil
		}
	}
	e.st.PID = 0
	return e, nil
}

// Apply implements provision.Provisioner.
func (p *Provisioner) Apply(ctx context.Context, spec provision.NodeSpec) (provision.Observed, error) {
	if err := checkID(spec.InstanceID); err != nil {
		return provision.Observed{}, err
	}
	if strings.TrimSpace(spec.AdminToken) == "" {
		return provision.Observed{}, errors.New("apply: the admin token is required")
	}
	if spec.Flush == "" {
		spec.Flush = "sync"
	}
	if spec.Flush != "sync" && spec.Flush != "async" {
		return provision.Observed{}, fmt.Errorf("apply: flush mode %q, want sync or async", spec.Flush)
	}
	if spec.RetentionHours < 0 {
		return provision.Observed{}, errors.New("apply: retention hours must not be negative")
	}
	if spec.MaxTopics < 0 || spec.MaxGroups < 0 || spec.MaxTPS < 0 {
		return provision.Observed{}, errors.New("apply: instance limits must not be negative (0: unlimited)")
	}
	e, err := p.get(spec.InstanceID)
	if err != nil {
		return provision.Observed{}, err
	}
	if e == nil {
		e, err = p.create(spec.InstanceID)
		if err != nil {
			return provision.Observed{}, err
		}
	}
	e.op.Lock()
	defer e.op.Unlock()

	e.mu.Lock()
	current := e.sup != nil && !e.failed && e.st.Running &&
		e.st.Generation >= spec.Generation && e.st.AdminToken == spec.AdminToken
	e.mu.Unlock()
	if current {
		return p.observe(e), nil
	}
	// A newer generation (or a FAILED or stopped node): (re)start with spec.
	p.stopSupervisor(e, true)
	e.mu.Lock()
	e.st.Running = true
	e.st.Generation = spec.Generation
	e.st.Flush = spec.Flush
	e.st.RetentionHours = spec.RetentionHours
	e.st.MaxTopics, e.st.MaxGroups, e.st.MaxTPS = spec.MaxTopics, spec.MaxGroups, spec.MaxTPS
	if e.st.AdminToken != spec.AdminToken {
		e.closeClientLocked()
	}
	e.st.AdminToken = spec.AdminToken
	e.failed, e.reason = false, ""
	err = writeState(e.dir, e.st)
	e.mu.Unlock()
	if err != nil {
		return provision.Observed{}, err
	}
	if err := ctx.Err(); err != nil {
		return provision.Observed{}, err
	}
	p.startSupervisor(e)
	return p.observe(e), nil
}

// create makes the directory of a new instance.
func (p *Provisioner) create(id string) (*entry, error) {
	dir := p.instanceDir(id)
	if err := os.MkdirAll(dataDir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("create instance directory: %w", err)
	}
	e := &entry{id: id, dir: dir}
	if err := writeState(dir, e.st); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	if prev := p.entries[id]; prev != nil {
		return prev, nil
	}
	p.entries[id] = e
	return e, nil
}

// Stop implements provision.Provisioner: the node is stopped (SIGTERM, then
// SIGKILL after StopTimeout), its data kept.
func (p *Provisioner) Stop(ctx context.Context, id string) error {
	e, err := p.get(id)
	if err != nil || e == nil {
		return err
	}
	e.op.Lock()
	defer e.op.Unlock()
	done := make(chan struct{})
	go func() { p.stopSupervisor(e, true); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", id, ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.Running = false
	e.st.PID = 0
	e.failed, e.reason = false, ""
	return writeState(e.dir, e.st)
}

// Delete implements provision.Provisioner: stop, then remove the directory.
func (p *Provisioner) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := p.Stop(ctx, id); err != nil {
		return err
	}
	p.mu.Lock()
	e := p.entries[id]
	delete(p.entries, id)
	p.mu.Unlock()
	if e != nil {
		e.mu.Lock()
		e.closeClientLocked()
		e.mu.Unlock()
	}
	if err := os.RemoveAll(p.instanceDir(id)); err != nil {
		return fmt.Errorf("delete instance directory: %w", err)
	}
	p.log.Info("instance deleted", "instance_id", id)
	return nil
}

// Observe implements provision.Provisioner.
func (p *Provisioner) Observe(_ context.Context, id string) (provision.Observed, error) {
	e, err := p.get(id)
	if err != nil {
		return provision.Observed{}, err
	}
	if e == nil {
		return provision.Observed{Phase: provision.PhaseAbsent}, nil
	}
	return p.observe(e), nil
}

// List implements provision.Provisioner: every instance directory with an
// instance.json, adopting running nodes on the way.
func (p *Provisioner) List(ctx context.Context) (map[string]provision.Observed, error) {
	des, err := os.ReadDir(p.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := map[string]provision.Observed{}
	for _, de := range des {
		if !de.IsDir() || checkID(de.Name()) != nil || !stateExists(p.instanceDir(de.Name())) {
			continue
		}
		obs, err := p.Observe(ctx, de.Name())
		if err != nil {
			return nil, err
		}
		if obs.Phase != provision.PhaseAbsent {
			out[de.Name()] = obs
		}
	}
	return out, nil
}

func (p *Provisioner) observe(e *entry) provision.Observed {
	e.mu.Lock()
	defer e.mu.Unlock()
	obs := provision.Observed{Generation: e.st.Generation, Restarts: e.st.Restarts}
	switch {
	case e.failed:
		obs.Phase, obs.Reason = provision.PhaseFailed, e.reason
	case e.sup == nil:
		obs.Phase = provision.PhaseStopped
	case e.proc != nil && !e.proc.exited() && e.healthy:
		obs.Phase = provision.PhaseRunning
	default:
		obs.Phase, obs.Reason = provision.PhaseStarting, e.reason
		if obs.Reason == "" {
			obs.Reason = "waiting for the node's admin service"
		}
	}
	if e.st.GRPCPort != 0 && obs.Phase != provision.PhaseStopped {
		obs.Endpoint = net.JoinHostPort(p.cfg.Host, strconv.Itoa(e.st.GRPCPort))
		obs.AdminAddr = net.JoinHostPort(p.cfg.Host, strconv.Itoa(e.st.AdminPort))
	}
	if obs.Phase != e.phase {
		e.phase, e.since = obs.Phase, time.Now()
	}
	obs.Since = e.since
	return obs
}

func (e *entry) closeClientLocked() {
	if e.client != nil {
		_ = e.client.Close()
		e.client, e.clientKey = nil, ""
	}
}

// probe checks the node's health with GetNodeStats.
func (p *Provisioner) probe(e *entry) error {
	e.mu.Lock()
	addr := net.JoinHostPort(p.cfg.Host, strconv.Itoa(e.st.AdminPort))
	key := addr + "\x00" + e.st.AdminToken
	if e.client == nil || e.clientKey != key {
		e.closeClientLocked()
		cfg := adminclient.DefaultConfig()
		cfg.Addr, cfg.Token, cfg.Timeout, cfg.Attempts = addr, e.st.AdminToken, probeTimeout, 1
		c, err := adminclient.New(cfg)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		e.client, e.clientKey = c, key
	}
	c := e.client
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_, err := c.GetNodeStats(ctx, &adminpb.GetNodeStatsRequest{})
	if err != nil {
		// A fresh connection next time: gRPC would otherwise wait out its
		// reconnect backoff (up to minutes) after the node restarted.
		e.mu.Lock()
		if e.client == c {
			e.closeClientLocked()
		}
		e.mu.Unlock()
	}
	return err
}

func (p *Provisioner) startSupervisor(e *entry) {
	s := &supervisor{stop: make(chan struct{}), done: make(chan struct{})}
	e.mu.Lock()
	e.sup = s
	e.mu.Unlock()
	go func() {
		defer close(s.done)
		p.supervise(e, s)
	}()
}

// stopSupervisor ends e's supervisor and waits for it; with terminate it
// also stops the node, otherwise the node is left running.
func (p *Provisioner) stopSupervisor(e *entry, terminate bool) {
	e.mu.Lock()
	s := e.sup
	e.sup = nil
	e.mu.Unlock()
	if s == nil {
		return
	}
	s.detach = !terminate
	close(s.stop)
	<-s.done
}

// supervise keeps e's node running until s is stopped or the node failed
// MaxFailures times in a row.
func (p *Provisioner) supervise(e *entry, s *supervisor) {
	log := p.log.With("instance_id", e.id)
	failures := 0
	for {
		e.mu.Lock()
		pr := e.proc
		e.mu.Unlock()
		var exit string
		healthyFor := time.Duration(0)
		if pr == nil || pr.exited() {
			var err error
			pr, err = p.start(e)
			if err != nil {
				exit = err.Error()
				log.Warn("node did not start", "err", err)
			}
		}
		if pr != nil {
			var stopped bool
			healthyFor, stopped = p.watch(e, s, pr)
			if stopped {
				if s.detach {
					return
				}
				pr.terminate(p.cfg.StopTimeout)
				e.mu.Lock()
				e.proc, e.healthy = nil, false
				e.mu.Unlock()
				log.Info("node stopped", "pid", pr.pid)
				return
			}
			exit = pr.exitStatus()
		}

		// The node died (or never started).
		e.mu.Lock()
		e.proc, e.healthy = nil, false
		e.st.PID = 0
		e.st.Restarts++
		if healthyFor == 0 {
			// It never answered: perhaps its ports were taken. Pick new ones.
			e.st.GRPCPort, e.st.AdminPort = 0, 0
		}
		if healthyFor >= p.cfg.BackoffMax {
			failures = 0 // it ran stably: this is a new crash, not a crash loop
		}
		failures++
		if err := writeState(e.dir, e.st); err != nil {
			log.Warn("save instance state", "err", err)
		}
		detail := exit
		if line := lastLogLine(logPath(e.dir)); line != "" {
			detail += ": " + line
		}
		if failures >= p.cfg.MaxFailures {
			e.failed = true
			e.reason = fmt.Sprintf("the node exited %d times in a row (last: %s)", failures, detail)
			e.mu.Unlock()
			log.Error("node keeps failing; giving up until the next apply", "failures", failures, "exit", detail)
			return
		}
		wait := min(p.cfg.BackoffMin<<(failures-1), p.cfg.BackoffMax)
		e.reason = fmt.Sprintf("restarting in %s after the node exited (%s)", wait, detail)
		e.mu.Unlock()
		log.Warn("node exited; restarting", "exit", detail, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// watch health-checks pr until it exits or s is stopped, killing it when it
// stays unhealthy past UnhealthyTimeout. It reports how long the node was
// healthy (0: never answered) and whether s was stopped.
func (p *Provisioner) watch(e *entry, s *supervisor, pr *proc) (healthyFor time.Duration, stopped bool) {
	var firstHealthy time.Time
	lastOK := pr.startedAt
	e.mu.Lock()
	if e.healthy {
		firstHealthy, lastOK = time.Now(), time.Now()
	}
	e.mu.Unlock()
	interval := 100 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return sinceOrZero(firstHealthy), true
		case <-pr.done:
			return sinceOrZero(firstHealthy), false
		case <-t.C:
		}
		err := p.probe(e)
		now := time.Now()
		e.mu.Lock()
		e.healthy = err == nil
		if err == nil {
			e.reason = ""
		}
		e.mu.Unlock()
		if err == nil {
			lastOK = now
			if firstHealthy.IsZero() {
				firstHealthy = now
				p.log.Info("node is healthy", "instance_id", e.id, "pid", pr.pid)
			}
			interval = p.cfg.ProbeInterval
		} else if now.Sub(lastOK) > p.cfg.UnhealthyTimeout {
			p.log.Warn("node unhealthy too long; killing it", "instance_id", e.id, "pid", pr.pid, "err", err)
			pr.signal(syscall.SIGKILL)
		}
		t.Reset(interval)
	}
}

func sinceOrZero(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(time.Since(t), time.Nanosecond)
}

// start runs a node for e's current state and records its pid.
func (p *Provisioner) start(e *entry) (*proc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	if e.st.GRPCPort == 0 {
		if e.st.GRPCPort, err = freePort(p.cfg.Host); err != nil {
			return nil, err
		}
	}
	if e.st.AdminPort == 0 {
		if e.st.AdminPort, err = freePort(p.cfg.Host); err != nil {
			return nil, err
		}
		for e.st.AdminPort == e.st.GRPCPort {
			if e.st.AdminPort, err = freePort(p.cfg.Host); err != nil {
				return nil, err
			}
		}
	}
	args := []string{"node",
		"--data-dir", dataDir(e.dir),
		"--grpc-addr", net.JoinHostPort(p.cfg.Host, strconv.Itoa(e.st.GRPCPort)),
		"--admin-addr", net.JoinHostPort(p.cfg.Host, strconv.Itoa(e.st.AdminPort)),
		"--http-addr", "",
		"--flush", e.st.Flush,
		"--retention-hours", strconv.Itoa(e.st.RetentionHours),
		"--max-topics", strconv.Itoa(e.st.MaxTopics),
		"--max-groups", strconv.Itoa(e.st.MaxGroups),
		"--max-tps", strconv.Itoa(e.st.MaxTPS),
	}
	if err := os.MkdirAll(dataDir(e.dir), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	rotateLog(logPath(e.dir), maxLogBytes)
	// The token goes through the environment: a command line is visible to
	// every user of the machine (ps).
	pr, err := startProcess(p.cfg.Executable, args, p.nodeEnv(e.st.AdminToken), e.dir, logPath(e.dir))
	if err != nil {
		return nil, err
	}
	e.proc, e.healthy = pr, false
	e.st.PID, e.st.StartedAt = pr.pid, pr.startedAt.UTC()
	if err := writeState(e.dir, e.st); err != nil {
		// Without the record a restarted provisioner could not adopt the
		// node, and would start a second one on the same data: give up.
		pr.signal(syscall.SIGKILL)
		<-pr.done
		e.proc, e.st.PID = nil, 0
		return nil, err
	}
	p.log.Info("node started", "instance_id", e.id, "pid", pr.pid, "generation", e.st.Generation)
	return pr, nil
}

// nodeEnv is this process's environment without ORBIT_NODE_* variables
// (which would configure the node behind the provisioner's back), plus
// Config.Env and the admin token.
func (p *Provisioner) nodeEnv(token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ORBIT_NODE_") {
			env = append(env, kv)
		}
	}
	env = append(env, p.cfg.Env...)
	return append(env, "ORBIT_NODE_ADMIN_TOKEN="+token)
}
