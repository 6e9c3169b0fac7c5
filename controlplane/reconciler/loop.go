package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/resources"
)

// Loop reconciles the instances of the database with a Provisioner. Every
// Interval it claims instances (renewing its leases), and for each one not
// still being worked on it observes, plans, acts and reports. After a restart
// of `orbit serve` the provisioner's Observe finds nodes still running
// (adopted) and the plan reports them RUNNING without touching them; nodes
// that are gone are started again.
type Loop struct {
	DB          *gorm.DB
	Provisioner provision.Provisioner
	// Owner names this replica in lease_owner; unique per `orbit serve` process.
	Owner string
	// Interval between passes; default 1 s.
	Interval time.Duration
	// LeaseTTL: how long a claim holds if this replica stops renewing it;
	// also bounds one instance's reconcile. Default 30 s.
	LeaseTTL time.Duration
	// Limit: instances claimed per pass; default 100.
	Limit int
	// Concurrency: instances reconciled at once; default 8.
	Concurrency int
	// BackoffMin and BackoffMax bound the wait before retrying a failing
	// instance; it doubles with each failure in a row. Default 2 s and 2 min.
	BackoffMin, BackoffMax time.Duration
	// Specs resolves an instance's spec code to its limits for the NodeSpec;
	// optional (limits stay 0).
	Specs func(ctx context.Context, code string) (instances.Spec, error)
	// Resources, when set, turns on drift repair: every DriftInterval
	// (default 30 s) a RUNNING instance's node gets back the topics and
	// groups of the database it lacks (drift.go). Connect opens the node;
	// nil uses resources.Connect.
	Resources *resources.Store
	// AccessKeys, when set with Resources, adds the instance's access keys
	// to drift repair: a key the node lacks or holds with another enabled
	// flag is put again.
	AccessKeys    *resources.AccessKeyService
	Connect       resources.Connector
	DriftInterval time.Duration
	Log           *slog.Logger

	mu        sync.Mutex
	inflight  map[string]bool
	retries   map[string]*retry
	driftNext map[string]time.Time // next drift check per instance
}

type retry struct {
	failures int
	next     time.Time
}

