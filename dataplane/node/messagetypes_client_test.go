package node_test

// The client side of the message-type tests of messagetypes_test.go: the
// official Go client v5.1.4 driven as its example programs do (only
// endpoint, topic, group and counts changed, no pauses between sends), in a
// child process because the client has data races of its own. The child is
// this test binary re-executed; init dispatches to the scenario before
// TestMain (durability_test.go) runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

const (
	mtScenarioEnv = "ORBIT_MSGTYPES_SCENARIO"
	mtParamsEnv   = "ORBIT_MSGTYPES_PARAMS"
)

type mtParams struct {
	Endpoint, Topic, Group string
	// FIFO: Groups message groups of PerGroup messages; message FailSeq of
	// group FailGroup fails once; after GateAt messages are consumed the
	// listener blocks until the parent says "resume".
	Groups, PerGroup, FailGroup, FailSeq, GateAt int
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

func init() {
	name := os.Getenv(mtScenarioEnv)
	if name == "" {
		return
	}
	os.Exit(mtRunScenario(name))
}

func mtRunScenario(name string) int {
	var p mtParams
	if err := json.Unmarshal([]byte(os.Getenv(mtParamsEnv)), &p); err != nil {
		fmt.Fprintln(os.Stderr, "bad params:", err)
		return 2
	}
	run, ok := mtScenarios[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown scenario", name)
		return 2
	}
	quietClient()
	go mtReadParent()
	if err := run(p); err != nil {
		fmt.Fprintf(os.Stderr, "scenario %s: %v\n", name, err)
		return 1
	}
	return 0
}

var (
	mtResume    = make(chan struct{}) // closed when the parent writes "resume"
	mtParentEOF = make(chan struct{}) // closed when the parent closes stdin
)

func mtReadParent() {
	sc := bufio.NewScanner(os.Stdin)
	resumed := false
	for sc.Scan() {
		if sc.Text() == "resume" && !resumed {
			resumed = true
			close(mtResume)
		}
	}
	close(mtParentEOF)
}

// mtEmit reports an event to the parent.
func mtEmit(event string, v any) {
	b, _ := json.Marshal(v)
	fmt.Printf("msgtypes:%s %s\n", event, b)
}

func mtUntil(d time.Duration, cond func() bool) error {
	timeout := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-timeout:
			return errors.New("timed out")
		case <-tick.C:
		}
	}
	return nil
}

func mtConfig(endpoint, group string) *rmq.Config {
	return &rmq.Config{
		Endpoint:      endpoint,
		ConsumerGroup: group,
		Credentials:   &credentials.SessionCredentials{AccessKey: "xxxxxx", AccessSecret: "xxxxxx"},
	}
}

func mtStartProducer(p mtParams) (rmq.Producer, error) {
	producer, err := rmq.NewProducer(mtConfig(p.Endpoint, ""), rmq.WithTopics(p.Topic))
	if err != nil {
		return nil, err
	}
	return producer, producer.Start()
}

// mtStartPushConsumer is example/consumer/push_consumer's setup.
func mtStartPushConsumer(p mtParams, consume func(*rmq.MessageView) rmq.ConsumerResult) (rmq.PushConsumer, error) {
	c, err := rmq.NewPushConsumer(mtConfig(p.Endpoint, p.Group),
		rmq.WithPushAwaitDuration(5*time.Second),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{p.Topic: rmq.SUB_ALL}),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: consume}),
		rmq.WithPushConsumptionThreadCount(20),
		rmq.WithPushMaxCacheMessageCount(1024),
	)
	if err != nil {
		return nil, err
	}
	return c, c.Start()
}

func mtExampleMessage(topic string, i int) *rmq.Message {
	msg := &rmq.Message{Topic: topic, Body: []byte("this is a message : " + strconv.Itoa(i))}
	msg.SetKeys("a", "b")
	msg.SetTag("ab")
	return msg
}

// fifoEvent is one call of the FIFO listener, in call order.
type fifoEvent struct {
	Group, Seq int // message group fifo-<Group>, its message Seq
	ID         string
	Attempt    int32
	OK         bool      // the listener returned SUCCESS
	At         time.Time // when the listener was called
}

