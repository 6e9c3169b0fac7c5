// Package resources keeps the topics and consumer groups of instances: the
// desired definitions in the control plane's database (tables of
// migrations/*/00007_topics_groups.sql) and their copies on the instance's
// node, pushed through the node's admin service.
//
// Consistency: a create writes the row, then pushes it to the node; if the
// push fails the row is removed again and the caller sees the error (503), so
// a definition the user was told about exists on the node. A node that later
// loses one (restored from an old disk, say) gets it back from the
// reconciler's drift repair, which recreates every row the node lacks. A
// delete removes the definition from the node first, then the row.
//
// May import: controlplane/instances, iam, iam/acl, dataplane/admin/adminclient,
// dataplane/admin/adminpb, dataplane/broker (name rules only).
package resources

import "time"

// Message types of a topic.
const (
	TypeNormal      = "NORMAL"
	TypeFIFO        = "FIFO"
	TypeDelay       = "DELAY"
	TypeTransaction = "TRANSACTION"
)

// Delivery order types of a group.
const (
	OrderConcurrently = "Concurrently"
	OrderOrderly      = "Orderly"
)

// Retry policies of a group.
const (
	RetryDefault = "DefaultRetryPolicy"
	RetryFixed   = "FixedRetryPolicy"
)

// Topic is the desired definition of a topic of an instance.
type Topic struct {
	InstanceID  string
	Name        string
	MessageType string
	QueueCount  int
	MaxSendTPS  int // 0: the instance's limit only
	Remark      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Group is the desired definition of a consumer group of an instance.
type Group struct {
	InstanceID             string
	GroupID                string
	DeliveryOrderType      string
	MaxRetryTimes          int
	RetryPolicy            string
	FixedIntervalRetryTime int // seconds; FixedRetryPolicy only
	MaxReceiveTPS          int
	Remark                 string
	CreatedAt              time.Time
	UpdatedAt              time.Time
}
