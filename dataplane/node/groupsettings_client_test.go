package node_test

// The client side of groupsettings_test.go: the official Go client v5.1.4
// in a child process (see messagetypes_client_test.go).

import (
	"context"
	"errors"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

func init() { mtScenarios["retry-interval-change"] = groupRetryChange }

// groupRetryChange runs a push consumer of p.Group whose listener fails the
// first delivery of every message and succeeds on the next. It sends one
// message and reports its deliveries ("before"); once the parent has
// changed the group ("changed") it sends another and reports every
// delivery ("result").
func groupRetryChange(p mtParams) error {
	var mu sync.Mutex
	var got []clientproc.DelayReceipt
	failed := map[string]bool{}
	producer, stop, err := mtStartClients(p, func(mv *rmq.MessageView) rmq.ConsumerResult {
		d := clientproc.NewDelayReceipt(mv)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		if !failed[d.ID] {
			failed[d.ID] = true
			return rmq.FAILURE
		}
		return rmq.SUCCESS
	})
	if err != nil {
		return err
	}
	defer stop()
	redelivered := func(i int) error {
		resp, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, i))
		if err != nil {
			return err
		}
		id := resp[0].MessageID
		return clientproc.Until(time.Minute, "a second delivery", func() bool {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, d := range got {
				if d.ID == id {
					n++
				}
			}
			return n >= 2
		})
	}
	report := func(event string, err error) {
		mu.Lock()
		defer mu.Unlock()
		clientproc.Emit(event, map[string]any{"complete": err == nil, "got": got})
	}
	err = redelivered(0)
	report("before", err)
	if err != nil {
		clientproc.WaitParent()
		return nil
	}
	select {
	case <-clientproc.Heard("changed"):
	case <-time.After(2 * time.Minute):
		return errors.New("the parent did not change the group")
	}
	report("result", redelivered(1))
	clientproc.WaitParent()
	return nil
}