// mtFIFORestart is example/producer/fifo with p.Groups message groups sent
// in turn, consumed by a FIFO push consumer that fails one message once and,
// after p.GateAt messages, holds every listener call (so messages are in
// flight) until the parent has restarted the node.
func mtFIFORestart(p mtParams) error {
	var (
		mu       sync.Mutex
		events   []fifoEvent
		consumed = map[[2]int]bool{}
		failed   bool
		gated    bool
	)
	consume := func(mv *rmq.MessageView) rmq.ConsumerResult {
		e := fifoEvent{Group: -1, Seq: -1, ID: mv.GetMessageId(), Attempt: mv.GetDeliveryAttempt(), OK: true, At: time.Now()}
		if g := mv.GetMessageGroup(); g != nil {
			_, _ = fmt.Sscanf(*g, "fifo-%d", &e.Group)
		}
		_, _ = fmt.Sscanf(string(mv.GetBody()), "this is a message : %d", &e.Seq)
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
			mtEmit("gated", map[string]any{"consumed": len(consumed)})
		}
		mu.Unlock()
		if hold {
			<-mtResume
		}
		if !e.OK {
			return rmq.FAILURE
		}
		return rmq.SUCCESS
	}
	pushConsumer, err := mtStartPushConsumer(p, consume)
	if err != nil {
		return err
	}
	defer pushConsumer.GracefulStop()
	producer, err := mtStartProducer(p)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	for i := 0; i < p.PerGroup; i++ {
		for g := 0; g < p.Groups; g++ {
			msg := mtExampleMessage(p.Topic, i)
			msg.SetMessageGroup(fmt.Sprintf("fifo-%d", g))
			if _, err := producer.Send(context.TODO(), msg); err != nil {
				return fmt.Errorf("send message %d of fifo-%d: %w", i, g, err)
			}
		}
	}
	total := p.Groups * p.PerGroup
	err = mtUntil(2*time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(consumed) >= total
	})
	mu.Lock()
	mtEmit("result", map[string]any{"sent": total, "complete": err == nil, "events": events})
	mu.Unlock()
	<-mtParentEOF
	return nil
}

type delaySent struct {
	ID           string
	Due          time.Time // the delivery timestamp the producer set
	RecallHandle string
}

type delayReceipt struct {
	ID      string
	Got     time.Time // when the listener was called
	Stamp   time.Time // the delivery timestamp the message carries
	Attempt int32
}

// mtDelay is example/producer/delay with p.Count messages due p.Delay +
// i·p.Spread after sending, received by a push consumer that keeps running
// while the parent restarts the node (after "sent").
func mtDelay(p mtParams) error {
	var mu sync.Mutex
	var got []delayReceipt
	pushConsumer, err := mtStartPushConsumer(p, func(mv *rmq.MessageView) rmq.ConsumerResult {
		d := delayReceipt{ID: mv.GetMessageId(), Got: time.Now(), Attempt: mv.GetDeliveryAttempt()}
		if ts := mv.GetDeliveryTimestamp(); ts != nil {
			d.Stamp = *ts
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return rmq.SUCCESS
	})
	if err != nil {
		return err
	}
	defer pushConsumer.GracefulStop()
	producer, err := mtStartProducer(p)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	var sent []delaySent
	ids := map[string]bool{}
	for i := 0; i < p.Count; i++ {
		msg := mtExampleMessage(p.Topic, i)
		due := time.Now().Add(p.Delay + time.Duration(i)*p.Spread)
		msg.SetDelayTimestamp(due)
		resp, err := producer.Send(context.TODO(), msg)
		if err != nil {
			return fmt.Errorf("send delay message %d: %w", i, err)
		}
		sent = append(sent, delaySent{ID: resp[0].MessageID, Due: due, RecallHandle: resp[0].RecallHandle})
		ids[resp[0].MessageID] = true
	}
	mtEmit("sent", map[string]any{"sent": sent})
	err = mtUntil(p.Delay+time.Duration(p.Count)*p.Spread+time.Minute, func() bool {
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
	mtEmit("result", map[string]any{"sent": sent, "got": got})
	mu.Unlock()
	<-mtParentEOF
	return nil
}

// mtTrace sends one message with key p.Key (producer created first: client
// index 0) and consumes it with a push consumer (client index 1) whose
// listener fails the first delivery and succeeds on the second.
func mtTrace(p mtParams) error {
	producer, err := mtStartProducer(p)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	var mu sync.Mutex
	var attempts []int32
	pushConsumer, err := mtStartPushConsumer(p, func(mv *rmq.MessageView) rmq.ConsumerResult {
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
	err = mtUntil(time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) >= 2
	})
	mu.Lock()
	mtEmit("result", map[string]any{
		"complete": err == nil, "id": resp[0].MessageID, "pid": os.Getpid(),
		"sentAfter": before, "sentBefore": after, "attempts": attempts,
	})
	mu.Unlock()
	<-mtParentEOF
	return nil
}
