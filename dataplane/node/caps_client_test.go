package node_test

// The client side of the cap tests of caps_test.go: the official Go client
// v5.1.4 in a child process (see messagetypes_client_test.go).

import (
	"context"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

// capSendResult is what scenario send-cap reports: the ids of the sends
// that succeeded and the status code (0: none) and text of each that
// failed after the client's own retries.
type capSendResult struct {
	IDs      []string
	Codes    []int32
	Errors   []string
	Duration time.Duration
}

func init() {
	mtScenarios["send-cap"] = capSend
	mtScenarios["retry-interval"] = capRetry
}

// capSend starts a producer of p.Topic as the examples do and sends
// p.Count messages one after the other, without pauses.
func capSend(p mtParams) error {
	producer, err := clientproc.StartProducer(p.Endpoint, p.Topic)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	var res capSendResult
	start := time.Now()
	for i := range p.Count {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := producer.Send(ctx, clientproc.ExampleMessage(p.Topic, i))
		cancel()
		if err != nil {
			res.Codes = append(res.Codes, akCode(err))
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		res.IDs = append(res.IDs, resp[0].MessageID)
	}
	res.Duration = time.Since(start)
	clientproc.Emit("result", res)
	clientproc.WaitParent()
	return nil
}

// capRetry sends one message to p.Topic and consumes it with a push
// consumer of p.Group whose listener fails the first delivery and succeeds
// on the next; it reports every listener call.
func capRetry(p mtParams) error {
	var mu sync.Mutex
	var got []clientproc.DelayReceipt
	producer, stop, err := mtStartClients(p, func(mv *rmq.MessageView) rmq.ConsumerResult {
		d := clientproc.NewDelayReceipt(mv)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		if len(got) == 1 {
			return rmq.FAILURE
		}
		return rmq.SUCCESS
	})
	if err != nil {
		return err
	}
	defer stop()
	if _, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, 0)); err != nil {
		return err
	}
	err = clientproc.Until(time.Minute, "a second delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	clientproc.Emit("result", map[string]any{"complete": err == nil, "got": got})
	mu.Unlock()
	clientproc.WaitParent()
	return nil
}
