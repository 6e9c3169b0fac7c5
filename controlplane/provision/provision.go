// Package provision defines what the reconciler needs from a place that runs
// instances: local child processes (provision/local, the embedded default) or
// Kubernetes StatefulSets (provision/kube). A provisioner is told the
// instance's desired node configuration and reports what it observes; it
// keeps no state of its own that the reconciler depends on, so it can adopt
// instances that were started before a restart of `orbit serve`.
package provision

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound: the provisioner runs nothing for this instance.
var ErrNotFound = errors.New("instance not provisioned")

// NodeSpec is the desired configuration of an instance's node.
type NodeSpec struct {
	InstanceID string // also the unique name of its processes/resources
	// AdminToken guards the node's admin service; the control plane keeps
	// it and uses it to manage topics, groups and keys (never logged).
	AdminToken     string
	RetentionHours int
	Flush          string // "sync" or "async"
	// Limits of the instance's spec, passed to the node.
	MaxTPS    int
	MaxTopics int
	MaxGroups int
	StorageGB int
	// Generation increases with every change of the desired spec; a
	// provisioner that sees a higher one than it runs applies the change
	// (restarting the node if it must).
	Generation int64
}

// Phase is what a provisioner sees of an instance.
type Phase string

const (
	PhaseAbsent   Phase = "ABSENT"   // nothing provisioned
	PhaseStarting Phase = "STARTING" // provisioned, not healthy yet
	PhaseRunning  Phase = "RUNNING"  // healthy and serving
	PhaseStopped  Phase = "STOPPED"  // provisioned (data kept), not running
	PhaseFailed   Phase = "FAILED"   // cannot run; Reason says why
)

// Observed is the state of one instance as its provisioner sees it.
type Observed struct {
	Phase      Phase
	Reason     string // for FAILED and STARTING: why
	Generation int64  // the NodeSpec.Generation it runs
	// Endpoint is where RocketMQ clients connect (host:port); AdminAddr the
	// node's admin service. Empty until known.
	Endpoint  string
	AdminAddr string
	Restarts  int       // how often the node was restarted after dying
	Since     time.Time // when Phase last changed
}

// Provisioner runs instances. Every method is idempotent and safe to call
// from several goroutines (for different instances); the reconciler never
// calls it concurrently for the same instance.
type Provisioner interface {
	// Apply makes the instance run with spec: creates it, starts it if
	// stopped, restarts it if dead, applies a newer Generation. It returns
	// without waiting for health; Observe reports progress.
	Apply(ctx context.Context, spec NodeSpec) (Observed, error)
	// Stop stops the instance and keeps its data.
	Stop(ctx context.Context, instanceID string) error
	// Delete stops the instance and removes everything of it, data included.
	// Deleting an absent instance succeeds.
	Delete(ctx context.Context, instanceID string) error
	// Observe reports the instance's state; PhaseAbsent if nothing runs.
	Observe(ctx context.Context, instanceID string) (Observed, error)
	// List reports every instance the provisioner runs (for adoption and
	// for finding orphans after a restart).
	List(ctx context.Context) (map[string]Observed, error)
}
