package admin

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/trace"
)

func (v *service) GetTrace(ctx context.Context, req *adminpb.GetTraceRequest) (*adminpb.Trace, error) {
	info, err := v.message(ctx, "GetTrace", req.GetTopic(), req.GetMessageId())
	if err != nil {
		return nil, err
	}
	evs, err := v.s.broker.Trace(ctx, req.GetTopic(), req.GetMessageId())
	if err != nil {
		return nil, v.s.toStatus(ctx, "GetTrace", subject{topic: req.GetTopic()}, err)
	}
	var msg *adminpb.Message
	if info != nil {
		msg = toMessage(*info, v.s.storeHost, BodyPreviewBytes)
	}
	if msg == nil && len(evs) == 0 {
		return nil, status.Errorf(codes.NotFound, "message %q not found in topic %q, and no trace of it", req.GetMessageId(), req.GetTopic())
	}
	return buildTrace(req.GetTopic(), req.GetMessageId(), msg, evs), nil
}

// Statuses of produce records and of consume records.
const (
	statusSuccess   = "SUCCESS"
	statusFailed    = "FAILED"
	statusConsuming = "CONSUMING"
	statusRetry     = "RETRY"
	statusDLQ       = "DLQ"
	recallOK        = "RECALL_OK"
)

var consumeStatuses = map[adminpb.DeliveryState]adminpb.ConsumeStatus{
	adminpb.DeliveryState_DELIVERY_STATE_NOT_DELIVERED: adminpb.ConsumeStatus_CONSUME_STATUS_NOT_CONSUMED,
	adminpb.DeliveryState_DELIVERY_STATE_IN_FLIGHT:     adminpb.ConsumeStatus_CONSUME_STATUS_CONSUMING,
	adminpb.DeliveryState_DELIVERY_STATE_ACKED:         adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS,
	adminpb.DeliveryState_DELIVERY_STATE_RETRYING:      adminpb.ConsumeStatus_CONSUME_STATUS_RETRYING,
	adminpb.DeliveryState_DELIVERY_STATE_DLQ:           adminpb.ConsumeStatus_CONSUME_STATUS_DLQ,
	adminpb.DeliveryState_DELIVERY_STATE_WAITING:       adminpb.ConsumeStatus_CONSUME_STATUS_WAITING,
}

