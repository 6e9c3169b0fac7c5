package adminpb

import "github.com/orbitmq/orbit/dataplane/acl"

// This file is written by hand: the conversion of access keys both sides of
// the admin service share (the node's server, the control plane's client).

// AccessKeyOf is the wire form of k, with its secret when k carries one.
func AccessKeyOf(k acl.AccessKey) *AccessKey {
	out := &AccessKey{AccessKey: k.AccessKey, SecretKey: k.SecretKey, Enabled: k.Enabled, SourceCidrs: k.SourceCIDRs}
	for _, p := range k.Permissions {
		pp := &Permission{ResourceName: p.ResourceName}
		switch p.ResourceType {
		case acl.ResourceTopic:
			pp.ResourceType = ResourceType_RESOURCE_TYPE_TOPIC
		case acl.ResourceGroup:
			pp.ResourceType = ResourceType_RESOURCE_TYPE_GROUP
		}
		for _, a := range p.Actions {
			switch a {
			case acl.ActionPub:
				pp.Actions = append(pp.Actions, Action_ACTION_PUB)
			case acl.ActionSub:
				pp.Actions = append(pp.Actions, Action_ACTION_SUB)
			}
		}
		switch p.Decision {
		case acl.Allow:
			pp.Decision = Decision_DECISION_ALLOW
		case acl.Deny:
			pp.Decision = Decision_DECISION_DENY
		}
		out.Permissions = append(out.Permissions, pp)
	}
	return out
}
