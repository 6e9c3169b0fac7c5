package reconciler_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/reconciler"
)

func TestPlan(t *testing.T) {
	const (
		apply  = reconciler.ActionApply
		stop   = reconciler.ActionStop
		del    = reconciler.ActionDelete
		purge  = reconciler.ActionPurge
		absent = provision.PhaseAbsent
		start  = provision.PhaseStarting
		run    = provision.PhaseRunning
		stoppd = provision.PhaseStopped
		failed = provision.PhaseFailed
	)
	fresh := instances.Instance{ID: "i", Desired: instances.DesiredRunning, Generation: 1, Status: instances.StatusCreating}
	ran := instances.Instance{ID: "i", Desired: instances.DesiredRunning, Generation: 1, Status: instances.StatusRunning,
		ObservedGeneration: 1, Endpoint: "127.0.0.1:1", AdminAddr: "127.0.0.1:2"}
	with := func(in instances.Instance, f func(*instances.Instance)) instances.Instance { f(&in); return in }
	desire := func(in instances.Instance, d instances.Desired, s instances.Status) instances.Instance {
		return with(in, func(i *instances.Instance) { i.Desired, i.Status = d, s })
	}
	obs := func(p provision.Phase, gen int64) provision.Observed {
		o := provision.Observed{Phase: p, Generation: gen}
		if p == run || p == start {
			o.Endpoint, o.AdminAddr = "127.0.0.1:7", "127.0.0.1:8"
		}
		if p == failed {
			o.Reason = "crash loop"
		}
		if p == start {
			o.Reason = "waiting"
		}
		return o
	}

	tests := []struct {
		name    string
		inst    instances.Instance
		obs     provision.Observed
		actions []reconciler.Action
		status  instances.Status
		reason  string
		failing bool
	}{
		// Desired RUNNING.
		{"new instance is created", fresh, obs(absent, 0), []reconciler.Action{apply}, instances.StatusCreating, "", false},
		{"creating waits while starting", fresh, obs(start, 1), nil, instances.StatusCreating, "waiting", false},
		{"created instance runs", fresh, obs(run, 1), nil, instances.StatusRunning, "", false},
		{"running stays running", ran, obs(run, 1), nil, instances.StatusRunning, "", false},
		{"a node that vanished is started again", ran, obs(absent, 0), []reconciler.Action{apply}, instances.StatusStarting, "", false},
		{"a stopped node is started", desire(ran, instances.DesiredRunning, instances.StatusStarting), obs(stoppd, 1), []reconciler.Action{apply}, instances.StatusStarting, "", false},
		{"a restarting node shows STARTING", ran, obs(start, 1), nil, instances.StatusStarting, "waiting", false},
		{"starting keeps STARTING", desire(ran, instances.DesiredRunning, instances.StatusStarting), obs(start, 1), nil, instances.StatusStarting, "waiting", false},
		{"a newer generation is applied", with(ran, func(i *instances.Instance) { i.Generation = 2 }), obs(run, 1), []reconciler.Action{apply}, instances.StatusUpdating, "", false},
		{"a newer generation while starting is applied", with(ran, func(i *instances.Instance) { i.Generation = 2 }), obs(start, 1), []reconciler.Action{apply}, instances.StatusUpdating, "", false},
		{"updating waits for the new node", with(ran, func(i *instances.Instance) { i.Generation, i.Status = 2, instances.StatusUpdating }), obs(start, 2), nil, instances.StatusUpdating, "waiting", false},
		{"updated node runs", with(ran, func(i *instances.Instance) { i.Generation, i.Status = 2, instances.StatusUpdating }), obs(run, 2), nil, instances.StatusRunning, "", false},
		{"a failed node is retried", ran, obs(failed, 1), []reconciler.Action{apply}, instances.StatusFailed, "crash loop", true},
		{"a failed new instance is retried", fresh, obs(failed, 1), []reconciler.Action{apply}, instances.StatusFailed, "crash loop", true},

		// Desired STOPPED.
		{"stop a running node", desire(ran, instances.DesiredStopped, instances.StatusStopping), obs(run, 1), []reconciler.Action{stop}, instances.StatusStopping, "", false},
		{"stop a starting node", desire(ran, instances.DesiredStopped, instances.StatusStopping), obs(start, 1), []reconciler.Action{stop}, instances.StatusStopping, "", false},
		{"stop a failed node", desire(ran, instances.DesiredStopped, instances.StatusStopping), obs(failed, 1), []reconciler.Action{stop}, instances.StatusStopping, "", false},
		{"stopped is stopped", desire(ran, instances.DesiredStopped, instances.StatusStopping), obs(stoppd, 1), nil, instances.StatusStopped, "", false},
		{"stopped and absent is stopped", desire(ran, instances.DesiredStopped, instances.StatusStopped), obs(absent, 0), nil, instances.StatusStopped, "", false},

		// Desired DELETED.
		{"delete a running node, then the row", desire(ran, instances.DesiredDeleted, instances.StatusDeleting), obs(run, 1), []reconciler.Action{del, purge}, instances.StatusDeleting, "", false},
		{"delete a starting node", desire(ran, instances.DesiredDeleted, instances.StatusDeleting), obs(start, 1), []reconciler.Action{del, purge}, instances.StatusDeleting, "", false},
		{"delete a stopped node", desire(ran, instances.DesiredDeleted, instances.StatusDeleting), obs(stoppd, 1), []reconciler.Action{del, purge}, instances.StatusDeleting, "", false},
		{"delete a failed node", desire(ran, instances.DesiredDeleted, instances.StatusDeleting), obs(failed, 1), []reconciler.Action{del, purge}, instances.StatusDeleting, "", false},
		{"nothing left: purge the row", desire(ran, instances.DesiredDeleted, instances.StatusDeleting), obs(absent, 0), []reconciler.Action{purge}, instances.StatusDeleting, "", false},

		// Nonsense.
		{"unknown desired state", desire(ran, "LATER", instances.StatusRunning), obs(run, 1), nil, instances.StatusFailed, "unknown desired state LATER", false},
		{"unknown phase keeps the status", ran, obs("SIDEWAYS", 1), nil, instances.StatusRunning, "unknown provisioner phase SIDEWAYS", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := reconciler.Plan(tc.inst, tc.obs)
			require.Equal(t, tc.actions, d.Actions)
			require.Equal(t, tc.status, d.Status)
			require.Equal(t, tc.reason, d.Reason)
			require.Equal(t, tc.failing, d.Failing)
			if tc.obs.Endpoint != "" {
				require.Equal(t, tc.obs.Endpoint, d.Endpoint)
				require.Equal(t, tc.obs.AdminAddr, d.AdminAddr)
			} else {
				require.Equal(t, tc.inst.Endpoint, d.Endpoint, "a known endpoint is kept")
			}
			if d.Status == instances.StatusRunning {
				require.Equal(t, tc.obs.Generation, d.ObservedGeneration)
			} else {
				require.Equal(t, tc.inst.ObservedGeneration, d.ObservedGeneration)
			}
		})
	}
}

