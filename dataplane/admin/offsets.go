package admin

import (
	"cmp"
	"context"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

func (v *service) GetGroupOffsets(ctx context.Context, req *adminpb.GetGroupOffsetsRequest) (*adminpb.GetGroupOffsetsResponse, error) {
	if req.GetGroup() == "" {
		return nil, invalid("group is required")
	}
	offsets, err := v.offsets(ctx, "GetGroupOffsets", req.GetGroup(), req.GetTopic())
	if err != nil {
		return nil, err
	}
	resp := &adminpb.GetGroupOffsetsResponse{Offsets: offsets}
	for _, o := range offsets {
		resp.TotalLag += o.GetLag()
	}
	return resp, nil
}

func (v *service) ResetGroupOffset(ctx context.Context, req *adminpb.ResetGroupOffsetRequest) (*adminpb.ResetGroupOffsetResponse, error) {
	about := subject{group: req.GetGroup(), topic: req.GetTopic()}
	if req.GetGroup() == "" {
		return nil, invalid("group is required")
	}
	if req.GetTopic() == "" {
		return nil, invalid("topic is required")
	}
	var to broker.ResetTarget
	switch t := req.GetTarget().(type) {
	case *adminpb.ResetGroupOffsetRequest_Position:
		switch t.Position {
		case adminpb.ResetPosition_RESET_POSITION_EARLIEST:
			to.Earliest = true
		case adminpb.ResetPosition_RESET_POSITION_LATEST:
			to.Latest = true
		default:
			return nil, invalid("position %v: want EARLIEST or LATEST", t.Position)
		}
	case *adminpb.ResetGroupOffsetRequest_Timestamp:
		if err := t.Timestamp.CheckValid(); err != nil {
			return nil, invalid("timestamp: %v", err)
		}
		to.Time = t.Timestamp.AsTime()
	default:
		return nil, invalid("a target is required: position (EARLIEST or LATEST) or timestamp")
	}
	preview, err := v.s.broker.PreviewReset(ctx, req.GetGroup(), req.GetTopic(), to)
	if err != nil {
		return nil, v.s.toStatus(ctx, "ResetGroupOffset", about, err)
	}
	if !req.GetDryRun() {
		if err := v.s.broker.ResetOffset(ctx, req.GetGroup(), req.GetTopic(), to); err != nil {
			return nil, v.s.toStatus(ctx, "ResetGroupOffset", about, err)
		}
	}
	offsets, err := v.offsets(ctx, "ResetGroupOffset", req.GetGroup(), req.GetTopic())
	if err != nil {
		return nil, err
	}
	changes := make([]*adminpb.QueueReset, len(preview))
	for i, p := range preview {
		changes[i] = &adminpb.QueueReset{QueueId: p.QueueID, CurrentOffset: p.CurrentOffset, NewOffset: p.NewOffset}
	}
	return &adminpb.ResetGroupOffsetResponse{Offsets: offsets, Changes: changes}, nil
}

func (v *service) GetTopicStats(ctx context.Context, req *adminpb.GetTopicStatsRequest) (*adminpb.TopicStats, error) {
	if req.GetTopic() == "" {
		return nil, invalid("topic is required")
	}
	rs, err := v.s.broker.TopicRanges(req.GetTopic())
	if err != nil {
		return nil, v.s.toStatus(ctx, "GetTopicStats", subject{topic: req.GetTopic()}, err)
	}
	out := &adminpb.TopicStats{Topic: req.GetTopic(), Queues: make([]*adminpb.QueueRange, len(rs))}
	for i, r := range rs {
		out.Queues[i] = &adminpb.QueueRange{QueueId: r.QueueID, MinOffset: r.Min, MaxOffset: r.Max}
	}
	return out, nil
}

// offsets returns a group's offsets sorted by topic and queue.
func (v *service) offsets(ctx context.Context, op, group, topic string) ([]*adminpb.QueueOffset, error) {
	qs, err := v.s.broker.Offsets(group, topic)
	if err != nil {
		return nil, v.s.toStatus(ctx, op, subject{group: group, topic: topic}, err)
	}
	slices.SortFunc(qs, func(a, b broker.QueueOffset) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.QueueID, b.QueueID))
	})
	out := make([]*adminpb.QueueOffset, len(qs))
	for i, q := range qs {
		out[i] = toQueueOffset(q)
		// One read per queue that has lag: the message the group waits on.
		if q.Lag > 0 {
			if at, err := v.s.broker.StoreTimeAt(ctx, q.Topic, q.QueueID, q.ConsumerOffset); err == nil {
				out[i].OldestUnconsumedTime = timestamppb.New(at)
			}
		}
	}
	return out, nil
}
