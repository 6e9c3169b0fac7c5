package brokerrpc

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
	"github.com/orbitmq/orbit/dataplane/store"
)

// Conversions between broker/store values and the wire. Every field of
// store.Message travels, and decoding gives back an equal value: times keep
// their instant to the nanosecond (in the local zone, as time.Unix returns),
// nil and empty slices and maps stay apart.

func timeToPB(t time.Time) *brokerpb.Time {
	if t.IsZero() {
		return nil
	}
	return &brokerpb.Time{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

func timeFromPB(t *brokerpb.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.GetSeconds(), int64(t.GetNanos()))
}

func messageToPB(m *store.Message) *brokerpb.Message {
	if m == nil {
		return nil
	}
	return &brokerpb.Message{
		Topic:           m.Topic,
		QueueId:         m.QueueID,
		MessageId:       m.MessageID,
		Type:            uint32(m.Type),
		Tag:             m.Tag,
		Keys:            m.Keys,
		KeysSet:         m.Keys != nil,
		Group:           m.Group,
		Properties:      m.Properties,
		PropertiesSet:   m.Properties != nil,
		Body:            m.Body,
		BodySet:         m.Body != nil,
		BornTime:        timeToPB(m.BornTime),
		BornHost:        m.BornHost,
		DeliveryTime:    timeToPB(m.DeliveryTime),
		DeliveryAttempt: m.DeliveryAttempt,
		OriginTopic:     m.OriginTopic,
		OriginMessageId: m.OriginMessageID,
		QueueOffset:     m.QueueOffset,
		CommitLogOffset: m.CommitLogOffset,
		StoreTime:       timeToPB(m.StoreTime),
		StoreSize:       m.StoreSize,
	}
}

func messageFromPB(p *brokerpb.Message) *store.Message {
	if p == nil {
		return nil
	}
	m := &store.Message{
		Topic:           p.GetTopic(),
		QueueID:         p.GetQueueId(),
		MessageID:       p.GetMessageId(),
		Type:            store.MessageType(p.GetType()),
		Tag:             p.GetTag(),
		Group:           p.GetGroup(),
		BornTime:        timeFromPB(p.GetBornTime()),
		BornHost:        p.GetBornHost(),
		DeliveryTime:    timeFromPB(p.GetDeliveryTime()),
		DeliveryAttempt: p.GetDeliveryAttempt(),
		OriginTopic:     p.GetOriginTopic(),
		OriginMessageID: p.GetOriginMessageId(),
		QueueOffset:     p.GetQueueOffset(),
		CommitLogOffset: p.GetCommitLogOffset(),
		StoreTime:       timeFromPB(p.GetStoreTime()),
		StoreSize:       p.GetStoreSize(),
	}
	if p.GetKeysSet() {
		m.Keys = append(make([]string, 0, len(p.GetKeys())), p.GetKeys()...)
	}
	if p.GetPropertiesSet() {
		m.Properties = maps.Clone(p.GetProperties())
		if m.Properties == nil {
			m.Properties = map[string]string{}
		}
	}
	if p.GetBodySet() {
		m.Body = p.GetBody()
		if m.Body == nil {
			m.Body = []byte{}
		}
	}
	return m
}

func receiveToPB(r broker.ReceiveRequest) *brokerpb.ReceiveRequest {
	return &brokerpb.ReceiveRequest{
		Group:                  r.Group,
		Topic:                  r.Topic,
		QueueId:                r.QueueID,
		FilterType:             string(r.FilterType),
		Filter:                 r.Filter,
		MaxMessages:            int32(min(max(r.MaxMessages, -1<<31), 1<<31-1)),
		InvisibleDurationNanos: int64(r.InvisibleDuration),
		AutoRenew:              r.AutoRenew,
		PollTimeoutNanos:       int64(r.PollTimeout),
		ClientId:               r.ClientID,
		AttemptId:              r.AttemptID,
	}
}

func receiveFromPB(p *brokerpb.ReceiveRequest) broker.ReceiveRequest {
	return broker.ReceiveRequest{
		Group:             p.GetGroup(),
		Topic:             p.GetTopic(),
		QueueID:           p.GetQueueId(),
		FilterType:        broker.FilterType(p.GetFilterType()),
		Filter:            p.GetFilter(),
		MaxMessages:       int(p.GetMaxMessages()),
		InvisibleDuration: time.Duration(p.GetInvisibleDurationNanos()),
		AutoRenew:         p.GetAutoRenew(),
		PollTimeout:       time.Duration(p.GetPollTimeoutNanos()),
		ClientID:          p.GetClientId(),
		AttemptID:         p.GetAttemptId(),
	}
}

func deliveryToPB(d broker.Delivery) *brokerpb.Delivery {
	return &brokerpb.Delivery{
		Message:        messageToPB(d.Message),
		ReceiptHandle:  d.ReceiptHandle,
		Attempt:        d.Attempt,
		InvisibleUntil: timeToPB(d.InvisibleUntil),
	}
}

func deliveryFromPB(p *brokerpb.Delivery) broker.Delivery {
	return broker.Delivery{
		Message:        messageFromPB(p.GetMessage()),
		ReceiptHandle:  p.GetReceiptHandle(),
		Attempt:        p.GetAttempt(),
		InvisibleUntil: timeFromPB(p.GetInvisibleUntil()),
	}
}

func topicToPB(t broker.Topic) *brokerpb.Topic {
	return &brokerpb.Topic{
		Name: t.Name, Type: string(t.Type), Queues: t.Queues, MaxSendTps: t.MaxSendTPS,
		CreatedAt: timeToPB(t.CreatedAt), UpdatedAt: timeToPB(t.UpdatedAt),
	}
}

func topicFromPB(p *brokerpb.Topic) broker.Topic {
	return broker.Topic{
		Name: p.GetName(), Type: broker.TopicType(p.GetType()), Queues: p.GetQueues(), MaxSendTPS: p.GetMaxSendTps(),
		CreatedAt: timeFromPB(p.GetCreatedAt()), UpdatedAt: timeFromPB(p.GetUpdatedAt()),
	}
}

func groupToPB(g broker.Group) *brokerpb.Group {
	return &brokerpb.Group{
		Name: g.Name, Orderly: g.Orderly, MaxRetries: g.MaxRetries,
		MaxReceiveTps: g.MaxReceiveTPS, RetryIntervalNanos: int64(g.RetryInterval),
		CreatedAt: timeToPB(g.CreatedAt), UpdatedAt: timeToPB(g.UpdatedAt),
	}
}

func groupFromPB(p *brokerpb.Group) broker.Group {
	return broker.Group{
		Name: p.GetName(), Orderly: p.GetOrderly(), MaxRetries: p.GetMaxRetries(),
		MaxReceiveTPS: p.GetMaxReceiveTps(), RetryInterval: time.Duration(p.GetRetryIntervalNanos()),
		CreatedAt: timeFromPB(p.GetCreatedAt()), UpdatedAt: timeFromPB(p.GetUpdatedAt()),
	}
}

// topicsFromPB keeps ListTopics' non-nil empty result.
func topicsFromPB(ps []*brokerpb.Topic) []broker.Topic {
	out := make([]broker.Topic, 0, len(ps))
	for _, p := range ps {
		out = append(out, topicFromPB(p))
	}
	return slices.Clip(out)
}

func resolutionToPB(r broker.Resolution) (brokerpb.Resolution, error) {
	switch r {
	case broker.ResolutionUnknown:
		return brokerpb.Resolution_RESOLUTION_UNKNOWN, nil
	case broker.ResolutionCommit:
		return brokerpb.Resolution_RESOLUTION_COMMIT, nil
	case broker.ResolutionRollback:
		return brokerpb.Resolution_RESOLUTION_ROLLBACK, nil
	default:
		return 0, fmt.Errorf("%w: unknown transaction resolution %d", broker.ErrInvalidArgument, r)
	}
}

func resolutionFromPB(r brokerpb.Resolution) (broker.Resolution, error) {
	switch r {
	case brokerpb.Resolution_RESOLUTION_UNKNOWN:
		return broker.ResolutionUnknown, nil
	case brokerpb.Resolution_RESOLUTION_COMMIT:
		return broker.ResolutionCommit, nil
	case brokerpb.Resolution_RESOLUTION_ROLLBACK:
		return broker.ResolutionRollback, nil
	default:
		return 0, fmt.Errorf("%w: unknown transaction resolution %d", broker.ErrInvalidArgument, r)
	}
}
