package proxy_test

// The client side of the official-client tests. It runs in a child process
// (the test binary re-executed, see compat_test.go) and drives the RocketMQ
// Go client v5.1.4 exactly as its example programs do, with only endpoint,
// topic, group and keys changed (and no 1 s pauses between sends).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	rmq_client "github.com/apache/rocketmq-clients/golang/v5"

	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
)

type compatParams struct {
	Endpoint  string
	Topic     string
	Topic2    string // a second topic (type mismatch)
	Group     string
	DLQReader string
	Producers int
	PerProd   int

	clientproc.FIFOParams
	// Delay: Count messages, the first due Delay after sending, each next
	// one Spread later.
	Count         int
	Delay, Spread time.Duration
}

var scenarios = map[string]func(p compatParams) error{
	"producer-normal":        producerNormal,
	"producer-async":         producerAsync,
	"producer-unknown-topic": producerUnknownTopic,
	"simple-consumer":        simpleConsumerScenario,
	"push-load":              pushLoad,
	"push-retry-dlq":         pushRetryDLQ,
	"producer-fifo":          producerFIFO,
	"producer-delay":         producerDelay,
	"producer-delay-recall":  producerDelayRecall,
	"producer-transaction":   producerTransaction,
	"type-mismatch":          typeMismatch,
}

func startProducer(p compatParams) (rmq_client.Producer, error) {
	return clientproc.StartProducer(p.Endpoint, p.Topic)
}

// producerNormal is example/producer/normal: plaintext.
func producerNormal(p compatParams) error {
	producer, err := rmq_client.NewProducer(clientproc.ExampleConfig(p.Endpoint, "", ""), rmq_client.WithTopics(p.Topic))
	if err != nil {
		return err
	}
	// Disable SSL, as the example does.
	rmq_client.EnableSsl = false
	if err := producer.Start(); err != nil {
		return err
	}
	defer producer.GracefulStop()
	var ids []string
	for i := 0; i < 10; i++ {
		resp, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, i))
		if err != nil {
			return err
		}
		for _, r := range resp {
			ids = append(ids, r.MessageID)
		}
	}
	// Over the max_body_size of the server's Settings: refused locally.
	big := clientproc.ExampleMessage(p.Topic, 0)
	big.Body = make([]byte, 4<<20+1)
	_, bigErr := producer.Send(context.TODO(), big)
	clientproc.Emit("result", map[string]any{"ids": ids, "bigRefused": bigErr != nil})
	return nil
}

