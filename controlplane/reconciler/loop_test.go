package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/reconciler"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// fakeProvisioner runs nothing: Apply makes an instance STARTING, the next
// Observe RUNNING. It fails the test if two calls for one instance overlap.
type fakeProvisioner struct {
	t         *testing.T
	mu        sync.Mutex
	obs       map[string]provision.Observed
	busy      map[string]bool
	applyErr  error
	applies   int
	lastToken string
}

func newFake(t *testing.T) *fakeProvisioner {
	return &fakeProvisioner{t: t, obs: map[string]provision.Observed{}, busy: map[string]bool{}}
}

func (f *fakeProvisioner) enter(id string) func() {
	f.mu.Lock()
	if f.busy[id] {
		f.t.Errorf("concurrent provisioner calls for %s", id)
	}
	f.busy[id] = true
	f.mu.Unlock()
	time.Sleep(time.Millisecond) // widen the window for overlaps
	return func() { f.mu.Lock(); f.busy[id] = false; f.mu.Unlock() }
}

func (f *fakeProvisioner) Apply(_ context.Context, s provision.NodeSpec) (provision.Observed, error) {
	defer f.enter(s.InstanceID)()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	f.lastToken = s.AdminToken
	if f.applyErr != nil {
		return provision.Observed{}, f.applyErr
	}
	o := provision.Observed{Phase: provision.PhaseStarting, Generation: s.Generation, Endpoint: "127.0.0.1:1001", AdminAddr: "127.0.0.1:1002"}
	f.obs[s.InstanceID] = o
	return o, nil
}

func (f *fakeProvisioner) Stop(_ context.Context, id string) error {
	defer f.enter(id)()
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.obs[id]; ok {
		o.Phase = provision.PhaseStopped
		f.obs[id] = o
	}
	return nil
}

func (f *fakeProvisioner) Delete(_ context.Context, id string) error {
	defer f.enter(id)()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.obs, id)
	return nil
}

func (f *fakeProvisioner) Observe(_ context.Context, id string) (provision.Observed, error) {
	defer f.enter(id)()
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.obs[id]
	if !ok {
		return provision.Observed{Phase: provision.PhaseAbsent}, nil
	}
	if o.Phase == provision.PhaseStarting {
		f.obs[id] = provision.Observed{Phase: provision.PhaseRunning, Generation: o.Generation, Endpoint: o.Endpoint, AdminAddr: o.AdminAddr}
	}
	return o, nil
}

func (f *fakeProvisioner) List(context.Context) (map[string]provision.Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]provision.Observed{}
	for k, v := range f.obs {
		out[k] = v
	}
	return out, nil
}

func (f *fakeProvisioner) phase(id string) provision.Phase {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.obs[id]; ok {
		return o.Phase
	}
	return provision.PhaseAbsent
}

func insertInstances(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	now := time.Now().UTC()
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES ('acc', 'A', ?)", now).Error)
	for i := range n {
		require.NoError(t, db.Exec(`INSERT INTO instances (id, account_id, name, spec_code, retention_hours, flush_mode,
			desired, generation, status, admin_token, created_at, updated_at)
			VALUES (?, 'acc', 'x', 'rmq.s2.2xlarge', 72, 'async', 'RUNNING', 1, 'CREATING', 'secret-token', ?, ?)`,
			fmt.Sprintf("i%d", i), now, now).Error)
	}
}

type row struct {
	Status             string
	StatusReason       string
	ObservedGeneration int64
	Endpoint           string
	LeaseOwner         string
}

func readRow(t *testing.T, db *gorm.DB, id string) (row, bool) {
	var rs []row
	require.NoError(t, db.Raw("SELECT status, status_reason, observed_generation, endpoint, lease_owner FROM instances WHERE id = ?", id).Scan(&rs).Error)
	if len(rs) == 0 {
		return row{}, false
	}
	return rs[0], true
}

func waitStatus(t *testing.T, db *gorm.DB, id, status string) row {
	t.Helper()
	var r row
	require.Eventually(t, func() bool {
		r, _ = readRow(t, db, id)
		return r.Status == status
	}, 20*time.Second, 10*time.Millisecond, "want %s, have %+v", status, r)
	return r
}

func startLoop(t *testing.T, db *gorm.DB, p provision.Provisioner, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &reconciler.Loop{DB: db, Provisioner: p, Owner: owner, Interval: 10 * time.Millisecond,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestLoopDrivesLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		insertInstances(t, db, 1)
		f := newFake(t)
		stop := startLoop(t, db, f, "r1")

		r := waitStatus(t, db, "i0", "RUNNING")
		require.Equal(t, "127.0.0.1:1001", r.Endpoint)
		require.EqualValues(t, 1, r.ObservedGeneration)
		f.mu.Lock()
		require.Equal(t, "secret-token", f.lastToken)
		f.mu.Unlock()

		require.NoError(t, db.Exec("UPDATE instances SET desired = 'STOPPED', status = 'STOPPING' WHERE id = 'i0'").Error)
		waitStatus(t, db, "i0", "STOPPED")
		require.Equal(t, provision.PhaseStopped, f.phase("i0"))

		require.NoError(t, db.Exec("UPDATE instances SET desired = 'RUNNING', status = 'STARTING' WHERE id = 'i0'").Error)
		waitStatus(t, db, "i0", "RUNNING")

		require.NoError(t, db.Exec("UPDATE instances SET generation = 2, status = 'UPDATING' WHERE id = 'i0'").Error)
		require.Eventually(t, func() bool {
			r, _ := readRow(t, db, "i0")
			return r.Status == "RUNNING" && r.ObservedGeneration == 2
		}, 20*time.Second, 10*time.Millisecond)

		// Shutting down releases the lease.
		stop()
		r, _ = readRow(t, db, "i0")
		require.Empty(t, r.LeaseOwner)

		startLoop(t, db, f, "r2")
		require.NoError(t, db.Exec("UPDATE instances SET desired = 'DELETED', status = 'DELETING' WHERE id = 'i0'").Error)
		require.Eventually(t, func() bool {
			_, ok := readRow(t, db, "i0")
			return !ok
		}, 20*time.Second, 10*time.Millisecond, "the row is purged")
		require.Equal(t, provision.PhaseAbsent, f.phase("i0"))
	})
}

func TestLoopRetriesFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		insertInstances(t, db, 1)
		f := newFake(t)
		f.applyErr = errors.New("no room")
		startLoop(t, db, f, "r1")
		r := waitStatus(t, db, "i0", "FAILED")
		require.Equal(t, "apply: no room", r.StatusReason)
		f.mu.Lock()
		f.applyErr = nil
		f.mu.Unlock()
		waitStatus(t, db, "i0", "RUNNING")
	})
}

func TestLoopReplicasNeverOverlap(t *testing.T) {
	db := dbtest.Postgres(t)
	insertInstances(t, db, 12)
	f := newFake(t)
	for r := range 3 {
		startLoop(t, db, f, fmt.Sprintf("r%d", r))
	}
	for i := range 12 {
		waitStatus(t, db, fmt.Sprintf("i%d", i), "RUNNING")
	}
}
