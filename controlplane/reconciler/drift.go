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

// Drift is what a running node lacks of its instance's topics and groups,
// and the ones it holds with other limits or policies than the database.
type Drift struct {
	Topics       []resources.Topic // to create
	Groups       []resources.Group // to create
	UpdateTopics []resources.Topic
	UpdateGroups []resources.Group
}

// Empty reports a node that has everything as wanted.
func (d Drift) Empty() bool {
	return len(d.Topics)+len(d.Groups)+len(d.UpdateTopics)+len(d.UpdateGroups) == 0
}

// PlanDrift compares the definitions in the database with the node's and
// returns the ones to create or update. Names the node has beyond the
// database (dead-letter topics, things made by hand) are left alone: repair
// never deletes. It does no I/O.
func PlanDrift(topics []resources.Topic, nodeTopics []*adminpb.Topic, groups []resources.Group, nodeGroups []*adminpb.Group) Drift {
	var d Drift
	haveT := make(map[string]*adminpb.Topic, len(nodeTopics))
	for _, t := range nodeTopics {
		haveT[t.GetName()] = t
	}
	for _, t := range topics {
		switch on, ok := haveT[t.Name]; {
		case !ok:
			d.Topics = append(d.Topics, t)
		case resources.TopicDiffers(t, on):
			d.UpdateTopics = append(d.UpdateTopics, t)
		}
	}
	haveG := make(map[string]*adminpb.Group, len(nodeGroups))
	for _, g := range nodeGroups {
		haveG[g.GetName()] = g
	}
	for _, g := range groups {
		switch on, ok := haveG[g.GroupID]; {
		case !ok:
			d.Groups = append(d.Groups, g)
		case resources.GroupDiffers(g, on):
			d.UpdateGroups = append(d.UpdateGroups, g)
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
// hand) and resets the limits and policies of those it holds otherwise
// (a change made with `orbit admin` by hand). Failures are logged and retried at the next check.
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
	nodeTopics, nodeGroups, err := nodeDefinitions(ctx, n)
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
	for _, t := range d.UpdateTopics {
		if err := resources.UpdateTopicOnNode(ctx, n, t); err != nil {
			log.Warn("drift: update topic", "topic", t.Name, "err", err)
			continue
		}
		log.Info("drift: reset a topic the node held with other limits", "topic", t.Name)
	}
	for _, g := range d.UpdateGroups {
		if err := resources.UpdateGroupOnNode(ctx, n, g); err != nil {
			log.Warn("drift: update group", "group", g.GroupID, "err", err)
			continue
		}
		log.Info("drift: reset a group the node held with another policy", "group", g.GroupID)
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

// nodeDefinitions pages through the node's topics and groups.
func nodeDefinitions(ctx context.Context, n resources.Node) (topics []*adminpb.Topic, groups []*adminpb.Group, err error) {
	tok := ""
	for {
		resp, err := n.ListTopics(ctx, &adminpb.ListTopicsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, nil, fmt.Errorf("list topics: %w", err)
		}
		topics = append(topics, resp.GetTopics()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	for {
		resp, err := n.ListGroups(ctx, &adminpb.ListGroupsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, nil, fmt.Errorf("list groups: %w", err)
		}
		groups = append(groups, resp.GetGroups()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	return topics, groups, nil
}
