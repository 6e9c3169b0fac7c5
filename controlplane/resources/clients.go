package resources

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/acl"
)

// readGroupNode checks that p may read the instance and that the group
// exists, then runs read against the instance's node, which must be
// RUNNING.
func (s *Service) readGroupNode(ctx context.Context, p iam.Principal, instanceID, groupID string, read func(Node) error) error {
	inst, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false)
	if err != nil {
		return err
	}
	if _, err := s.store.GetGroup(ctx, instanceID, groupID); err != nil {
		return err
	}
	if inst.Status != instances.StatusRunning {
		return ErrNotRunning
	}
	return s.withNode(inst, read)
}

// GroupConnections lists a page of the online clients of a group: its
// consumers connected to the instance's node. pageToken is the node's,
// passed through.
func (s *Service) GroupConnections(ctx context.Context, p iam.Principal, instanceID, groupID string, pageSize int, pageToken string) (*adminpb.ListClientsResponse, error) {
	var out *adminpb.ListClientsResponse
	err := s.readGroupNode(ctx, p, instanceID, groupID, func(n Node) error {
		resp, err := n.ListClients(ctx, &adminpb.ListClientsRequest{Group: groupID, PageSize: int32(pageSize), PageToken: pageToken})
		if status.Code(err) == codes.InvalidArgument && pageToken != "" {
			return invalid("pageToken", "is not a token this API handed out")
		}
		if err != nil {
			return fmt.Errorf("%w: clients of %s: %w", ErrNode, groupID, err)
		}
		out = resp
		return nil
	})
	return out, err
}

// GroupSubscriptions reports what the group's online consumers subscribe
// to, per topic, and whether they agree.
func (s *Service) GroupSubscriptions(ctx context.Context, p iam.Principal, instanceID, groupID string) (*adminpb.GetGroupSubscriptionsResponse, error) {
	var out *adminpb.GetGroupSubscriptionsResponse
	err := s.readGroupNode(ctx, p, instanceID, groupID, func(n Node) error {
		resp, err := n.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: groupID})
		if status.Code(err) == codes.NotFound {
			// The node does not know the group yet (drift repair pending):
			// nobody can be subscribed.
			resp, err = &adminpb.GetGroupSubscriptionsResponse{Consistent: true}, nil
		}
		if err != nil {
			return fmt.Errorf("%w: subscriptions of %s: %w", ErrNode, groupID, err)
		}
		out = resp
		return nil
	})
	return out, err
}