// TestPlanInvariants checks every desired state × phase × generation
// combination: a deleted instance is never applied, a stopped one never
// started, a converged one gets no actions, and a row is purged only
// together with or after the removal of its resources.
func TestPlanInvariants(t *testing.T) {
	desires := []instances.Desired{instances.DesiredRunning, instances.DesiredStopped, instances.DesiredDeleted}
	phases := []provision.Phase{provision.PhaseAbsent, provision.PhaseStarting, provision.PhaseRunning, provision.PhaseStopped, provision.PhaseFailed}
	statuses := []instances.Status{instances.StatusCreating, instances.StatusRunning, instances.StatusUpdating, instances.StatusStopping,
		instances.StatusStopped, instances.StatusStarting, instances.StatusDeleting, instances.StatusFailed}
	for _, want := range desires {
		for _, ph := range phases {
			for _, st := range statuses {
				for _, obsGen := range []int64{0, 1, 2} {
					inst := instances.Instance{ID: "i", Desired: want, Generation: 2, Status: st}
					d := reconciler.Plan(inst, provision.Observed{Phase: ph, Generation: obsGen})
					name := string(want) + "/" + string(ph) + "/" + string(st)
					require.NotEmpty(t, d.Status, name)
					for i, a := range d.Actions {
						switch want {
						case instances.DesiredDeleted:
							require.NotEqual(t, reconciler.ActionApply, a, name)
							require.NotEqual(t, reconciler.ActionStop, a, name)
							if a == reconciler.ActionPurge {
								require.True(t, ph == provision.PhaseAbsent || (i > 0 && d.Actions[i-1] == reconciler.ActionDelete), name)
							}
						case instances.DesiredStopped:
							require.Equal(t, reconciler.ActionStop, a, name)
						case instances.DesiredRunning:
							require.Equal(t, reconciler.ActionApply, a, name)
						}
					}
					if want == instances.DesiredRunning && ph == provision.PhaseRunning && obsGen >= 2 {
						require.Empty(t, d.Actions, name)
						require.Equal(t, instances.StatusRunning, d.Status, name)
					}
					if want == instances.DesiredStopped && (ph == provision.PhaseStopped || ph == provision.PhaseAbsent) {
						require.Empty(t, d.Actions, name)
					}
				}
			}
		}
	}
}
