// Package reconciler drives instances toward their desired state. Plan is a
// pure function from what the database wants (instances.Instance) and what
// the provisioner sees (provision.Observed) to the actions to take and the
// status to report; Loop does the I/O around it: claims instances with
// leases (safe with several `orbit serve` replicas), observes, plans,
// applies actions, reports status and retries failures with backoff. Drift
// repair (drift.go) gives a running node back the topics and groups it lacks.
//
// May import: controlplane/instances, controlplane/provision,
// controlplane/resources, dataplane/admin/adminpb.
package reconciler

import (
	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/provision"
)

// Action is one provisioner (or database) step of a Decision.
type Action string

const (
	ActionApply  Action = "apply"  // Provisioner.Apply with the instance's NodeSpec
	ActionStop   Action = "stop"   // Provisioner.Stop
	ActionDelete Action = "delete" // Provisioner.Delete
	ActionPurge  Action = "purge"  // delete the instance's row (after its resources are gone)
)

// Decision is the result of Plan: the actions to take, in order (none when
// the instance has converged or the provisioner is still working), and the
// status to report.
type Decision struct {
	Actions []Action
	Status  instances.Status
	Reason  string
	// ObservedGeneration, Endpoint and AdminAddr to report.
	ObservedGeneration int64
	Endpoint           string
	AdminAddr          string
	// Failing marks a decision that retries a failure: the Loop runs its
	// actions with exponential backoff per instance.
	Failing bool
}

// Plan decides what to do for inst given what its provisioner observes. It
// does no I/O.
func Plan(inst instances.Instance, obs provision.Observed) Decision {
	d := Decision{ObservedGeneration: inst.ObservedGeneration, Endpoint: inst.Endpoint, AdminAddr: inst.AdminAddr}
	if obs.Endpoint != "" {
		d.Endpoint, d.AdminAddr = obs.Endpoint, obs.AdminAddr
	}
	switch inst.Desired {
	case instances.DesiredDeleted:
		d.Status = instances.StatusDeleting
		if obs.Phase == provision.PhaseAbsent {
			d.Actions = []Action{ActionPurge}
		} else {
			// Delete's contract: it returns once everything is gone.
			d.Actions = []Action{ActionDelete, ActionPurge}
		}

	case instances.DesiredStopped:
		switch obs.Phase {
		case provision.PhaseAbsent, provision.PhaseStopped:
			d.Status = instances.StatusStopped
		default: // starting, running or failed: stop it
			d.Status, d.Actions = instances.StatusStopping, []Action{ActionStop}
		}

	case instances.DesiredRunning:
		switch obs.Phase {
		case provision.PhaseAbsent:
			d.Actions = []Action{ActionApply}
			d.Status = instances.StatusStarting
			if neverRan(inst) {
				d.Status = instances.StatusCreating
			}
		case provision.PhaseStopped:
			d.Status, d.Actions = instances.StatusStarting, []Action{ActionApply}
		case provision.PhaseStarting:
			if obs.Generation < inst.Generation {
				d.Status, d.Actions = instances.StatusUpdating, []Action{ActionApply}
				break
			}
			// The provisioner is at work (a first start, or a restart after
			// the node died): keep a transitional status, else STARTING.
			switch inst.Status {
			case instances.StatusCreating, instances.StatusStarting, instances.StatusUpdating:
				d.Status = inst.Status
			default:
				d.Status = instances.StatusStarting
			}
			d.Reason = obs.Reason
		case provision.PhaseRunning:
			if obs.Generation < inst.Generation {
				d.Status, d.Actions = instances.StatusUpdating, []Action{ActionApply}
				break
			}
			d.Status, d.ObservedGeneration = instances.StatusRunning, obs.Generation
		case provision.PhaseFailed:
			d.Status, d.Reason, d.Failing = instances.StatusFailed, obs.Reason, true
			d.Actions = []Action{ActionApply}
		default:
			d.Status, d.Reason = inst.Status, "unknown provisioner phase "+string(obs.Phase)
		}

	default:
		d.Status, d.Reason = instances.StatusFailed, "unknown desired state "+string(inst.Desired)
	}
	return d
}

// neverRan: no node of inst was ever seen running.
func neverRan(inst instances.Instance) bool {
	return inst.Endpoint == "" && inst.ObservedGeneration == 0
}