// buildTrace is the GetTrace view of a message: its stored state (msg, nil
// when gone) and its recorded events (oldest first, all of this message of
// this topic). It is a pure function of its inputs.
//
// The consumer status of a group comes from msg's delivery state when the
// message is still stored (the broker knows best), else from the group's
// last recorded event. Events after a delivery (ack, nack, timeout, DLQ)
// belong to the delivery with their attempt number, or to the group's
// latest delivery when the attempt is not recorded.
func buildTrace(topic, messageID string, msg *adminpb.Message, evs []trace.Event) *adminpb.Trace {
	t := &adminpb.Trace{
		Topic:     topic,
		MessageId: messageID,
		Message:   msg,
		Producer:  &adminpb.ProducerInfo{},
		Broker:    &adminpb.BrokerInfo{},
		Events:    make([]*adminpb.TraceEvent, len(evs)),
	}
	consumers := map[string]*adminpb.ConsumerInfo{}
	consumer := func(group string) *adminpb.ConsumerInfo {
		c := consumers[group]
		if c == nil {
			c = &adminpb.ConsumerInfo{Group: group, Status: adminpb.ConsumeStatus_CONSUME_STATUS_NOT_CONSUMED}
			consumers[group] = c
		}
		return c
	}
	br := t.Broker
	for i, ev := range evs {
		t.Events[i] = toTraceEvent(ev)
		switch ev.Kind {
		case trace.KindSend:
			t.Producer.Records = append(t.Producer.Records, produceRecord(ev))
		case trace.KindTimerSchedule, trace.KindTimerFire, trace.KindTimerRecall,
			trace.KindTxnHalf, trace.KindTxnCommit, trace.KindTxnRollback, trace.KindTxnCheck, trace.KindTxnUnknown:
			br.Operations = append(br.Operations, &adminpb.BrokerOperation{
				Type: ev.Kind.String(), Time: timestamp(ev.Time), ClientId: ev.ClientID, ClientHost: ev.Host, Status: ev.Status,
			})
			brokerStep(br, ev)
		case trace.KindDeliver:
			c := consumer(ev.Group)
			c.Records = append(c.Records, &adminpb.ConsumeRecord{
				Attempt: ev.Attempt, ClientId: ev.ClientID, ClientHost: ev.Host,
				DeliverTime: timestamp(ev.Time), InvisibleUntil: timestamp(ev.InvisibleUntil), Status: statusConsuming,
			})
			c.Status = adminpb.ConsumeStatus_CONSUME_STATUS_CONSUMING
		case trace.KindAck, trace.KindNack, trace.KindTimeout, trace.KindDLQ:
			c := consumer(ev.Group)
			r := recordFor(c, ev.Attempt)
			r.Operations = append(r.Operations, &adminpb.ConsumeOperation{
				Type: ev.Kind.String(), Time: timestamp(ev.Time), InvisibleUntil: timestamp(ev.InvisibleUntil),
				ClientId: ev.ClientID, Detail: ev.Detail,
			})
			switch ev.Kind {
			case trace.KindAck:
				r.Status, c.Status = statusSuccess, adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS
			case trace.KindNack, trace.KindTimeout:
				if r.Status == statusConsuming {
					r.Status = statusRetry
				}
				if ev.Kind == trace.KindNack && !ev.InvisibleUntil.IsZero() {
					r.InvisibleUntil = timestamp(ev.InvisibleUntil)
				}
				if c.Status == adminpb.ConsumeStatus_CONSUME_STATUS_CONSUMING {
					c.Status = adminpb.ConsumeStatus_CONSUME_STATUS_RETRYING
				}
			case trace.KindDLQ:
				r.Status, c.Status, c.DeadMessage = statusDLQ, adminpb.ConsumeStatus_CONSUME_STATUS_DLQ, true
				dlqTopic := ev.Detail
				if dlqTopic == "" {
					dlqTopic = broker.DLQTopic(ev.Group)
				}
				c.DeadLetter = &adminpb.DeadLetterInfo{Topic: dlqTopic, Time: timestamp(ev.Time)}
			}
		}
	}

	// What the message itself says, when no event did.
	if msg != nil {
		if br.DelayStatus == adminpb.DelayStatus_DELAY_STATUS_UNSPECIFIED && msg.GetState() == adminpb.MessageState_MESSAGE_STATE_SCHEDULED {
			br.DelayStatus = adminpb.DelayStatus_DELAY_STATUS_SCHEDULED
		}
		if br.PresetDelayTime == nil && msg.GetType() == adminpb.MessageType_MESSAGE_TYPE_DELAY {
			br.PresetDelayTime = msg.GetDeliveryTime()
		}
		if br.TransactionStatus == adminpb.TransactionStatus_TRANSACTION_STATUS_UNSPECIFIED && msg.GetType() == adminpb.MessageType_MESSAGE_TYPE_TRANSACTION {
			switch msg.GetState() {
			case adminpb.MessageState_MESSAGE_STATE_HALF:
				br.TransactionStatus = adminpb.TransactionStatus_TRANSACTION_STATUS_UNRESOLVED
			case adminpb.MessageState_MESSAGE_STATE_STORED:
				br.TransactionStatus = adminpb.TransactionStatus_TRANSACTION_STATUS_COMMITTED
			}
		}
		for _, d := range msg.GetDeliveries() {
			c := consumer(d.GetGroup())
			if s, ok := consumeStatuses[d.GetState()]; ok {
				c.Status = s
			}
			if d.GetState() == adminpb.DeliveryState_DELIVERY_STATE_DLQ {
				c.DeadMessage = true
				if c.DeadLetter == nil {
					c.DeadLetter = &adminpb.DeadLetterInfo{Topic: broker.DLQTopic(d.GetGroup())}
				}
			}
		}
	}

	t.Consumers = make([]*adminpb.ConsumerInfo, 0, len(consumers))
	for _, c := range consumers {
		t.Consumers = append(t.Consumers, c)
	}
	slices.SortFunc(t.Consumers, func(a, b *adminpb.ConsumerInfo) int { return strings.Compare(a.GetGroup(), b.GetGroup()) })
	return t
}

