// Package bench drives a node with the official RocketMQ 5 Go client and
// measures send throughput, send latency and end-to-end latency. It is what
// `orbit bench` runs; the node under test can be anywhere.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

// sentAtProperty carries the send time so consumers can measure end-to-end
// latency; seqProperty numbers the messages of one FIFO message group so
// consumers can check their order.
const (
	sentAtProperty = "orbit-bench-sent-at"
	seqProperty    = "orbit-bench-seq"
)

// Message types a run can send.
const (
	TypeNormal = "normal"
	TypeFIFO   = "fifo"  // with MessageGroups message groups; consumers check per-group order
	TypeDelay  = "delay" // due Delay after sending; consumers measure firing lateness
)

// Config describes one run.
type Config struct {
	Endpoint   string
	Topic      string
	Group      string // consumer group; required when Consumers > 0
	AccessKey  string
	SecretKey  string
	TLS        bool
	Size       int // message body bytes
	Producers  int // concurrent senders (each sends synchronously, one message in flight); 0: receive only
	Consumers  int // push consumer clients
	Duration   time.Duration
	Progress   io.Writer     // one line per interval; nil: none
	Interval   time.Duration // progress interval (1 s)
	DrainLimit time.Duration // how long to wait for consumers to catch up after sending (10 s, plus Delay)

	Type          string        // TypeNormal (default), TypeFIFO or TypeDelay
	MessageGroups int           // FIFO: message groups, at least Producers (each sender owns its groups)
	Delay         time.Duration // DELAY: how far ahead each message is due
	Messages      int64         // stop after this many sends (0: run for Duration); receive only: this many receives
}

// Report is the outcome of a run.
type Report struct {
	Sent, SendErrors, Received int64
	// FirstSendError is the first failed send's error, as the client
	// reported it (the server's code and message).
	FirstSendError          string        `json:",omitempty"`
	Elapsed                 time.Duration // sending phase
	SendRate, ReceiveRate   float64       // messages per second
	SendLatency, E2ELatency Percentiles

	// Lateness (DELAY): receive time minus due time of each message.
	Lateness Percentiles `json:",omitzero"`
	// Early (DELAY): messages received before they were due; must be 0.
	Early int64 `json:",omitempty"`
	// OrderViolations (FIFO): messages received before an earlier message
	// of their group had been; must be 0. Redeliveries are not violations.
	OrderViolations int64 `json:",omitempty"`
}

// Percentiles of a latency distribution.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
	Count              int
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: d[len(d)-1], Count: len(d)}
}

