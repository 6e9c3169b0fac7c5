// Package clientproc runs the official RocketMQ Go client in a child
// process for tests: the test binary re-executed with a scenario name and
// JSON parameters in its environment. The client has data races of its own
// (the Settings the server pushes are applied without synchronization while
// its resync timer marshals them), so under -race an in-process client would
// fail any test; the child reports its races to a log file instead (GORACE
// exitcode=0) while the servers stay under the race detector in the parent.
//
// The parent starts a child with [Start] and waits for its events with
// [Proc.Expect]; the child, dispatched by [RunChild] from TestMain or init,
// reports them with [Emit] as stdout lines "clientproc:<event> <json>".
// Only tests import this package.
package clientproc

const (
	envScenario = "ORBIT_CLIENTPROC_SCENARIO"
	envParams   = "ORBIT_CLIENTPROC_PARAMS"
	eventPrefix = "clientproc:"
)
