package admin

import (
	"context"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

func (v *service) CreateGroup(ctx context.Context, req *adminpb.CreateGroupRequest) (*adminpb.Group, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	g := broker.Group{Name: req.GetName(), Orderly: req.GetOrderly(), MaxRetries: broker.DefaultMaxRetries}
	if req.MaxRetries != nil {
		n, err := toBrokerRetries(req.GetMaxRetries())
		if err != nil {
			return nil, err
		}
		g.MaxRetries = n
	}
	g, err := v.s.broker.CreateGroup(ctx, g)
	if err != nil {
		return nil, v.s.toStatus(ctx, "CreateGroup", subject{group: req.GetName()}, err)
	}
	return toGroup(g), nil
}

func (v *service) UpdateGroup(ctx context.Context, req *adminpb.UpdateGroupRequest) (*adminpb.Group, error) {
	about := subject{group: req.GetName()}
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	if req.Orderly == nil && req.MaxRetries == nil {
		return nil, invalid("nothing to update: set orderly or max_retries")
	}
	var retries int32
	if req.MaxRetries != nil {
		var err error
		if retries, err = toBrokerRetries(req.GetMaxRetries()); err != nil {
			return nil, err
		}
	}
	g, err := v.s.broker.GetGroup(req.GetName())
	if err != nil {
		return nil, v.s.toStatus(ctx, "UpdateGroup", about, err)
	}
	if req.Orderly != nil {
		g.Orderly = req.GetOrderly()
	}
	if req.MaxRetries != nil {
		g.MaxRetries = retries
	}
	if g, err = v.s.broker.UpdateGroup(ctx, g); err != nil {
		return nil, v.s.toStatus(ctx, "UpdateGroup", about, err)
	}
	return toGroup(g), nil
}

func (v *service) DeleteGroup(ctx context.Context, req *adminpb.DeleteGroupRequest) (*adminpb.DeleteGroupResponse, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	if err := v.s.broker.DeleteGroup(ctx, req.GetName()); err != nil {
		return nil, v.s.toStatus(ctx, "DeleteGroup", subject{group: req.GetName()}, err)
	}
	return &adminpb.DeleteGroupResponse{}, nil
}

func (v *service) GetGroup(ctx context.Context, req *adminpb.GetGroupRequest) (*adminpb.Group, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	g, err := v.s.broker.GetGroup(req.GetName())
	if err != nil {
		return nil, v.s.toStatus(ctx, "GetGroup", subject{group: req.GetName()}, err)
	}
	return toGroup(g), nil
}

func (v *service) ListGroups(ctx context.Context, req *adminpb.ListGroupsRequest) (*adminpb.ListGroupsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken("groups", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	groups := v.s.broker.ListGroups(after, size+1)
	resp := &adminpb.ListGroupsResponse{}
	if len(groups) > size {
		groups = groups[:size]
		resp.NextPageToken = encodePageToken("groups", groups[size-1].Name)
	}
	resp.Groups = make([]*adminpb.Group, len(groups))
	for i, g := range groups {
		resp.Groups[i] = toGroup(g)
	}
	return resp, nil
}
