package admin

import (
	"context"
	"time"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

func (v *service) CreateGroup(ctx context.Context, req *adminpb.CreateGroupRequest) (*adminpb.Group, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	g := broker.Group{Name: req.GetName(), Orderly: req.GetOrderly(), MaxRetries: broker.DefaultMaxRetries}
	var err error
	if g.MaxReceiveTPS, err = toReceiveTPS(req.GetMaxReceiveTps()); err != nil {
		return nil, err
	}
	if g.RetryInterval, err = toRetryInterval(req.GetRetryIntervalSeconds()); err != nil {
		return nil, err
	}
	if req.MaxRetries != nil {
		n, err := toBrokerRetries(req.GetMaxRetries())
		if err != nil {
			return nil, err
		}
		g.MaxRetries = n
	}
	g, err = v.s.broker.CreateGroup(ctx, g)
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
	if req.Orderly == nil && req.MaxRetries == nil && req.MaxReceiveTps == nil && req.RetryIntervalSeconds == nil {
		return nil, invalid("nothing to update: set orderly, max_retries, max_receive_tps or retry_interval_seconds")
	}
	// Check every field before reading the group, so a bad request is
	// answered the same whether or not the group exists.
	var (
		retries, receiveTPS int32
		interval            time.Duration
		err                 error
	)
	if req.MaxRetries != nil {
		if retries, err = toBrokerRetries(req.GetMaxRetries()); err != nil {
			return nil, err
		}
	}
	if receiveTPS, err = toReceiveTPS(req.GetMaxReceiveTps()); err != nil {
		return nil, err
	}
	if interval, err = toRetryInterval(req.GetRetryIntervalSeconds()); err != nil {
		return nil, err
	}
	g, err := v.s.broker.GetGroup(req.GetName())
	if err != nil {
		return nil, v.s.toStatus(ctx, "UpdateGroup", about, err)
	}
	if req.MaxReceiveTps != nil {
		g.MaxReceiveTPS = receiveTPS
	}
	if req.RetryIntervalSeconds != nil {
		g.RetryInterval = interval
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
