package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// Drift is what a running node lacks of its instance's topics and groups.
type Drift struct {
	Topics []resources.Topic
	Groups []resources.Group
}

// Empty reports a node that has everything.
func (d Drift) Empty() bool { return len(d.Topics) == 0 && len(d.Groups) == 0 }

// PlanDrift compares the definitions in the database with the names the
// node has and returns the ones to create. Names the node has beyond the
// database (dead-letter topics, things made by hand) are left alone: repair
// only adds. It does no I/O.
func PlanDrift(topics []resources.Topic, nodeTopics []string, groups []resources.Group, nodeGroups []string) Drift {
	var d Drift
	haveT := make(map[string]bool, len(nodeTopics))
	for _, n := range nodeTopics {
		haveT[n] = true
	}
	for _, t := range topics {
		if !haveT[t.Name] {
			d.Topics = append(d.Topics, t)
		}
	}
	haveG := make(map[string]bool, len(nodeGroups))
	for _, n := range nodeGroups {
		haveG[n] = true
	}
	for _, g := range groups {
		if !haveG[g.GroupID] {
			d.Groups = append(d.Groups, g)
		}
	}
	return d
}

// driftDue reports whether inst's node should be checked for drift now, and
// if so notes the check.
func (l *Loop) driftDue(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if next, ok := l.driftNext[id]; ok && now.Before(next) {
		return false
	}
	l.driftNext[id] = now.Add(l.DriftInterval)
	return true
}

// repairDrift recreates on a running node the topics and groups of the
// database it lacks (a node restored from an old disk, a topic deleted by
// hand). Failures are logged and retried at the next check.
func (l *Loop) repairDrift(ctx context.Context, log *slog.Logger, inst instances.Instance) {
	if inst.AdminAddr == "" {
		return
	}
	topics, err := l.Resources.ListTopics(ctx, inst.ID, resources.TopicFilter{})
	if err != nil {
		log.Warn("drift: list topics", "err", err)
		return
	}
	groups, err := l.Resources.ListGroups(ctx, inst.ID, resources.GroupFilter{})
	if err != nil {
		log.Warn("drift: list groups", "err", err)
		return
	}
	if len(topics) == 0 && len(groups) == 0 && l.AccessKeys == nil {
		return
	}
	connect := l.Connect
	if connect == nil {
		connect = resources.Connect
	}
	n, err := connect(inst.AdminAddr, inst.AdminToken)
	if err != nil {
		log.Warn("drift: connect to node", "err", err)
		return
	}
	defer n.Close()
	l.repairKeys(ctx, log, n, inst.ID)
	if len(topics) == 0 && len(groups) == 0 {
		return
	}
	nodeTopics, nodeGroups, err := nodeNames(ctx, n)
	if err != nil {
		log.Warn("drift: list node", "err", err)
		return
	}
	d := PlanDrift(topics, nodeTopics, groups, nodeGroups)
	for _, t := range d.Topics {
		if err := resources.PushTopic(ctx, n, t); err != nil {
			log.Warn("drift: recreate topic", "topic", t.Name, "err", err)
			continue
		}
		log.Info("drift: recreated topic the node lacked", "topic", t.Name)
	}
	for _, g := range d.Groups {
		if err := resources.PushGroup(ctx, n, g); err != nil {
			log.Warn("drift: recreate group", "group", g.GroupID, "err", err)
			continue
		}
		log.Info("drift: recreated group the node lacked", "group", g.GroupID)
	}
}

// repairKeys puts on n the instance's access keys it lacks or holds with
// another enabled flag (resources.KeysToRepush). Keys only the node has are
// left alone, as with topics.
func (l *Loop) repairKeys(ctx context.Context, log *slog.Logger, n resources.Node, instanceID string) {
	if l.AccessKeys == nil {
		return
	}
	pushed, err := l.AccessKeys.RepairAccessKeys(ctx, n, instanceID)
	for _, ak := range pushed {
		log.Info("drift: put access key the node lacked or held with another enabled flag", "access_key", ak)
	}
	if err != nil {
		log.Warn("drift: access keys", "err", err)
	}
}

// nodeNames pages through the node's topics and groups.
func nodeNames(ctx context.Context, n resources.Node) (topics, groups []string, err error) {
	tok := ""
	for {
		resp, err := n.ListTopics(ctx, &adminpb.ListTopicsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, nil, fmt.Errorf("list topics: %w", err)
		}
		for _, t := range resp.GetTopics() {
			topics = append(topics, t.GetName())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	for {
		resp, err := n.ListGroups(ctx, &adminpb.ListGroupsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, nil, fmt.Errorf("list groups: %w", err)
		}
		for _, g := range resp.GetGroups() {
			groups = append(groups, g.GetName())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	return topics, groups, nil
}
