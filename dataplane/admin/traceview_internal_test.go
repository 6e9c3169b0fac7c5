package admin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/trace"
)

var t0 = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ev(kind trace.Kind, d time.Duration, mod func(*trace.Event)) trace.Event {
	e := trace.Event{Kind: kind, Time: at(d), MessageID: "m", Topic: "orders"}
	if mod != nil {
		mod(&e)
	}
	return e
}

func group(g string, attempt int32) func(*trace.Event) {
	return func(e *trace.Event) { e.Group, e.Attempt = g, attempt }
}

func TestBuildTrace(t *testing.T) {
	t.Parallel()
	send := ev(trace.KindSend, 0, func(e *trace.Event) {
		e.ClientID, e.Host, e.Cost, e.QueueID, e.QueueOffset = "producer-1", "10.0.0.1:5000", 250*time.Microsecond, 2, 41
	})
	deliver := func(g string, attempt int32, d time.Duration) trace.Event {
		return ev(trace.KindDeliver, d, func(e *trace.Event) {
			e.Group, e.Attempt, e.ClientID, e.Host, e.InvisibleUntil = g, attempt, "consumer-1", "10.0.0.2:6000", at(d+30*time.Second)
		})
	}
	stored := &adminpb.Message{MessageId: "m", Topic: "orders", Type: adminpb.MessageType_MESSAGE_TYPE_NORMAL, State: adminpb.MessageState_MESSAGE_STATE_STORED}

	tests := []struct {
		name string
		msg  *adminpb.Message
		evs  []trace.Event
		want *adminpb.Trace // Topic, MessageId, Message and Events are checked separately
	}{
		{
			name: "nothing recorded",
			msg:  stored,
			want: &adminpb.Trace{Producer: &adminpb.ProducerInfo{}, Broker: &adminpb.BrokerInfo{}},
		},
		{
			name: "sent, delivered, timed out, delivered again, acked",
			msg:  stored,
			evs: []trace.Event{
				send,
				deliver("billing", 1, time.Second),
				ev(trace.KindTimeout, 31*time.Second, group("billing", 1)),
				deliver("billing", 2, 31*time.Second),
				ev(trace.KindAck, 32*time.Second, func(e *trace.Event) { e.Group, e.Attempt, e.ClientID = "billing", 2, "consumer-1" }),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{Records: []*adminpb.ProduceRecord{{
					ProduceTime: timestamp(at(0)), ArriveTime: timestamp(at(-250 * time.Microsecond)), Cost: durationpb.New(250 * time.Microsecond),
					Status: "SUCCESS", ClientId: "producer-1", ClientHost: "10.0.0.1:5000", QueueId: 2, QueueOffset: 41,
				}}},
				Broker: &adminpb.BrokerInfo{},
				Consumers: []*adminpb.ConsumerInfo{{
					Group: "billing", Status: adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS,
					Records: []*adminpb.ConsumeRecord{
						{Attempt: 1, ClientId: "consumer-1", ClientHost: "10.0.0.2:6000", DeliverTime: timestamp(at(time.Second)),
							InvisibleUntil: timestamp(at(31 * time.Second)), Status: "RETRY",
							Operations: []*adminpb.ConsumeOperation{{Type: "TIMEOUT", Time: timestamp(at(31 * time.Second))}}},
						{Attempt: 2, ClientId: "consumer-1", ClientHost: "10.0.0.2:6000", DeliverTime: timestamp(at(31 * time.Second)),
							InvisibleUntil: timestamp(at(61 * time.Second)), Status: "SUCCESS",
							Operations: []*adminpb.ConsumeOperation{{Type: "ACK", Time: timestamp(at(32 * time.Second)), ClientId: "consumer-1"}}},
					},
				}},
			},
		},
		{
			name: "a failed send, then a retried one",
			evs: []trace.Event{
				ev(trace.KindSend, 0, func(e *trace.Event) { e.Status = "broker busy" }),
				ev(trace.KindSend, time.Second, nil),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{Records: []*adminpb.ProduceRecord{
					{ProduceTime: timestamp(at(0)), ArriveTime: timestamp(at(0)), Cost: durationpb.New(0), Status: "FAILED", Error: "broker busy"},
					{ProduceTime: timestamp(at(time.Second)), ArriveTime: timestamp(at(time.Second)), Cost: durationpb.New(0), Status: "SUCCESS"},
				}},
				Broker: &adminpb.BrokerInfo{},
			},
		},
		{
			name: "nacked, then dead-lettered; the broker's state wins for another group",
			msg: &adminpb.Message{State: adminpb.MessageState_MESSAGE_STATE_STORED, Deliveries: []*adminpb.GroupDelivery{
				{Group: "audit", State: adminpb.DeliveryState_DELIVERY_STATE_IN_FLIGHT, Attempt: 1},
				{Group: "idle", State: adminpb.DeliveryState_DELIVERY_STATE_NOT_DELIVERED},
			}},
			evs: []trace.Event{
				deliver("billing", 1, time.Second),
				ev(trace.KindNack, 2*time.Second, func(e *trace.Event) { e.Group, e.Attempt, e.InvisibleUntil = "billing", 1, at(10*time.Second) }),
				ev(trace.KindTimeout, 20*time.Second, group("billing", 1)),
				ev(trace.KindDLQ, 20*time.Second, func(e *trace.Event) { e.Group, e.Attempt, e.Detail = "billing", 1, "%DLQ%billing" }),
				deliver("audit", 1, 3*time.Second),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{},
				Consumers: []*adminpb.ConsumerInfo{
					{Group: "audit", Status: adminpb.ConsumeStatus_CONSUME_STATUS_CONSUMING, Records: []*adminpb.ConsumeRecord{
						{Attempt: 1, ClientId: "consumer-1", ClientHost: "10.0.0.2:6000", DeliverTime: timestamp(at(3 * time.Second)),
							InvisibleUntil: timestamp(at(33 * time.Second)), Status: "CONSUMING"},
					}},
					{Group: "billing", Status: adminpb.ConsumeStatus_CONSUME_STATUS_DLQ, DeadMessage: true,
						DeadLetter: &adminpb.DeadLetterInfo{Topic: "%DLQ%billing", Time: timestamp(at(20 * time.Second))},
						Records: []*adminpb.ConsumeRecord{
							{Attempt: 1, ClientId: "consumer-1", ClientHost: "10.0.0.2:6000", DeliverTime: timestamp(at(time.Second)),
								InvisibleUntil: timestamp(at(10 * time.Second)), Status: "DLQ", Operations: []*adminpb.ConsumeOperation{
									{Type: "NACK", Time: timestamp(at(2 * time.Second)), InvisibleUntil: timestamp(at(10 * time.Second))},
									{Type: "TIMEOUT", Time: timestamp(at(20 * time.Second))},
									{Type: "DLQ", Time: timestamp(at(20 * time.Second)), Detail: "%DLQ%billing"},
								}},
						}},
					{Group: "idle", Status: adminpb.ConsumeStatus_CONSUME_STATUS_NOT_CONSUMED},
				},
			},
		},
		{
			name: "an ack whose delivery was not recorded",
			evs:  []trace.Event{ev(trace.KindAck, time.Second, group("billing", 3))},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{},
				Consumers: []*adminpb.ConsumerInfo{{Group: "billing", Status: adminpb.ConsumeStatus_CONSUME_STATUS_SUCCESS, Records: []*adminpb.ConsumeRecord{
					{Attempt: 3, Status: "SUCCESS", Operations: []*adminpb.ConsumeOperation{{Type: "ACK", Time: timestamp(at(time.Second))}}},
				}}},
			},
		},
		{
			name: "the broker reports a dead letter the trace missed",
			msg: &adminpb.Message{State: adminpb.MessageState_MESSAGE_STATE_STORED, Deliveries: []*adminpb.GroupDelivery{
				{Group: "billing", State: adminpb.DeliveryState_DELIVERY_STATE_DLQ, Attempt: 17},
			}},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{},
				Consumers: []*adminpb.ConsumerInfo{{Group: "billing", Status: adminpb.ConsumeStatus_CONSUME_STATUS_DLQ, DeadMessage: true,
					DeadLetter: &adminpb.DeadLetterInfo{Topic: "%DLQ%billing"}}},
			},
		},
		{
			name: "a delay message that fired",
			msg:  &adminpb.Message{Type: adminpb.MessageType_MESSAGE_TYPE_DELAY, State: adminpb.MessageState_MESSAGE_STATE_STORED, DeliveryTime: timestamp(at(time.Hour))},
			evs: []trace.Event{
				ev(trace.KindTimerSchedule, 0, func(e *trace.Event) { e.DeliverAt, e.ClientID = at(time.Hour), "producer-1" }),
				ev(trace.KindTimerFire, time.Hour+time.Millisecond, func(e *trace.Event) { e.DeliverAt = at(time.Hour) }),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker: &adminpb.BrokerInfo{
					DelayStatus: adminpb.DelayStatus_DELAY_STATUS_FIRED, PresetDelayTime: timestamp(at(time.Hour)),
					Operations: []*adminpb.BrokerOperation{
						{Type: "TIMER_SCHEDULE", Time: timestamp(at(0)), ClientId: "producer-1"},
						{Type: "TIMER_FIRE", Time: timestamp(at(time.Hour + time.Millisecond))},
					},
				},
			},
		},
		{
			name: "a delay message still waiting, from its state alone",
			msg:  &adminpb.Message{Type: adminpb.MessageType_MESSAGE_TYPE_DELAY, State: adminpb.MessageState_MESSAGE_STATE_SCHEDULED, DeliveryTime: timestamp(at(time.Hour))},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{DelayStatus: adminpb.DelayStatus_DELAY_STATUS_SCHEDULED, PresetDelayTime: timestamp(at(time.Hour))},
			},
		},
		{
			name: "a recalled delay message",
			evs: []trace.Event{
				ev(trace.KindTimerSchedule, 0, func(e *trace.Event) { e.DeliverAt = at(time.Hour) }),
				ev(trace.KindTimerRecall, time.Minute, nil),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker: &adminpb.BrokerInfo{
					DelayStatus: adminpb.DelayStatus_DELAY_STATUS_RECALLED, PresetDelayTime: timestamp(at(time.Hour)), RecallResult: "RECALL_OK",
					Operations: []*adminpb.BrokerOperation{{Type: "TIMER_SCHEDULE", Time: timestamp(at(0))}, {Type: "TIMER_RECALL", Time: timestamp(at(time.Minute))}},
				},
			},
		},
		{
			name: "a transaction checked, then rolled back",
			evs: []trace.Event{
				ev(trace.KindTxnHalf, 0, func(e *trace.Event) { e.Detail = "tx-1" }),
				ev(trace.KindTxnCheck, 6*time.Second, func(e *trace.Event) { e.Detail = "tx-1" }),
				ev(trace.KindTxnRollback, 7*time.Second, func(e *trace.Event) { e.Detail = "tx-1"; e.ClientID = "producer-1" }),
			},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker: &adminpb.BrokerInfo{
					TransactionStatus: adminpb.TransactionStatus_TRANSACTION_STATUS_ROLLED_BACK, TransactionId: "tx-1",
					Operations: []*adminpb.BrokerOperation{
						{Type: "TXN_HALF", Time: timestamp(at(0))},
						{Type: "TXN_CHECK", Time: timestamp(at(6 * time.Second))},
						{Type: "TXN_ROLLBACK", Time: timestamp(at(7 * time.Second)), ClientId: "producer-1"},
					},
				},
			},
		},
		{
			name: "a half message waiting for its producer",
			msg:  &adminpb.Message{Type: adminpb.MessageType_MESSAGE_TYPE_TRANSACTION, State: adminpb.MessageState_MESSAGE_STATE_HALF},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{TransactionStatus: adminpb.TransactionStatus_TRANSACTION_STATUS_UNRESOLVED},
			},
		},
		{
			name: "a committed transaction message, from its state alone",
			msg:  &adminpb.Message{Type: adminpb.MessageType_MESSAGE_TYPE_TRANSACTION, State: adminpb.MessageState_MESSAGE_STATE_STORED},
			want: &adminpb.Trace{
				Producer: &adminpb.ProducerInfo{},
				Broker:   &adminpb.BrokerInfo{TransactionStatus: adminpb.TransactionStatus_TRANSACTION_STATUS_COMMITTED},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := buildTrace("orders", "m", tc.msg, tc.evs)
			require.Equal(t, "orders", got.GetTopic())
			require.Equal(t, "m", got.GetMessageId())
			require.Same(t, tc.msg, got.Message)
			require.Len(t, got.GetEvents(), len(tc.evs))
			for i, e := range got.GetEvents() {
				require.Equal(t, tc.evs[i].Kind.String(), e.GetType())
				require.Equal(t, tc.evs[i].Group, e.GetGroup())
				require.True(t, tc.evs[i].Time.Equal(e.GetTime().AsTime()))
			}
			got.Topic, got.MessageId, got.Message, got.Events = "", "", nil, nil
			require.True(t, proto.Equal(tc.want, got), "want:\n%s\ngot:\n%s", prototext.Format(tc.want), prototext.Format(got))
		})
	}
}

func TestToTraceEvent(t *testing.T) {
	t.Parallel()
	e := toTraceEvent(trace.Event{
		Kind: trace.KindNack, Time: t0, MessageID: "m", Topic: "t", Group: "g", ClientID: "c", Host: "h", Attempt: 2,
		InvisibleUntil: at(time.Minute), DeliverAt: at(time.Hour), Cost: time.Millisecond, QueueID: 3, QueueOffset: 9, Status: "s", Detail: "d",
	})
	want := &adminpb.TraceEvent{
		Type: "NACK", Time: timestamp(t0), Group: "g", ClientId: "c", ClientHost: "h", Attempt: 2, InvisibleUntil: timestamp(at(time.Minute)),
		DeliverAt: timestamp(at(time.Hour)), Cost: durationpb.New(time.Millisecond), QueueId: 3, QueueOffset: 9, Status: "s", Detail: "d",
	}
	require.True(t, proto.Equal(want, e), "%v", e)
	require.Nil(t, toTraceEvent(trace.Event{Kind: trace.KindAck}).GetTime(), "unknown times stay unset")
}