func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", round(p.P50), round(p.P90), round(p.P99), round(p.Max), p.Count)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Run sends for cfg.Duration with cfg.Producers concurrent senders while
// cfg.Consumers push consumers receive, then waits for the consumers to drain.
// With no producers it only receives: until cfg.Messages arrived, or for at
// most the drain limit (what a group has in backlog, e.g. after an offset
// reset).
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Size <= 0 || cfg.Producers < 0 || cfg.Duration <= 0 || cfg.Endpoint == "" || cfg.Topic == "" {
		return Report{}, errors.New("bench: endpoint, topic, size, producers and duration are required")
	}
	receiveOnly := cfg.Producers == 0
	if receiveOnly && (cfg.Consumers <= 0 || cfg.Messages <= 0) {
		return Report{}, errors.New("bench: without producers, consumers and a number of messages to receive are required")
	}
	if cfg.Consumers > 0 && cfg.Group == "" {
		return Report{}, errors.New("bench: consumers need a group")
	}
	switch cfg.Type {
	case "", TypeNormal:
		cfg.Type = TypeNormal
	case TypeFIFO:
		if cfg.MessageGroups < cfg.Producers {
			return Report{}, fmt.Errorf("bench: %d message groups for %d producers: each producer needs a group of its own", cfg.MessageGroups, cfg.Producers)
		}
	case TypeDelay:
		if cfg.Delay <= 0 {
			return Report{}, errors.New("bench: delay messages need a positive delay")
		}
	default:
		return Report{}, fmt.Errorf("bench: unknown message type %q (normal, fifo or delay)", cfg.Type)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.DrainLimit <= 0 {
		cfg.DrainLimit = 10*time.Second + cfg.Delay
	}
	clientCfg := func(group string) *rmq.Config {
		return &rmq.Config{
			Endpoint:      cfg.Endpoint,
			ConsumerGroup: group,
			Credentials:   &credentials.SessionCredentials{AccessKey: cfg.AccessKey, AccessSecret: cfg.SecretKey},
		}
	}
	// The client reads this switch from the environment; the bench sets it for the process.
	setTLS(cfg.TLS)

	var received atomic.Int64
	var e2eMu sync.Mutex
	var e2e, late []time.Duration
	var early atomic.Int64
	order := newOrderCheck()
	var consumers []rmq.PushConsumer
	// A push consumer's graceful stop waits out its long polls (up to ~20 s);
	// the figures are final by then, so stopping is bounded, not awaited.
	defer stopAll(func(yield func(func() error) bool) {
		for _, c := range consumers {
			if !yield(c.GracefulStop) {
				return
			}
		}
	})
	for range cfg.Consumers {
		c, err := rmq.NewPushConsumer(clientCfg(cfg.Group),
			rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{cfg.Topic: rmq.SUB_ALL}),
			rmq.WithPushConsumptionThreadCount(20),
			rmq.WithPushMaxCacheMessageCount(1024),
			rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: func(mv *rmq.MessageView) rmq.ConsumerResult {
				now := time.Now()
				if ns, err := strconv.ParseInt(mv.GetProperties()[sentAtProperty], 10, 64); err == nil {
					e2eMu.Lock()
					e2e = append(e2e, now.Sub(time.Unix(0, ns)))
					if due := mv.GetDeliveryTimestamp(); cfg.Type == TypeDelay && due != nil {
						if now.Before(*due) {
							early.Add(1)
						}
						late = append(late, now.Sub(*due))
					}
					e2eMu.Unlock()
				}
				if g := mv.GetMessageGroup(); g != nil {
					order.see(*g, mv.GetProperties()[seqProperty])
				}
				received.Add(1)
				return rmq.SUCCESS
			}}),
		)
		if err != nil {
			return Report{}, fmt.Errorf("create consumer: %w", err)
		}
		if err := c.Start(); err != nil {
			return Report{}, fmt.Errorf("start consumer: %w", err)
		}
		consumers = append(consumers, c)
	}

	// One producer client per 8 senders keeps connections and telemetry
	// streams realistic without a client per goroutine.
	nClients := (cfg.Producers + 7) / 8
	producers := make([]rmq.Producer, 0, nClients)
	defer stopAll(func(yield func(func() error) bool) {
		for _, p := range producers {
			if !yield(p.GracefulStop) {
				return
			}
		}
	})
	for range nClients {
		p, err := rmq.NewProducer(clientCfg(""), rmq.WithTopics(cfg.Topic))
		if err != nil {
			return Report{}, fmt.Errorf("create producer: %w", err)
		}
		if err := p.Start(); err != nil {
			return Report{}, fmt.Errorf("start producer: %w", err)
		}
		producers = append(producers, p)
	}

	body := make([]byte, cfg.Size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	var sent, sendErrs atomic.Int64
	var firstErr atomic.Pointer[string]
	lat := make([][]time.Duration, cfg.Producers)
	sendCtx, stopSending := context.WithTimeout(ctx, cfg.Duration)
	defer stopSending()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Producers {
		wg.Go(func() {
			p := producers[i%len(producers)]
			groups := make([]int64, 0, cfg.MessageGroups/cfg.Producers+1) // next seq of each group this sender owns
			for g := i; cfg.Type == TypeFIFO && g < cfg.MessageGroups; g += cfg.Producers {
				groups = append(groups, 0)
			}
			for n := 0; sendCtx.Err() == nil; n++ {
				if cfg.Messages > 0 && sent.Add(1) > cfg.Messages {
					sent.Add(-1)
					break
				}
				msg := &rmq.Message{Topic: cfg.Topic, Body: body}
				t0 := time.Now()
				msg.AddProperty(sentAtProperty, strconv.FormatInt(t0.UnixNano(), 10))
				switch cfg.Type {
				case TypeFIFO:
					k := n % len(groups)
					msg.SetMessageGroup("g" + strconv.Itoa(i+k*cfg.Producers))
					msg.AddProperty(seqProperty, strconv.FormatInt(groups[k], 10))
					groups[k]++ // a failed send leaves a gap, which the check tolerates
				case TypeDelay:
					msg.SetDelayTimestamp(t0.Add(cfg.Delay))
				}
				// The send itself is not cut short by the end of the run.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(sendCtx), 10*time.Second)
				_, err := p.Send(rctx, msg)
				cancel()
				if err != nil {
					if cfg.Messages > 0 {
						sent.Add(-1)
					}
					sendErrs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
				if cfg.Messages == 0 {
					sent.Add(1)
				}
			}
		})
	}
	progressDone := make(chan struct{})
	go reportProgress(cfg, &sent, &received, progressDone)
	wg.Wait()
	elapsed := time.Since(start)

	// Let consumers catch up with what was sent.
	if cfg.Consumers > 0 {
		want := func() int64 { return sent.Load() }
		if receiveOnly {
			want = func() int64 { return cfg.Messages }
		}
		deadline := time.NewTimer(cfg.DrainLimit)
		tick := time.NewTicker(50 * time.Millisecond)
	drain:
		for received.Load() < want() {
			select {
			case <-tick.C:
			case <-deadline.C:
				break drain
			case <-ctx.Done():
				break drain
			}
		}
		tick.Stop()
		deadline.Stop()
	}
	close(progressDone)
	recvElapsed := time.Since(start)

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	e2eMu.Lock()
	e2eCopy, lateCopy := slices.Clone(e2e), slices.Clone(late)
	e2eMu.Unlock()
	r := Report{
		Sent: sent.Load(), SendErrors: sendErrs.Load(), Received: received.Load(), Elapsed: elapsed,
		SendRate:    float64(sent.Load()) / elapsed.Seconds(),
		SendLatency: percentiles(all), E2ELatency: percentiles(e2eCopy),
		Lateness: percentiles(lateCopy), Early: early.Load(), OrderViolations: order.violations(),
	}
	if cfg.Consumers > 0 {
		r.ReceiveRate = float64(r.Received) / recvElapsed.Seconds()
	}
	if e := firstErr.Load(); e != nil {
		r.FirstSendError = *e
	}
	return r, nil
}

// orderCheck follows, per message group, the highest sequence number seen
// in a row from 0. A message whose predecessor has not been seen yet is an
// order violation unless its predecessor's send failed (then the gap never
// fills; the check cannot tell, so producers report send errors apart).
type orderCheck struct {
	mu     sync.Mutex
	next   map[string]int64 // the sequence expected next
	broken atomic.Int64
}

func newOrderCheck() *orderCheck { return &orderCheck{next: make(map[string]int64)} }

func (o *orderCheck) see(group, seqText string) {
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch want := o.next[group]; {
	case seq == want:
		o.next[group] = seq + 1
	case seq > want:
		o.broken.Add(1)
		o.next[group] = seq + 1
	}
	// seq < want: a redelivery of something already seen, not a violation.
}

func (o *orderCheck) violations() int64 { return o.broken.Load() }

func reportProgress(cfg Config, sent, received *atomic.Int64, done <-chan struct{}) {
	if cfg.Progress == nil {
		return
	}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	var lastSent, lastRecv int64
	for i := 1; ; i++ {
		select {
		case <-done:
			return
		case <-t.C:
			s, r := sent.Load(), received.Load()
			fmt.Fprintf(cfg.Progress, "[%3ds] sent %d (%.0f/s)  received %d (%.0f/s)\n", i*int(cfg.Interval/time.Second),
				s, float64(s-lastSent)/cfg.Interval.Seconds(), r, float64(r-lastRecv)/cfg.Interval.Seconds())
			lastSent, lastRecv = s, r
		}
	}
}

// stopAll runs the stop functions concurrently and waits for them at most a
// few seconds.
func stopAll(stops iter.Seq[func() error]) {
	var wg sync.WaitGroup
	for stop := range stops {
		wg.Go(func() { _ = stop() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}
