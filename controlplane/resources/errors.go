package resources

import "errors"

// Sentinel errors; match with errors.Is. Bad input is an
// *iam.ValidationError naming the REST API's JSON field; an unknown or
// foreign instance is instances.ErrNotFound.
var (
	ErrTopicNotFound = errors.New("topic not found")
	ErrGroupNotFound = errors.New("consumer group not found")
	ErrTopicExists   = errors.New("topic already exists")
	ErrGroupExists   = errors.New("consumer group already exists")
	// ErrQuotaExceeded: the instance's spec allows no more topics or groups (422).
	ErrQuotaExceeded = errors.New("resource quota exceeded")
	// ErrNotRunning: the instance is not RUNNING, so its node cannot be changed or read (409).
	ErrNotRunning = errors.New("instance is not running")
	// ErrNode: the node's admin service failed; the error wraps the cause (503).
	ErrNode = errors.New("node admin call failed")
)