// producerAsync is example/producer/async: TLS, the client's default.
func producerAsync(p compatParams) error {
	producer, err := startProducer(p)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  []string
		errs []error
	)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		producer.SendAsync(context.TODO(), clientproc.ExampleMessage(p.Topic, i), func(ctx context.Context, resp []*rmq_client.SendReceipt, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, r := range resp {
				ids = append(ids, r.MessageID)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	clientproc.Emit("result", map[string]any{"ids": ids})
	return nil
}

func producerUnknownTopic(p compatParams) error {
	producer, err := rmq_client.NewProducer(clientproc.ExampleConfig(p.Endpoint, "", ""), rmq_client.WithTopics(p.Topic))
	if err != nil {
		return err
	}
	err = producer.Start()
	if err == nil {
		return errors.New("Start succeeded for an unknown topic")
	}
	clientproc.Emit("result", map[string]any{"err": err.Error()})
	return nil
}

func newSimpleConsumer(p compatParams, group, topic string) (rmq_client.SimpleConsumer, error) {
	simpleConsumer, err := rmq_client.NewSimpleConsumer(clientproc.ExampleConfig(p.Endpoint, group, ""),
		rmq_client.WithSimpleAwaitDuration(5*time.Second),
		rmq_client.WithSimpleSubscriptionExpressions(map[string]*rmq_client.FilterExpression{
			topic: rmq_client.SUB_ALL,
		}),
	)
	if err != nil {
		return nil, err
	}
	return simpleConsumer, simpleConsumer.Start()
}

// simpleConsumerScenario is example/consumer/simple_consumer, plus the
// redelivery of a message that is not acked.
func simpleConsumerScenario(p compatParams) error {
	producer, err := startProducer(p)
	if err != nil {
		return err
	}
	defer producer.GracefulStop()
	simpleConsumer, err := newSimpleConsumer(p, p.Group, p.Topic)
	if err != nil {
		return err
	}
	defer simpleConsumer.GracefulStop()

	// Nothing there yet: MESSAGE_NOT_FOUND, within await + request timeout.
	_, emptyErr := simpleConsumer.Receive(context.TODO(), 16, 20*time.Second)

	const total = 20
	for i := 0; i < total; i++ {
		if _, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, i)); err != nil {
			return err
		}
	}
	got := map[string]bool{}
	var skipped *rmq_client.MessageView
	var firstAttempts []int32
	deadline := time.Now().Add(time.Minute)
	for len(got) < total && time.Now().Before(deadline) {
		mvs, err := simpleConsumer.Receive(context.TODO(), 16, 20*time.Second)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		for _, mv := range mvs {
			if got[mv.GetMessageId()] {
				return fmt.Errorf("message %s delivered twice before its ack", mv.GetMessageId())
			}
			got[mv.GetMessageId()] = true
			firstAttempts = append(firstAttempts, mv.GetDeliveryAttempt())
			if tag := mv.GetTag(); tag == nil || *tag != "ab" || len(mv.GetKeys()) != 2 {
				return fmt.Errorf("message %s lost its tag or keys", mv.GetMessageId())
			}
			if skipped == nil {
				skipped = mv // not acked: it must come back
				continue
			}
			if err := simpleConsumer.Ack(context.TODO(), mv); err != nil {
				return err
			}
		}
	}
	if skipped == nil {
		return errors.New("nothing received")
	}
	// Shorten its invisibility instead of waiting for the 20 s.
	if err := simpleConsumer.ChangeInvisibleDuration(skipped, time.Second); err != nil {
		return fmt.Errorf("change invisible duration: %w", err)
	}
	var again []*rmq_client.MessageView
	for len(again) == 0 && time.Now().Before(deadline) {
		mvs, err := simpleConsumer.Receive(context.TODO(), 16, 20*time.Second)
		if err != nil && !isNotFound(err) {
			return err
		}
		again = append(again, mvs...)
	}
	if len(again) != 1 {
		return fmt.Errorf("got %d redeliveries, want 1 (acked messages never come back)", len(again))
	}
	if err := simpleConsumer.Ack(context.TODO(), again[0]); err != nil {
		return err
	}
	clientproc.Emit("result", map[string]any{
		"emptyErr":      fmt.Sprint(emptyErr),
		"received":      len(got),
		"firstAttempts": firstAttempts,
		"skipped":       skipped.GetMessageId(),
		"again":         again[0].GetMessageId(),
		"againAttempt":  again[0].GetDeliveryAttempt(),
	})
	return nil
}

func isNotFound(err error) bool {
	var rpc *rmq_client.ErrRpcStatus
	return errors.As(err, &rpc) && rpc.GetCode() == 40401
}

// startClients starts a push consumer and a producer (see
// clientproc.StartClients).
func startClients(p compatParams, consume func(mv *rmq_client.MessageView) rmq_client.ConsumerResult) (rmq_client.Producer, func(), error) {
	return clientproc.StartClients(clientproc.ExampleConfig(p.Endpoint, p.Group, "xxxxxx"), p.Topic, consume) // the example's namespace
}

func startPushConsumer(p compatParams, consume func(mv *rmq_client.MessageView) rmq_client.ConsumerResult) (rmq_client.PushConsumer, error) {
	return clientproc.StartPushConsumer(clientproc.ExampleConfig(p.Endpoint, p.Group, "xxxxxx"), p.Topic, consume) // the example's namespace
}

// pushLoad: p.Producers producers send p.PerProd messages each; one push
// consumer receives them all.
func pushLoad(p compatParams) error {
	total := p.Producers * p.PerProd
	var mu sync.Mutex
	seen := map[string]int{}
	var deliveries atomic.Int64
	pushConsumer, err := startPushConsumer(p, func(mv *rmq_client.MessageView) rmq_client.ConsumerResult {
		mu.Lock()
		seen[mv.GetMessageId()]++
		mu.Unlock()
		deliveries.Add(1)
		return rmq_client.SUCCESS
	})
	if err != nil {
		return err
	}
	defer pushConsumer.GracefulStop()

	const senders = 8 // goroutines per producer
	var (
		wg      sync.WaitGroup
		sentMu  sync.Mutex
		sent    []string
		sendErr error
	)
	for i := 0; i < p.Producers; i++ {
		producer, err := startProducer(p)
		if err != nil {
			return err
		}
		defer producer.GracefulStop()
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := s; j < p.PerProd; j += senders {
					resp, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, i*p.PerProd+j))
					sentMu.Lock()
					if err != nil {
						sendErr = errors.Join(sendErr, err)
					} else {
						sent = append(sent, resp[0].MessageID)
					}
					sentMu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if sendErr != nil {
		return sendErr
	}
	if err := clientproc.Until(3*time.Minute, "all messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= total
	}); err != nil {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("%w: %d of %d distinct messages", err, len(seen), total)
	}
	clientproc.Emit("received", map[string]any{"sent": len(sent)})
	// The parent checks that the broker has every ack; meanwhile a
	// redelivery would show up here.
	clientproc.WaitParent()
	mu.Lock()
	defer mu.Unlock()
	missing, dup := 0, 0
	for _, id := range sent {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	clientproc.Emit("result", map[string]any{"sent": len(sent), "distinct": len(seen), "deliveries": deliveries.Load(), "missing": missing, "duplicated": dup})
	return nil
}

