package admin

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

const (
	// BodyPreviewBytes is how much of each body QueryMessages returns
	// unless asked for whole bodies.
	BodyPreviewBytes = 1024
	// maxPageBodyBytes bounds the whole bodies of one QueryMessages page;
	// bodies beyond it are cut to the preview.
	maxPageBodyBytes = 4 << 20
	maxMessagePage   = 100
)

func (v *service) QueryMessages(ctx context.Context, req *adminpb.QueryMessagesRequest) (*adminpb.QueryMessagesResponse, error) {
	about := subject{topic: req.GetTopic()}
	if req.GetTopic() == "" {
		return nil, invalid("topic is required")
	}
	size := int(req.GetPageSize())
	if size < 0 || size > maxMessagePage {
		return nil, invalid("page_size %d is out of range: want 1..%d (0 means 20)", size, maxMessagePage)
	}
	q := broker.MessageQuery{
		Topic: req.GetTopic(), MessageID: req.GetMessageId(), Key: req.GetKey(),
		Cursor: req.GetPageToken(), Limit: size,
	}
	if ts := req.GetStartTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, invalid("start_time: %v", err)
		}
		q.Start = ts.AsTime()
	}
	if ts := req.GetEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, invalid("end_time: %v", err)
		}
		q.End = ts.AsTime()
	}
	page, err := v.s.broker.QueryMessages(ctx, q)
	if err != nil {
		return nil, v.s.toStatus(ctx, "QueryMessages", about, err)
	}
	resp := &adminpb.QueryMessagesResponse{Messages: make([]*adminpb.Message, len(page.Messages)), NextPageToken: page.NextCursor}
	budget := 0
	if req.GetFullBody() {
		budget = maxPageBodyBytes
	}
	for i, info := range page.Messages {
		limit := BodyPreviewBytes
		if n := len(info.Message.Body); n <= budget {
			limit, budget = n, budget-n
		}
		resp.Messages[i] = toMessage(info, v.s.storeHost, limit)
	}
	return resp, nil
}

func (v *service) GetMessage(ctx context.Context, req *adminpb.GetMessageRequest) (*adminpb.Message, error) {
	info, err := v.message(ctx, "GetMessage", req.GetTopic(), req.GetMessageId())
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, status.Errorf(codes.NotFound, "message %q not found in topic %q", req.GetMessageId(), req.GetTopic())
	}
	return toMessage(*info, v.s.storeHost, len(info.Message.Body)), nil
}

// message validates a (topic, message id) request and finds the message:
// a scheduled or half one first, else the newest stored copy; nil if none.
func (v *service) message(ctx context.Context, op, topic, id string) (*broker.MessageInfo, error) {
	switch {
	case topic == "":
		return nil, invalid("topic is required")
	case id == "":
		return nil, invalid("message_id is required")
	}
	page, err := v.s.broker.QueryMessages(ctx, broker.MessageQuery{Topic: topic, MessageID: id, Limit: 1})
	if err != nil {
		return nil, v.s.toStatus(ctx, op, subject{topic: topic}, err)
	}
	if len(page.Messages) == 0 {
		return nil, nil
	}
	return &page.Messages[0], nil
}

var messageTypes = map[store.MessageType]adminpb.MessageType{
	store.TypeNormal:      adminpb.MessageType_MESSAGE_TYPE_NORMAL,
	store.TypeFIFO:        adminpb.MessageType_MESSAGE_TYPE_FIFO,
	store.TypeDelay:       adminpb.MessageType_MESSAGE_TYPE_DELAY,
	store.TypeTransaction: adminpb.MessageType_MESSAGE_TYPE_TRANSACTION,
}

var messageStates = map[broker.MessageState]adminpb.MessageState{
	broker.MessageStored:    adminpb.MessageState_MESSAGE_STATE_STORED,
	broker.MessageScheduled: adminpb.MessageState_MESSAGE_STATE_SCHEDULED,
	broker.MessageHalf:      adminpb.MessageState_MESSAGE_STATE_HALF,
}

var deliveryStates = map[broker.DeliveryState]adminpb.DeliveryState{
	broker.DeliveryPending:  adminpb.DeliveryState_DELIVERY_STATE_NOT_DELIVERED,
	broker.DeliveryInFlight: adminpb.DeliveryState_DELIVERY_STATE_IN_FLIGHT,
	broker.DeliveryAcked:    adminpb.DeliveryState_DELIVERY_STATE_ACKED,
	broker.DeliveryRetrying: adminpb.DeliveryState_DELIVERY_STATE_RETRYING,
	broker.DeliveryDLQ:      adminpb.DeliveryState_DELIVERY_STATE_DLQ,
	broker.DeliveryWaiting:  adminpb.DeliveryState_DELIVERY_STATE_WAITING,
}

// toMessage converts a found message, with at most bodyLimit bytes of its
// body. storeHost is this node's advertised address.
func toMessage(info broker.MessageInfo, storeHost string, bodyLimit int) *adminpb.Message {
	m := info.Message
	out := &adminpb.Message{
		MessageId:       m.MessageID,
		Topic:           m.Topic,
		Type:            messageTypes[m.Type],
		State:           messageStates[info.State],
		Tag:             m.Tag,
		Keys:            m.Keys,
		MessageGroup:    m.Group,
		Properties:      m.Properties,
		Body:            m.Body,
		BodySize:        int64(len(m.Body)),
		BornTime:        timestamp(m.BornTime),
		BornHost:        m.BornHost,
		DeliveryTime:    timestamp(m.DeliveryTime),
		OriginTopic:     m.OriginTopic,
		OriginMessageId: m.OriginMessageID,
		DeliveryAttempt: m.DeliveryAttempt,
	}
	if len(m.Body) > bodyLimit {
		out.Body, out.BodyTruncated = m.Body[:bodyLimit], true
	}
	if info.State == broker.MessageStored {
		out.StoreTime = timestamp(m.StoreTime)
		out.StoreHost = storeHost
		out.QueueId, out.QueueOffset = m.QueueID, m.QueueOffset
	}
	out.Deliveries = make([]*adminpb.GroupDelivery, len(info.Groups))
	for i, g := range info.Groups {
		out.Deliveries[i] = &adminpb.GroupDelivery{
			Group:          g.Group,
			State:          deliveryStates[g.State],
			Attempt:        g.Attempt,
			InvisibleUntil: timestamp(g.InvisibleUntil),
		}
	}
	return out
}