// brokerStep folds a timer or transaction event into the broker summary.
func brokerStep(br *adminpb.BrokerInfo, ev trace.Event) {
	switch ev.Kind {
	case trace.KindTimerSchedule:
		if br.DelayStatus == adminpb.DelayStatus_DELAY_STATUS_UNSPECIFIED {
			br.DelayStatus = adminpb.DelayStatus_DELAY_STATUS_SCHEDULED
		}
		if !ev.DeliverAt.IsZero() {
			br.PresetDelayTime = timestamp(ev.DeliverAt)
		}
	case trace.KindTimerFire:
		if ev.Status == "" && br.DelayStatus != adminpb.DelayStatus_DELAY_STATUS_RECALLED {
			br.DelayStatus = adminpb.DelayStatus_DELAY_STATUS_FIRED
		}
		if br.PresetDelayTime == nil && !ev.DeliverAt.IsZero() {
			br.PresetDelayTime = timestamp(ev.DeliverAt)
		}
	case trace.KindTimerRecall:
		br.DelayStatus, br.RecallResult = adminpb.DelayStatus_DELAY_STATUS_RECALLED, recallOK
	case trace.KindTxnHalf, trace.KindTxnCheck, trace.KindTxnUnknown:
		if br.TransactionStatus == adminpb.TransactionStatus_TRANSACTION_STATUS_UNSPECIFIED {
			br.TransactionStatus = adminpb.TransactionStatus_TRANSACTION_STATUS_UNRESOLVED
		}
	case trace.KindTxnCommit:
		if ev.Status == "" {
			br.TransactionStatus = adminpb.TransactionStatus_TRANSACTION_STATUS_COMMITTED
		}
	case trace.KindTxnRollback:
		if ev.Status == "" {
			br.TransactionStatus = adminpb.TransactionStatus_TRANSACTION_STATUS_ROLLED_BACK
		}
	}
	switch ev.Kind {
	case trace.KindTxnHalf, trace.KindTxnCommit, trace.KindTxnRollback, trace.KindTxnCheck, trace.KindTxnUnknown:
		if br.TransactionId == "" {
			br.TransactionId = ev.Detail
		}
	}
}

// recordFor is the delivery an event after delivery belongs to: the latest
// with its attempt, or the latest one when the event has no attempt. An
// event whose delivery was not recorded gets a record of its own.
func recordFor(c *adminpb.ConsumerInfo, attempt int32) *adminpb.ConsumeRecord {
	for i := len(c.Records) - 1; i >= 0; i-- {
		if attempt == 0 || c.Records[i].GetAttempt() == attempt {
			return c.Records[i]
		}
	}
	r := &adminpb.ConsumeRecord{Attempt: attempt, Status: statusConsuming}
	c.Records = append(c.Records, r)
	return r
}

func produceRecord(ev trace.Event) *adminpb.ProduceRecord {
	r := &adminpb.ProduceRecord{
		ProduceTime: timestamp(ev.Time),
		ArriveTime:  timestamp(ev.Time.Add(-ev.Cost)),
		Cost:        durationpb.New(ev.Cost),
		Status:      statusSuccess,
		ClientId:    ev.ClientID,
		ClientHost:  ev.Host,
		QueueId:     ev.QueueID,
		QueueOffset: ev.QueueOffset,
	}
	if ev.Status != "" {
		r.Status, r.Error = statusFailed, ev.Status
	}
	return r
}

func toTraceEvent(ev trace.Event) *adminpb.TraceEvent {
	out := &adminpb.TraceEvent{
		Type:           ev.Kind.String(),
		Time:           timestamp(ev.Time),
		Group:          ev.Group,
		ClientId:       ev.ClientID,
		ClientHost:     ev.Host,
		Attempt:        ev.Attempt,
		InvisibleUntil: timestamp(ev.InvisibleUntil),
		DeliverAt:      timestamp(ev.DeliverAt),
		QueueId:        ev.QueueID,
		QueueOffset:    ev.QueueOffset,
		Status:         ev.Status,
		Detail:         ev.Detail,
	}
	if ev.Cost != 0 {
		out.Cost = durationpb.New(ev.Cost)
	}
	return out
}