// pushRetryDLQ: every delivery fails; the message comes back with attempt 2
// after the nack backoff, then lands in %DLQ%<group>, read back with a simple
// consumer.
func pushRetryDLQ(p compatParams) error {
	var mu sync.Mutex
	var attempts []int32
	producer, stop, err := startClients(p, func(mv *rmq_client.MessageView) rmq_client.ConsumerResult {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, mv.GetDeliveryAttempt())
		return rmq_client.FAILURE
	})
	if err != nil {
		return err
	}
	defer stop()
	resp, err := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, 7))
	if err != nil {
		return err
	}

	if err := clientproc.Until(time.Minute, "a second delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) >= 2
	}); err != nil {
		return err
	}
	// The broker creates the dead-letter topic with the first dead letter,
	// after the second nack's backoff; until then the route is unknown.
	var reader rmq_client.SimpleConsumer
	var startErr error
	if err := clientproc.Until(time.Minute, "the dead-letter topic", func() bool {
		reader, startErr = newSimpleConsumer(p, p.DLQReader, "%DLQ%"+p.Group)
		return startErr == nil
	}); err != nil {
		return fmt.Errorf("start the DLQ reader: %w: %w", err, startErr)
	}
	defer reader.GracefulStop()
	var dead []*rmq_client.MessageView
	deadline := time.Now().Add(time.Minute)
	for len(dead) == 0 && time.Now().Before(deadline) {
		mvs, err := reader.Receive(context.TODO(), 16, 20*time.Second)
		if err != nil && !isNotFound(err) {
			return err
		}
		dead = append(dead, mvs...)
	}
	if len(dead) == 0 {
		return errors.New("nothing in the dead-letter queue")
	}
	if err := reader.Ack(context.TODO(), dead[0]); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	clientproc.Emit("result", map[string]any{
		"sent": resp[0].MessageID, "attempts": attempts, "dead": len(dead),
		"deadID": dead[0].GetMessageId(), "deadBody": string(dead[0].GetBody()), "deadTopic": dead[0].GetTopic(),
	})
	return nil
}

// errCode is the RocketMQ status code an error of the client carries (0:
// none, e.g. an error raised by the client itself).
func errCode(err error) int32 {
	var rpc *rmq_client.ErrRpcStatus
	if errors.As(err, &rpc) {
		return rpc.GetCode()
	}
	return 0
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fifoListener records every consumption and fails one chosen message once.
type fifoListener struct {
	failGroup, failSeq int

	mu       sync.Mutex
	events   []clientproc.FIFOEvent
	consumed map[[2]int]bool
	failed   bool
}

func newFIFOListener(failGroup, failSeq int) *fifoListener {
	return &fifoListener{failGroup: failGroup, failSeq: failSeq, consumed: map[[2]int]bool{}}
}

func (l *fifoListener) consume(mv *rmq_client.MessageView) rmq_client.ConsumerResult {
	e := clientproc.NewFIFOEvent(mv)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Group == l.failGroup && e.Seq == l.failSeq && !l.failed {
		l.failed = true
		e.OK = false
	}
	l.events = append(l.events, e)
	if !e.OK {
		return rmq_client.FAILURE
	}
	l.consumed[[2]int{e.Group, e.Seq}] = true
	return rmq_client.SUCCESS
}

func (l *fifoListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.consumed)
}

func (l *fifoListener) result(sent int, complete bool) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return map[string]any{"sent": sent, "complete": complete, "events": l.events}
}

// producerFIFO is example/producer/fifo with p.Groups message groups
// fifo-0… of p.PerGroup messages each, sent in turn, and a push consumer of
// a FIFO group (example/consumer/push_consumer) that fails one message once.
func producerFIFO(p compatParams) error {
	l := newFIFOListener(p.FailGroup, p.FailSeq)
	producer, stop, err := startClients(p, l.consume)
	if err != nil {
		return err
	}
	defer stop()
	if err := clientproc.SendFIFO(producer, p.Topic, p.Groups, p.PerGroup); err != nil {
		return err
	}
	total := p.Groups * p.PerGroup
	err = clientproc.Until(time.Minute, "every FIFO message consumed", func() bool { return l.count() >= total })
	clientproc.Emit("result", l.result(total, err == nil))
	clientproc.WaitParent()
	return nil
}

