package admin

import (
	"context"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

// DefaultQueueCount is the queue count of CreateTopic when the request has
// none (documented in admin.proto).
const DefaultQueueCount = 8

// service implements adminpb.AdminServer. It is unexported so the only way
// to serve it is Server.Register, which adds authentication.
type service struct {
	adminpb.UnimplementedAdminServer
	s *Server
}

func (v *service) CreateTopic(ctx context.Context, req *adminpb.CreateTopicRequest) (*adminpb.Topic, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	typ := req.GetType()
	if typ == adminpb.TopicType_TOPIC_TYPE_UNSPECIFIED {
		typ = adminpb.TopicType_TOPIC_TYPE_NORMAL
	}
	bt, err := fromTopicType(typ)
	if err != nil {
		return nil, err
	}
	queues := req.GetQueueCount()
	if queues == 0 {
		queues = DefaultQueueCount
	}
	if req.GetMaxSendTps() < 0 {
		return nil, invalid("max_send_tps %d must not be negative (0: no cap)", req.GetMaxSendTps())
	}
	t, err := v.s.broker.CreateTopic(ctx, broker.Topic{Name: req.GetName(), Type: bt, Queues: queues, MaxSendTPS: req.GetMaxSendTps()})
	if err != nil {
		return nil, v.s.toStatus(ctx, "CreateTopic", subject{topic: req.GetName()}, err)
	}
	return toTopic(t), nil
}

func (v *service) UpdateTopic(ctx context.Context, req *adminpb.UpdateTopicRequest) (*adminpb.Topic, error) {
	about := subject{topic: req.GetName()}
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	if req.Type == nil && req.QueueCount == nil && req.MaxSendTps == nil {
		return nil, invalid("nothing to update: set type, queue_count or max_send_tps")
	}
	if req.GetMaxSendTps() < 0 {
		return nil, invalid("max_send_tps %d must not be negative (0: no cap)", req.GetMaxSendTps())
	}
	// Read, change the fields that were set, write back: the broker takes
	// whole definitions.
	t, err := v.s.broker.GetTopic(req.GetName())
	if err != nil {
		return nil, v.s.toStatus(ctx, "UpdateTopic", about, err)
	}
	if req.Type != nil {
		if t.Type, err = fromTopicType(req.GetType()); err != nil {
			return nil, err
		}
	}
	if req.QueueCount != nil {
		t.Queues = req.GetQueueCount()
	}
	if req.MaxSendTps != nil {
		t.MaxSendTPS = req.GetMaxSendTps()
	}
	if t, err = v.s.broker.UpdateTopic(ctx, t); err != nil {
		return nil, v.s.toStatus(ctx, "UpdateTopic", about, err)
	}
	return toTopic(t), nil
}

func (v *service) DeleteTopic(ctx context.Context, req *adminpb.DeleteTopicRequest) (*adminpb.DeleteTopicResponse, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	if err := v.s.broker.DeleteTopic(ctx, req.GetName()); err != nil {
		return nil, v.s.toStatus(ctx, "DeleteTopic", subject{topic: req.GetName()}, err)
	}
	return &adminpb.DeleteTopicResponse{}, nil
}

func (v *service) GetTopic(ctx context.Context, req *adminpb.GetTopicRequest) (*adminpb.Topic, error) {
	if req.GetName() == "" {
		return nil, invalid("name is required")
	}
	t, err := v.s.broker.GetTopic(req.GetName())
	if err != nil {
		return nil, v.s.toStatus(ctx, "GetTopic", subject{topic: req.GetName()}, err)
	}
	return toTopic(t), nil
}

func (v *service) ListTopics(ctx context.Context, req *adminpb.ListTopicsRequest) (*adminpb.ListTopicsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken("topics", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	// One more than asked tells whether another page follows.
	topics := v.s.broker.ListTopics(after, size+1)
	resp := &adminpb.ListTopicsResponse{}
	if len(topics) > size {
		topics = topics[:size]
		resp.NextPageToken = encodePageToken("topics", topics[size-1].Name)
	}
	resp.Topics = make([]*adminpb.Topic, len(topics))
	for i, t := range topics {
		resp.Topics[i] = toTopic(t)
	}
	return resp, nil
}
