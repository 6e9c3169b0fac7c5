package admin

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

var topicTypes = map[adminpb.TopicType]broker.TopicType{
	adminpb.TopicType_TOPIC_TYPE_NORMAL:      broker.TopicNormal,
	adminpb.TopicType_TOPIC_TYPE_FIFO:        broker.TopicFIFO,
	adminpb.TopicType_TOPIC_TYPE_DELAY:       broker.TopicDelay,
	adminpb.TopicType_TOPIC_TYPE_TRANSACTION: broker.TopicTransaction,
}

// fromTopicType converts a requested topic type; UNSPECIFIED is not accepted
// here (callers apply their default first).
func fromTopicType(t adminpb.TopicType) (broker.TopicType, error) {
	if bt, ok := topicTypes[t]; ok {
		return bt, nil
	}
	return "", invalid("type %v is not a topic type: want NORMAL, FIFO, DELAY or TRANSACTION", t)
}

func toTopicType(t broker.TopicType) adminpb.TopicType {
	for pt, bt := range topicTypes {
		if bt == t {
			return pt
		}
	}
	return adminpb.TopicType_TOPIC_TYPE_UNSPECIFIED
}

func toTopic(t broker.Topic) *adminpb.Topic {
	return &adminpb.Topic{
		Name:       t.Name,
		Type:       toTopicType(t.Type),
		QueueCount: t.Queues,
		MaxSendTps: t.MaxSendTPS,
		CreateTime: timestamp(t.CreatedAt),
		UpdateTime: timestamp(t.UpdatedAt),
	}
}

func toGroup(g broker.Group) *adminpb.Group {
	return &adminpb.Group{
		Name:       g.Name,
		Orderly:    g.Orderly,
		MaxRetries: fromBrokerRetries(g.MaxRetries),
		CreateTime: timestamp(g.CreatedAt),
		UpdateTime: timestamp(g.UpdatedAt),

		MaxReceiveTps:        g.MaxReceiveTPS,
		RetryIntervalSeconds: int32(g.RetryInterval / time.Second),
	}
}

func toQueueOffset(o broker.QueueOffset) *adminpb.QueueOffset {
	return &adminpb.QueueOffset{
		Topic:          o.Topic,
		QueueId:        o.QueueID,
		MinOffset:      o.MinOffset,
		MaxOffset:      o.MaxOffset,
		ConsumerOffset: o.ConsumerOffset,
		Lag:            o.Lag,
		Inflight:       int64(o.Inflight),
	}
}

// timestamp leaves unknown times unset instead of sending 1 January 1 AD.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// The proto's max_retries is the number of redeliveries, 0..1000, where 0
// means one delivery only. The broker reads 0 as "default" and spells "no
// retries" broker.NoRetries.

func toBrokerRetries(n int32) (int32, error) {
	switch {
	case n < 0:
		return 0, invalid("max_retries %d must not be negative", n)
	case n > broker.MaxRetriesLimit:
		return 0, invalid("max_retries %d is out of range: want 0..%d", n, broker.MaxRetriesLimit)
	case n == 0:
		return broker.NoRetries, nil
	}
	return n, nil
}

func fromBrokerRetries(n int32) int32 {
	if n < 0 {
		return 0
	}
	return n
}

func toReceiveTPS(n int32) (int32, error) {
	if n < 0 {
		return 0, invalid("max_receive_tps %d must not be negative (0: no cap)", n)
	}
	return n, nil
}

// toRetryInterval converts retry_interval_seconds, 0 (exponential backoff)
// or 1..7200.
func toRetryInterval(sec int32) (time.Duration, error) {
	limit := int32(broker.MaxRetryInterval / time.Second)
	if sec < 0 || sec > limit {
		return 0, invalid("retry_interval_seconds %d is out of range: want 0 (exponential backoff) or 1..%d", sec, limit)
	}
	return time.Duration(sec) * time.Second, nil
}
