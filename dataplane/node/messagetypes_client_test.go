package node_test

// The client side of the message-type tests of messagetypes_test.go: the
// official Go client v5.1.4 driven as its example programs do (only
// endpoint, topic, group and counts changed, no pauses between sends), in a
// child process because the client has data races of its own. The child is
// this test binary re-executed; init dispatches to the scenario before
// TestMain (durability_test.go) runs.

import (
	"context"
	"os"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

type mtParams struct {
	Endpoint, Topic, Group string
	// FIFO: message FailSeq of message group FailGroup fails once; after
	// GateAt messages are consumed the listener blocks until the parent
	// says "resume".
	clientproc.FIFOParams
	GateAt int
	// Delay: Count messages due Delay + i·Spread after sending.
	Count         int
	Delay, Spread time.Duration
	Key           string // trace: the message key
}

var mtScenarios = map[string]func(p mtParams) error{
	"fifo-restart":  mtFIFORestart,
	"delay-restart": mtDelay,
	"trace":         mtTrace,
}

func init() { clientproc.RunChild(mtScenarios, quietClient) }

// mtStartClients starts a push consumer and a producer (see
// clientproc.StartClients).
func mtStartClients(p mtParams, consume func(*rmq.MessageView) rmq.ConsumerResult) (rmq.Producer, func(), error) {
	return clientproc.StartClients(clientproc.ExampleConfig(p.Endpoint, p.Group, ""), p.Topic, consume)
}

// mtFIFORestart is example/producer/fifo with p.Groups message groups sent
// in turn, consumed by a FIFO push consumer that fails one message once and,
// after p.GateAt messages, holds every listener call (so messages are in
// flight) until the parent has restarted the node.
func mtFIFORestart(p mtParams) error {
	var (
		mu       sync.Mutex
		events   []clientproc.FIFOEvent
		consumed = map[[2]int]bool{}
		failed   bool
		gated    bool
	)
	consume := func(mv *rmq.MessageView) rmq.ConsumerResult {
		e := clientproc.NewFIFOEvent(mv)
		mu.Lock()
		if e.Group == p.FailGroup && e.Seq == p.FailSeq && !failed {
			failed = true
			e.OK = false
		}
		events = append(events, e)
		if e.OK {
			consumed[[2]int{e.Group, e.Seq}] = true
		}
		hold := p.GateAt > 0 && len(consumed) >= p.GateAt
		if hold && !gated {
			gated = true
			clientproc.Emit("gated", map[string]any{"consumed": len(consumed)})
		}
		mu.Unlock()
		if hold {
			<-clientproc.Heard("resume")
		}
		if !e.OK {
			return rmq.FAILURE
		}
		return rmq.SUCCESS
	}
	producer, stop, err := mtStartClients(p, consume)
	if err != nil {
		return err
	}
	defer stop()
	if err := clientproc.SendFIFO(producer, p.Topic, p.Groups, p.PerGroup); err != nil {
		return err
	}
	total := p.Groups * p.PerGroup
	err = clientproc.Until(2*time.Minute, "every FIFO message consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(consumed) >= total
	})
	mu.Lock()
	clientproc.Emit("result", map[string]any{"sent": total, "complete": err == nil, "events": events})
	mu.Unlock()
	clientproc.WaitParent()
	return nil
}

// mtDelay is example/producer/delay with p.Count messages due p.Delay +
// i·p.Spread after sending, received by a push consumer that keeps running
// while the parent restarts the node (after "sent").
func mtDelay(p mtParams) error {
	var mu sync.Mutex
	var got []clientproc.DelayReceipt
	producer, stop, err := mtStartClients(p, func(mv *rmq.MessageView) rmq.ConsumerResult {
		d := clientproc.NewDelayReceipt(mv)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return rmq.SUCCESS
	})
	if err != nil {
		return err
	}
	defer stop()
	sent, err := clientproc.SendDelayed(producer, p.Topic, p.Count, p.Delay, p.Spread)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, s := range sent {
		ids[s.ID] = true
	}
	clientproc.Emit("sent", map[string]any{"sent": sent})
	err = clientproc.Until(p.Delay+time.Duration(p.Count)*p.Spread+time.Minute, "every delay message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, d := range got {
			if ids[d.ID] {
				seen[d.ID] = true
			}
		}
		return len(seen) == len(ids)
	})
	if err == nil {
		// An observation window, not a synchronization: a second delivery
		// (a timer firing again after the restart) would show here.
		time.Sleep(1500 * time.Millisecond)
	}
	mu.Lock()
	clientproc.Emit("result", map[string]any{"sent": sent, "got": got})
	mu.Unlock()
	clientproc.WaitParent()
	return nil
}

// mtTrace sends one message with key p.Key (producer created first: client
// index 0) and consumes it with a push consumer (client index 1) whose
// listener fails the first delivery and succeeds on the second.
func mtTrace(p mtParams) error {
	producer, err := clientproc.StartProducer(p.Endpoint, p.Topic)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	var mu sync.Mutex
	var attempts []int32
	pushConsumer, err := clientproc.StartPushConsumer(clientproc.ExampleConfig(p.Endpoint, p.Group, ""), p.Topic, func(mv *rmq.MessageView) rmq.ConsumerResult {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, mv.GetDeliveryAttempt())
		if len(attempts) == 1 {
			return rmq.FAILURE
		}
		return rmq.SUCCESS
	})
	if err != nil {
		return err
	}
	defer pushConsumer.GracefulStop()
	msg := &rmq.Message{Topic: p.Topic, Body: []byte("this is a message : 0")}
	msg.SetKeys(p.Key)
	msg.SetTag("ab")
	before := time.Now()
	resp, err := producer.Send(context.TODO(), msg)
	if err != nil {
		return err
	}
	after := time.Now()
	err = clientproc.Until(time.Minute, "a second delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) >= 2
	})
	mu.Lock()
	clientproc.Emit("result", map[string]any{
		"complete": err == nil, "id": resp[0].MessageID, "pid": os.Getpid(),
		"sentAfter": before, "sentBefore": after, "attempts": attempts,
	})
	mu.Unlock()
	clientproc.WaitParent()
	return nil
}
