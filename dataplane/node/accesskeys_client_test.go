package node_test

// The client side of the access-key tests of accesskeys_test.go: the
// official Go client v5.1.4 with rmq.Config.Credentials set to the key under
// test, in a child process (see messagetypes_client_test.go). One child runs
// several cases in turn and reports each as an event.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

// akParams are an access-key scenario's. The node scenarios share the
// parameter type mtParams: akParams travel JSON-encoded in its Key.
type akParams struct {
	Cases []akCase
}

// akCase is one client: a producer of Topic on Endpoint with the key
// AccessKey/Secret starts and sends one message; with Receive a simple
// consumer of Group with the same key then receives and acks it.
type akCase struct {
	Name, Endpoint, Topic, Group string
	AccessKey, Secret            string
	Receive                      bool
}

// akResult is what a case reports, as event "case:<name>": the first
// error of the producer's start or of the send (StartFailed: of the start)
// and its RocketMQ status code (0: none), the message id and, with Receive,
// whether the message came back and was acked.
type akResult struct {
	StartFailed bool
	SendErr     string
	SendCode    int32
	ID          string
	RecvErr     string
	RecvCode    int32
	Received    bool
}

// akLiveResult is what scenario access-keys-live reports per case (event
// "after:<name>"): the first send refused after the parent's change, how
// many sends it took and how long after the parent said "changed".
type akLiveResult struct {
	Err      string
	Code     int32
	Attempts int
	After    time.Duration
}

func init() {
	mtScenarios["access-keys"] = func(p mtParams) error { return akRun(p, akCases) }
	mtScenarios["access-keys-live"] = func(p mtParams) error { return akRun(p, akLive) }
}

func akRun(p mtParams, run func(akParams) error) error {
	var ap akParams
	if err := json.Unmarshal([]byte(p.Key), &ap); err != nil {
		return fmt.Errorf("access-key params: %w", err)
	}
	return run(ap)
}

func akConfig(c akCase) *rmq.Config {
	return &rmq.Config{
		Endpoint:      c.Endpoint,
		ConsumerGroup: c.Group,
		Credentials:   &credentials.SessionCredentials{AccessKey: c.AccessKey, AccessSecret: c.Secret},
	}
}

// akProducer starts a producer of c.Topic as the examples do. Its start
// queries the topic's route and syncs its settings (a producer without
// initial topics never finishes starting), so a key the node does not
// accept at all is refused here, by QueryRoute; a key refused only the
// topic's PUB starts and is refused by SendMessage.
func akProducer(c akCase) (rmq.Producer, error) {
	producer, err := rmq.NewProducer(akConfig(c), rmq.WithTopics(c.Topic))
	if err != nil {
		return nil, err
	}
	if err := producer.Start(); err != nil {
		return nil, fmt.Errorf("start producer: %w", err)
	}
	return producer, nil
}

// akCode is the RocketMQ status code an error of the client carries (0:
// none, e.g. an error raised by the client itself): an ErrRpcStatus in the
// chain (errCode of the proxy's compat scenarios) or, for a producer's
// start, whose error formats the route query's ErrRpcStatus with %v, the
// code name of its text ("CODE: UNAUTHORIZED, MESSAGE: ...").
func akCode(err error) int32 {
	var rpc *rmq.ErrRpcStatus
	if errors.As(err, &rpc) {
		return rpc.GetCode()
	}
	if err != nil {
		if m := akCodeText.FindStringSubmatch(err.Error()); m != nil {
			return v2.Code_value[m[1]]
		}
	}
	return 0
}

var akCodeText = regexp.MustCompile(`CODE: ([A-Z_]+), MESSAGE:`)

func akText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func akSend(producer rmq.Producer, c akCase) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := producer.Send(ctx, clientproc.ExampleMessage(c.Topic, 0))
	if err != nil {
		return "", err
	}
	return resp[0].MessageID, nil
}

func akCases(p akParams) error {
	for _, c := range p.Cases {
		var res akResult
		producer, err := akProducer(c)
		if err != nil {
			res.StartFailed = true
		} else {
			res.ID, err = akSend(producer, c)
			producer.GracefulStop()
		}
		res.SendErr, res.SendCode = akText(err), akCode(err)
		if c.Receive && err == nil {
			res.Received, err = akReceive(c, res.ID)
			res.RecvErr, res.RecvCode = akText(err), akCode(err)
		}
		clientproc.Emit("case:"+c.Name, res)
	}
	clientproc.WaitParent()
	return nil
}

// akReceive receives with a simple consumer until the message id arrives
// and acks it.
func akReceive(c akCase, id string) (bool, error) {
	consumer, err := rmq.NewSimpleConsumer(akConfig(c),
		rmq.WithSimpleAwaitDuration(time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{c.Topic: rmq.SUB_ALL}))
	if err != nil {
		return false, err
	}
	if err := consumer.Start(); err != nil {
		return false, fmt.Errorf("start simple consumer: %w", err)
	}
	defer func() { _ = consumer.GracefulStop() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mvs, err := consumer.Receive(context.Background(), 16, 20*time.Second)
		if err != nil {
			if akCode(err) == 40401 { // MESSAGE_NOT_FOUND: nothing yet
				continue
			}
			return false, err
		}
		for _, mv := range mvs {
			if err := consumer.Ack(context.Background(), mv); err != nil {
				return false, fmt.Errorf("ack: %w", err)
			}
			if mv.GetMessageId() == id {
				return true, nil
			}
		}
	}
	return false, errors.New("message not received within 20 s")
}

// akLive starts a producer per case and sends once with each (event
// "sent:<name>"), then, after the parent says "changed" (having disabled or
// deleted keys), sends with each until a send fails, for up to 5 s
// (event "after:<name>").
func akLive(p akParams) error {
	producers := make([]rmq.Producer, len(p.Cases))
	for i, c := range p.Cases {
		producer, err := akProducer(c)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.Name, err)
		}
		defer producer.GracefulStop()
		producers[i] = producer
		id, err := akSend(producer, c)
		clientproc.Emit("sent:"+c.Name, akResult{ID: id, SendErr: akText(err), SendCode: akCode(err)})
	}
	<-clientproc.Heard("changed")
	changed := time.Now()
	for i, c := range p.Cases {
		var res akLiveResult
		for time.Since(changed) < 5*time.Second {
			res.Attempts++
			_, err := akSend(producers[i], c)
			if err != nil {
				res.Err, res.Code = err.Error(), akCode(err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		res.After = time.Since(changed)
		clientproc.Emit("after:"+c.Name, res)
	}
	clientproc.WaitParent()
	return nil
}