// delayRecorder is a push consumer's listener that records every delivery.
type delayRecorder struct {
	mu  sync.Mutex
	got []clientproc.DelayReceipt
}

func (r *delayRecorder) consume(mv *rmq_client.MessageView) rmq_client.ConsumerResult {
	d := clientproc.NewDelayReceipt(mv)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
	return rmq_client.SUCCESS
}

// received counts the distinct messages of ids delivered so far.
func (r *delayRecorder) received(ids ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, id := range ids {
		for _, d := range r.got {
			if d.ID == id {
				n++
				break
			}
		}
	}
	return n
}

func (r *delayRecorder) receipts() []clientproc.DelayReceipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clientproc.DelayReceipt(nil), r.got...)
}

// duplicateWindow is how long a scenario keeps listening after the last
// expected delivery, so a second delivery of a message would show.
const duplicateWindow = time.Second

// producerDelay is example/producer/delay with p.Count messages due
// p.Delay + i·p.Spread after sending (no pauses between sends), received by
// a push consumer.
func producerDelay(p compatParams) error {
	r := &delayRecorder{}
	producer, stop, err := startClients(p, r.consume)
	if err != nil {
		return err
	}
	defer stop()
	sent, err := clientproc.SendDelayed(producer, p.Topic, p.Count, p.Delay, p.Spread)
	if err != nil {
		return err
	}
	var ids []string
	for _, s := range sent {
		ids = append(ids, s.ID)
	}
	clientproc.Emit("sent", map[string]any{"sent": sent})
	err = clientproc.Until(p.Delay+time.Duration(p.Count)*p.Spread+30*time.Second, "every delay message", func() bool {
		return r.received(ids...) == len(ids)
	})
	if err == nil {
		time.Sleep(duplicateWindow) // an observation window, not a synchronization
	}
	clientproc.Emit("result", map[string]any{"sent": sent, "got": r.receipts()})
	clientproc.WaitParent()
	return nil
}

// producerDelayRecall is example/producer/delay_recall: three delay messages
// (due p.Delay after sending instead of 10 minutes, no pauses), the first one
// recalled with the handle of its send receipt. Then the recall is repeated,
// tried with a made-up handle, and tried on a message that already fired.
func producerDelayRecall(p compatParams) error {
	r := &delayRecorder{}
	producer, stop, err := startClients(p, r.consume)
	if err != nil {
		return err
	}
	defer stop()
	var ids, handles []string
	for i := 1; i <= 3; i++ {
		deliveryTime := time.Now().Add(p.Delay)
		delayMsg := &rmq_client.Message{
			Topic: p.Topic,
			Body:  []byte(fmt.Sprintf("Delay message %d - scheduled for delivery at %s", i, deliveryTime.Format("15:04:05"))),
		}
		delayMsg.SetDelayTimestamp(deliveryTime)
		receipts, err := producer.Send(context.Background(), delayMsg)
		if err != nil {
			return fmt.Errorf("send delay message %d: %w", i, err)
		}
		ids = append(ids, receipts[0].MessageID)
		handles = append(handles, receipts[0].RecallHandle)
	}
	recalled, recallErr := producer.Recall(context.Background(), p.Topic, handles[0])
	_, againErr := producer.Recall(context.Background(), p.Topic, handles[0])
	_, bogusErr := producer.Recall(context.Background(), p.Topic, "djEgbm8tc3VjaC1oYW5kbGU")
	err = clientproc.Until(p.Delay+30*time.Second, "the messages not recalled", func() bool { return r.received(ids[1:]...) == 2 })
	var firedErr error
	if err == nil {
		_, firedErr = producer.Recall(context.Background(), p.Topic, handles[1])
		// Message 1 was due before the other two: it would show by now.
		time.Sleep(duplicateWindow)
	}
	got := map[string]int{}
	for _, d := range r.receipts() {
		got[d.ID]++
	}
	clientproc.Emit("result", map[string]any{
		"ids": ids, "handles": handles, "recalled": recalled, "recallErr": errText(recallErr),
		"againErr": errText(againErr), "againCode": errCode(againErr),
		"bogusErr": errText(bogusErr), "bogusCode": errCode(bogusErr),
		"firedErr": errText(firedErr), "firedCode": errCode(firedErr), "firedTried": err == nil,
		"got": got,
	})
	clientproc.WaitParent()
	return nil
}

