package resources

import (
	"context"
	"log/slog"
	"time"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/acl"
)

// instanceAccess is what the services of this package share to reach an
// instance: its row, checked against the caller's role and account, its
// node, and a clock.
type instanceAccess struct {
	instances *instances.Store
	connect   Connector
	now       func() time.Time
	log       *slog.Logger
}

// newInstanceAccess fills the defaults: Connect, time.Now, a discarding log.
func newInstanceAccess(insts *instances.Store, connect Connector, now func() time.Time, log *slog.Logger) instanceAccess {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if connect == nil {
		connect = Connect
	}
	if now == nil {
		now = time.Now
	}
	return instanceAccess{instances: insts, connect: connect, now: now, log: log}
}

func (a instanceAccess) clock() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// authorized loads the caller's instance after checking the role; another
// account's instance is instances.ErrNotFound.
func (a instanceAccess) authorized(ctx context.Context, p iam.Principal, action acl.Action, id string) (instances.Instance, error) {
	if err := acl.Authorize(string(p.Role), action); err != nil {
		return instances.Instance{}, err
	}
	return a.instances.GetInstance(ctx, p.AccountID, id)
}

// withNode runs fn against the instance's node.
func (a instanceAccess) withNode(inst instances.Instance, fn func(Node) error) error {
	return withNode(a.connect, inst, fn)
}

// withNode connects to the instance's node for fn.
func withNode(connect Connector, inst instances.Instance, fn func(Node) error) error {
	n, err := open(connect, inst)
	if err != nil {
		return err
	}
	defer n.Close()
	return fn(n)
}

// running is ErrNotRunning unless the instance is RUNNING and meant to be.
func running(inst instances.Instance) error {
	if inst.Status != instances.StatusRunning || inst.Desired != instances.DesiredRunning {
		return ErrNotRunning
	}
	return nil
}
