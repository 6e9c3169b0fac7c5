package clientproc

import (
	"context"
	"fmt"
	"strconv"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

// The client side's building blocks, as the client's example programs have
// them (only endpoint, topic, group and keys changed, no pauses).

// ExampleConfig is the examples' client configuration; the credentials are
// any strings (authentication is off).
func ExampleConfig(endpoint, group, namespace string) *rmq.Config {
	return &rmq.Config{
		Endpoint:      endpoint,
		ConsumerGroup: group,
		Credentials: &credentials.SessionCredentials{
			AccessKey:    "xxxxxx",
			AccessSecret: "xxxxxx",
		},
		NameSpace: namespace,
	}
}

// ExampleMessage is the examples' message i, with keys and a tag.
func ExampleMessage(topic string, i int) *rmq.Message {
	msg := &rmq.Message{
		Topic: topic,
		Body:  []byte("this is a message : " + strconv.Itoa(i)),
	}
	msg.SetKeys("a", "b")
	msg.SetTag("ab")
	return msg
}

// StartProducer starts an example producer of topic.
func StartProducer(endpoint, topic string) (rmq.Producer, error) {
	producer, err := rmq.NewProducer(ExampleConfig(endpoint, "", ""), rmq.WithTopics(topic))
	if err != nil {
		return nil, err
	}
	return producer, producer.Start()
}

// StartPushConsumer is example/consumer/push_consumer's setup.
func StartPushConsumer(cfg *rmq.Config, topic string, consume func(*rmq.MessageView) rmq.ConsumerResult) (rmq.PushConsumer, error) {
	pushConsumer, err := rmq.NewPushConsumer(cfg,
		rmq.WithPushAwaitDuration(5*time.Second),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{
			topic: rmq.SUB_ALL,
		}),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: consume}),
		rmq.WithPushConsumptionThreadCount(20),
		rmq.WithPushMaxCacheMessageCount(1024),
	)
	if err != nil {
		return nil, err
	}
	return pushConsumer, pushConsumer.Start()
}

// SendFIFO is example/producer/fifo with groups message groups fifo-0… of
// perGroup messages each, sent in turn.
func SendFIFO(producer rmq.Producer, topic string, groups, perGroup int) error {
	for i := 0; i < perGroup; i++ {
		for g := 0; g < groups; g++ {
			msg := ExampleMessage(topic, i)
			msg.SetMessageGroup(fmt.Sprintf("fifo-%d", g))
			if _, err := producer.Send(context.TODO(), msg); err != nil {
				return fmt.Errorf("send message %d of fifo-%d: %w", i, g, err)
			}
		}
	}
	return nil
}

// FIFOEvent is one call of a FIFO consumer's listener; events are kept in
// call order.
type FIFOEvent struct {
	Group, Seq int // message group fifo-<Group>, message Seq of it
	ID         string
	Attempt    int32
	OK         bool      // the listener returned SUCCESS
	At         time.Time // when the listener was called
}

// NewFIFOEvent is the call of a FIFO listener with mv, as a success.
func NewFIFOEvent(mv *rmq.MessageView) FIFOEvent {
	e := FIFOEvent{Group: -1, Seq: -1, ID: mv.GetMessageId(), Attempt: mv.GetDeliveryAttempt(), OK: true, At: time.Now()}
	if g := mv.GetMessageGroup(); g != nil {
		_, _ = fmt.Sscanf(*g, "fifo-%d", &e.Group)
	}
	_, _ = fmt.Sscanf(string(mv.GetBody()), "this is a message : %d", &e.Seq)
	return e
}

// DelaySent is a delay message as sent; DelayReceipt one delivery of it.
type DelaySent struct {
	ID           string
	Due          time.Time // the delivery timestamp the producer set
	RecallHandle string
}

type DelayReceipt struct {
	ID      string
	Got     time.Time // when the listener was called
	Stamp   time.Time // the delivery timestamp the message carries
	Attempt int32
}

// NewDelayReceipt is a delivery of mv, now.
func NewDelayReceipt(mv *rmq.MessageView) DelayReceipt {
	d := DelayReceipt{ID: mv.GetMessageId(), Got: time.Now(), Attempt: mv.GetDeliveryAttempt()}
	if ts := mv.GetDeliveryTimestamp(); ts != nil {
		d.Stamp = *ts
	}
	return d
}

// SendDelayed is example/producer/delay with count messages due
// delay + i·spread after sending (no pauses between sends).
func SendDelayed(producer rmq.Producer, topic string, count int, delay, spread time.Duration) ([]DelaySent, error) {
	var sent []DelaySent
	for i := 0; i < count; i++ {
		msg := ExampleMessage(topic, i)
		due := time.Now().Add(delay + time.Duration(i)*spread)
		msg.SetDelayTimestamp(due)
		resp, err := producer.Send(context.TODO(), msg)
		if err != nil {
			return nil, fmt.Errorf("send delay message %d: %w", i, err)
		}
		sent = append(sent, DelaySent{ID: resp[0].MessageID, Due: due, RecallHandle: resp[0].RecallHandle})
	}
	return sent, nil
}

// StartClients starts a push consumer of topic (cfg, consume) and then a
// producer of topic; stop stops both gracefully, the producer first.
func StartClients(cfg *rmq.Config, topic string, consume func(*rmq.MessageView) rmq.ConsumerResult) (producer rmq.Producer, stop func(), err error) {
	pushConsumer, err := StartPushConsumer(cfg, topic, consume)
	if err != nil {
		return nil, nil, err
	}
	producer, err = StartProducer(cfg.Endpoint, topic)
	if err != nil {
		pushConsumer.GracefulStop()
		return nil, nil, err
	}
	return producer, func() {
		producer.GracefulStop()
		pushConsumer.GracefulStop()
	}, nil
}