type txnSent struct {
	Body, Kind, ID, TxID string
	At                   time.Time // when the send returned
	EndErr               string    // of Commit or RollBack
}

type txnEvent struct {
	Body, ID string
	At       time.Time
}

// producerTransaction is example/producer/transaction (its checker answers
// COMMIT) sending six transaction messages: three committed, two rolled
// back and one left open, which only the server's orphan check can
// resolve. A push consumer receives what becomes visible.
func producerTransaction(p compatParams) error {
	var mu sync.Mutex
	var got, checked []txnEvent
	pushConsumer, err := startPushConsumer(p, func(mv *rmq_client.MessageView) rmq_client.ConsumerResult {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, txnEvent{Body: string(mv.GetBody()), ID: mv.GetMessageId(), At: time.Now()})
		return rmq_client.SUCCESS
	})
	if err != nil {
		return err
	}
	defer pushConsumer.GracefulStop()
	producer, err := rmq_client.NewProducer(clientproc.ExampleConfig(p.Endpoint, "", ""),
		rmq_client.WithTransactionChecker(&rmq_client.TransactionChecker{
			Check: func(msg *rmq_client.MessageView) rmq_client.TransactionResolution {
				mu.Lock()
				defer mu.Unlock()
				checked = append(checked, txnEvent{Body: string(msg.GetBody()), ID: msg.GetMessageId(), At: time.Now()})
				return rmq_client.COMMIT
			},
		}),
		rmq_client.WithTopics(p.Topic),
	)
	if err != nil {
		return err
	}
	if err := producer.Start(); err != nil {
		return err
	}
	defer producer.GracefulStop()

	kinds := []string{"commit", "rollback", "orphan", "commit", "rollback", "commit"}
	var sent []txnSent
	want := map[string]bool{} // bodies that must be delivered
	for i, kind := range kinds {
		msg := &rmq_client.Message{Topic: p.Topic, Body: []byte(fmt.Sprintf("%s : %d", kind, i))}
		msg.SetKeys("a", "b")
		msg.SetTag("ab")
		transaction := producer.BeginTransaction()
		resp, err := producer.SendWithTransaction(context.TODO(), msg, transaction)
		if err != nil {
			return fmt.Errorf("send %s: %w", msg.Body, err)
		}
		s := txnSent{Body: string(msg.Body), Kind: kind, ID: resp[0].MessageID, TxID: resp[0].TransactionId, At: time.Now()}
		switch kind {
		case "commit":
			s.EndErr = errText(transaction.Commit())
			want[s.Body] = true
		case "rollback":
			s.EndErr = errText(transaction.RollBack())
		case "orphan":
			want[s.Body] = true // the checker commits it
		}
		sent = append(sent, s)
	}
	lastSend := time.Now()
	err = clientproc.Until(30*time.Second, "the committed messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		seen := map[string]bool{}
		for _, g := range got {
			if want[g.Body] && !seen[g.Body] {
				seen[g.Body] = true
				n++
			}
		}
		return n == len(want)
	})
	if err == nil {
		// Rolled-back messages must stay invisible, and resolved ones
		// unchecked, for a few check intervals of the test broker (1 s).
		if wait := time.Until(lastSend.Add(3 * time.Second)); wait > 0 {
			time.Sleep(wait) // an observation window, not a synchronization
		}
	}
	mu.Lock()
	defer mu.Unlock()
	clientproc.Emit("result", map[string]any{"complete": err == nil, "sent": sent, "got": got, "checked": checked})
	clientproc.WaitParent()
	return nil
}

// typeMismatch sends a NORMAL message to a FIFO topic (p.Topic) and a FIFO
// message to a NORMAL topic (p.Topic2).
func typeMismatch(p compatParams) error {
	producer, err := rmq_client.NewProducer(clientproc.ExampleConfig(p.Endpoint, "", ""), rmq_client.WithTopics(p.Topic, p.Topic2))
	if err != nil {
		return err
	}
	if err := producer.Start(); err != nil {
		return err
	}
	defer producer.GracefulStop()
	_, normalToFIFO := producer.Send(context.TODO(), clientproc.ExampleMessage(p.Topic, 0))
	fifo := clientproc.ExampleMessage(p.Topic2, 1)
	fifo.SetMessageGroup("fifo")
	_, fifoToNormal := producer.Send(context.TODO(), fifo)
	clientproc.Emit("result", map[string]any{
		"normalToFIFO": errText(normalToFIFO), "normalToFIFOCode": errCode(normalToFIFO),
		"fifoToNormal": errText(fifoToNormal), "fifoToNormalCode": errCode(fifoToNormal),
	})
	return nil
}
