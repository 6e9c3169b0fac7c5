// Package instances keeps the desired state of RocketMQ instances (what a
// user asked for: spec, retention, flush mode, running or stopped) and the
// status the reconciler last observed, in the control plane's database. It
// also holds the spec catalogue. The REST layer calls Service; the
// reconciler claims instances with leases (lease.go) and reports status.
package instances

import "time"

// Status is an instance's lifecycle state as users see it.
type Status string

const (
	StatusCreating Status = "CREATING"
	StatusRunning  Status = "RUNNING"
	StatusUpdating Status = "UPDATING"
	StatusStopping Status = "STOPPING"
	StatusStopped  Status = "STOPPED"
	StatusStarting Status = "STARTING"
	StatusDeleting Status = "DELETING"
	StatusFailed   Status = "FAILED"
)

// Desired is what the user asked an instance to be.
type Desired string

const (
	DesiredRunning Desired = "RUNNING"
	DesiredStopped Desired = "STOPPED"
	DesiredDeleted Desired = "DELETED" // removed from the database once its resources are gone
)

// Flush modes of an instance's node.
const (
	FlushSync  = "sync"
	FlushAsync = "async"
)

// Spec is one entry of the catalogue (table specs, seeded by a migration).
// Prices are in micro-USD so billing sums integers.
type Spec struct {
	Code      string // e.g. "rmq.s2.2xlarge"
	Edition   string // "standard" or "professional"
	MaxTPS    int    // send + receive messages per second
	MaxTopics int
	MaxGroups int
	StorageGB int // storage included

	PricePerHourMicros            int64 // the instance, per hour
	PricePerMillionRequestsMicros int64 // beyond the spec's included requests (billing)
	PricePerGBHourMicros          int64 // storage beyond StorageGB (billing)

	SortOrder int
}

// Instance is one RocketMQ instance of an account.
type Instance struct {
	ID             string
	AccountID      string
	Name           string
	SpecCode       string
	Remark         string
	RetentionHours int
	FlushMode      string

	Desired    Desired
	Generation int64 // bumped by every change the node must apply

	Status             Status
	StatusReason       string // why FAILED (or what a transitional state waits for)
	ObservedGeneration int64  // the Generation the node runs
	Endpoint           string // host:port for RocketMQ clients; empty until running once
	AdminAddr          string // the node's admin service
	AdminToken         string // secret: never logged, never returned by the API

	LeaseOwner string    // the `orbit serve` replica reconciling it now
	LeaseUntil time.Time // its lease ends then

	CreatedAt time.Time
	UpdatedAt time.Time
}
