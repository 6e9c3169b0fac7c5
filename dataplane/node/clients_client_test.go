package node_test

// The client side of TestClientsAndSubscriptions (clients_test.go): the
// official Go client v5.1.4 in a child process (see
// messagetypes_client_test.go) runs a producer, a push consumer and a
// simple consumer of one group whose tag filters differ, all signing with
// one access key.

import (
	"encoding/json"
	"fmt"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

// clParams are the scenario's; they travel JSON-encoded in mtParams.Key.
type clParams struct {
	Endpoint, Topic, Group string
	AccessKey, Secret      string
	// PushTag and SimpleTag are the consumers' tag expressions.
	PushTag, SimpleTag string
}

func init() { mtScenarios["clients"] = clRun }

// clRun starts the producer, the push consumer and the simple consumer and
// reports "started"; when the parent says "stop-simple" it stops the simple
// consumer gracefully (NotifyClientTermination) and reports "stopped"; the
// rest run until the parent kills the child.
func clRun(mp mtParams) error {
	var p clParams
	if err := json.Unmarshal([]byte(mp.Key), &p); err != nil {
		return fmt.Errorf("clients params: %w", err)
	}
	cfg := func() *rmq.Config {
		return &rmq.Config{Endpoint: p.Endpoint, ConsumerGroup: p.Group,
			Credentials: &credentials.SessionCredentials{AccessKey: p.AccessKey, AccessSecret: p.Secret}}
	}
	producer, err := rmq.NewProducer(cfg(), rmq.WithTopics(p.Topic))
	if err != nil {
		return err
	}
	if err := producer.Start(); err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	push, err := rmq.NewPushConsumer(cfg(),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{p.Topic: rmq.NewFilterExpression(p.PushTag)}),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: func(*rmq.MessageView) rmq.ConsumerResult { return rmq.SUCCESS }}))
	if err != nil {
		return err
	}
	if err := push.Start(); err != nil {
		return fmt.Errorf("start push consumer: %w", err)
	}
	simple, err := rmq.NewSimpleConsumer(cfg(),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{p.Topic: rmq.NewFilterExpression(p.SimpleTag)}))
	if err != nil {
		return err
	}
	if err := simple.Start(); err != nil {
		return fmt.Errorf("start simple consumer: %w", err)
	}
	clientproc.Emit("started", struct{}{})
	<-clientproc.Heard("stop-simple")
	if err := simple.GracefulStop(); err != nil {
		return fmt.Errorf("stop simple consumer: %w", err)
	}
	clientproc.Emit("stopped", struct{}{})
	clientproc.WaitParent()
	return nil
}