func (l *Loop) defaults() error {
	if l.DB == nil || l.Provisioner == nil || l.Owner == "" {
		return errors.New("reconciler: DB, Provisioner and Owner are required")
	}
	if l.Interval <= 0 {
		l.Interval = time.Second
	}
	if l.LeaseTTL <= 0 {
		l.LeaseTTL = 30 * time.Second
	}
	if l.Limit <= 0 {
		l.Limit = 100
	}
	if l.Concurrency <= 0 {
		l.Concurrency = 8
	}
	if l.BackoffMin <= 0 {
		l.BackoffMin = 2 * time.Second
	}
	if l.BackoffMax < l.BackoffMin {
		l.BackoffMax = max(2*time.Minute, l.BackoffMin)
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	l.inflight = map[string]bool{}
	l.retries = map[string]*retry{}
	l.driftNext = map[string]time.Time{}
	if l.DriftInterval <= 0 {
		l.DriftInterval = 30 * time.Second
	}
	return nil
}

// Run reconciles until ctx ends, then waits for work in progress and
// releases this replica's leases so another can take over at once.
func (l *Loop) Run(ctx context.Context) error {
	if err := l.defaults(); err != nil {
		return err
	}
	log := l.Log.With("component", "reconciler", "owner", l.Owner)
	sem := make(chan struct{}, l.Concurrency)
	var wg sync.WaitGroup
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		l.pass(ctx, log, sem, &wg)
		select {
		case <-ctx.Done():
			wg.Wait()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := instances.Release(rctx, l.DB, l.Owner); err != nil {
				log.Warn("release leases", "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

func (l *Loop) pass(ctx context.Context, log *slog.Logger, sem chan struct{}, wg *sync.WaitGroup) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	claimed, err := instances.Claim(cctx, l.DB, l.Owner, l.LeaseTTL, l.Limit)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("claim instances", "err", err)
		}
		return
	}
	for _, inst := range claimed {
		l.mu.Lock()
		busy := l.inflight[inst.ID]
		l.inflight[inst.ID] = true
		l.mu.Unlock()
		if busy {
			continue // the lease was renewed; the work goes on
		}
		wg.Go(func() {
			defer func() {
				l.mu.Lock()
				delete(l.inflight, inst.ID)
				l.mu.Unlock()
			}()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, l.LeaseTTL)
			defer cancel()
			l.reconcile(rctx, log.With("instance_id", inst.ID), inst)
		})
	}
}

// reconcile brings one claimed instance a step closer to its desired state.
func (l *Loop) reconcile(ctx context.Context, log *slog.Logger, inst instances.Instance) {
	obs, err := l.Provisioner.Observe(ctx, inst.ID)
	var d Decision
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Warn("observe instance", "err", err)
		d = Decision{Status: instances.StatusFailed, Reason: "observe: " + err.Error(), Failing: true,
			ObservedGeneration: inst.ObservedGeneration, Endpoint: inst.Endpoint, AdminAddr: inst.AdminAddr}
	} else {
		d = Plan(inst, obs)
	}

	acted := false
	if len(d.Actions) > 0 && l.due(inst.ID) {
		acted = true
		for _, a := range d.Actions {
			if err := l.act(ctx, inst, a); err != nil {
				if ctx.Err() != nil {
					return // shutting down: the next replica (or start) carries on
				}
				log.Warn("reconcile action failed", "op", string(a), "err", err)
				d.Status, d.Reason, d.Failing = instances.StatusFailed, fmt.Sprintf("%s: %v", a, err), true
				break
			}
			if a == ActionPurge {
				l.forget(inst.ID)
				l.mu.Lock()
				delete(l.driftNext, inst.ID)
				l.mu.Unlock()
				log.Info("instance deleted")
				return
			}
		}
	}
	switch {
	case d.Failing && (acted || err != nil):
		l.failed(inst.ID)
	case d.Status == instances.StatusRunning || d.Status == instances.StatusStopped:
		l.forget(inst.ID)
	}

	if d.Status == instances.StatusRunning && !acted && l.Resources != nil && l.driftDue(inst.ID) {
		running := inst
		running.AdminAddr = d.AdminAddr
		l.repairDrift(ctx, log, running)
	}

	if d.Status != inst.Status {
		log.Info("instance status", "from", string(inst.Status), "to", string(d.Status), "reason", d.Reason)
	}
	err = instances.Report(ctx, l.DB, inst.ID, l.Owner, instances.StatusReport{
		Desired: inst.Desired, Generation: inst.Generation,
		Status: d.Status, StatusReason: d.Reason, ObservedGeneration: d.ObservedGeneration,
		Endpoint: d.Endpoint, AdminAddr: d.AdminAddr,
	})
	switch {
	case errors.Is(err, instances.ErrLeaseLost):
		log.Debug("status not written: lease lost or instance changed")
	case err != nil && ctx.Err() == nil:
		log.Warn("report instance status", "err", err)
	}
}

func (l *Loop) act(ctx context.Context, inst instances.Instance, a Action) error {
	switch a {
	case ActionApply:
		spec := provision.NodeSpec{
			InstanceID: inst.ID, AdminToken: inst.AdminToken, RetentionHours: inst.RetentionHours,
			Flush: inst.FlushMode, Generation: inst.Generation,
		}
		if l.Specs != nil {
			sp, err := l.Specs(ctx, inst.SpecCode)
			if err != nil {
				return fmt.Errorf("spec %s: %w", inst.SpecCode, err)
			}
			spec.MaxTPS, spec.MaxTopics, spec.MaxGroups, spec.StorageGB = sp.MaxTPS, sp.MaxTopics, sp.MaxGroups, sp.StorageGB
		}
		_, err := l.Provisioner.Apply(ctx, spec)
		return err
	case ActionStop:
		return l.Provisioner.Stop(ctx, inst.ID)
	case ActionDelete:
		return l.Provisioner.Delete(ctx, inst.ID)
	case ActionPurge:
		return instances.Purge(ctx, l.DB, inst.ID, l.Owner)
	}
	return fmt.Errorf("unknown action %q", a)
}

// due reports whether a failing instance may be retried now.
func (l *Loop) due(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.retries[id]
	return r == nil || !time.Now().Before(r.next)
}

// failed records a failure and schedules the next attempt.
func (l *Loop) failed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.retries[id]
	if r == nil {
		r = &retry{}
		l.retries[id] = r
	}
	r.failures++
	wait := l.BackoffMax
	if r.failures < 32 {
		wait = min(l.BackoffMin<<(r.failures-1), l.BackoffMax)
	}
	r.next = time.Now().Add(wait)
}

func (l *Loop) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.retries, id)
}
