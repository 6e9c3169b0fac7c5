package broker

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbitmq/orbit/dataplane/broker/park"
)

// metrics is nil when Config.Metrics is nil; every method is nil-safe so call
// sites need no checks.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector

	msgsIn, bytesIn *prometheus.CounterVec // by topic
	out, acks       *prometheus.CounterVec // by group, topic
	redeliveries    *prometheus.CounterVec
	dlq             *prometheus.CounterVec
	firstLatency    prometheus.Histogram
	timerLateness   *prometheus.HistogramVec // by topic
	txns            *prometheus.CounterVec   // by topic, outcome
}

const ns = "orbit_broker"

func newMetrics(reg prometheus.Registerer, b *Broker) (*metrics, error) {
	gt := []string{"group", "topic"}
	m := &metrics{
		reg: reg,
		msgsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_in_total",
			Help: "Messages stored by Send."}, []string{"topic"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_in_total",
			Help: "Body bytes stored by Send."}, []string{"topic"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_out_total",
			Help: "Deliveries made by Receive, redeliveries included."}, gt),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "acks_total",
			Help: "Deliveries acknowledged."}, gt),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "redeliveries_total",
			Help: "Deliveries with attempt > 1 (invisible time ran out or was changed)."}, gt),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "dead_letters_total",
			Help: "Messages moved to a %DLQ% topic."}, gt),
		firstLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "first_delivery_latency_seconds",
			Help:    "Time from store to first delivery.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		// Labelled by topic so that, like the other per-topic series, they
		// appear only once a topic has scheduled or transactional traffic.
		timerLateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "timer_fire_lateness_seconds",
			Help:    "How long after its delivery time a scheduled message entered its topic.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}, []string{"topic"}),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "transactions_resolved_total",
			Help: "Transactions resolved, by outcome: commit, rollback, check_rollback (no decision after the last orphan check)."},
			[]string{"topic", "outcome"}),
	}
	m.collectors = []prometheus.Collector{m.msgsIn, m.bytesIn, m.out, m.acks, m.redeliveries, m.dlq, m.firstLatency,
		m.timerLateness, m.txns, depthCollector{b}, parkCollector{b}}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("register broker metrics: already registered (close the previous broker first)")
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

func (m *metrics) sent(topic string, n, bytes int) {
	if m == nil {
		return
	}
	m.msgsIn.WithLabelValues(topic).Add(float64(n))
	m.bytesIn.WithLabelValues(topic).Add(float64(bytes))
}

func (m *metrics) delivered(group, topic string) {
	if m != nil {
		m.out.WithLabelValues(group, topic).Inc()
	}
}

func (m *metrics) acked(group, topic string) {
	if m != nil {
		m.acks.WithLabelValues(group, topic).Inc()
	}
}

func (m *metrics) redelivered(group, topic string) {
	if m != nil {
		m.redeliveries.WithLabelValues(group, topic).Inc()
	}
}

func (m *metrics) deadLettered(group, topic string) {
	if m != nil {
		m.dlq.WithLabelValues(group, topic).Inc()
	}
}

func (m *metrics) timerFired(topic string, lateness time.Duration) {
	if m != nil {
		m.timerLateness.WithLabelValues(topic).Observe(max(lateness, 0).Seconds())
	}
}

func (m *metrics) txnResolved(topic, outcome string) {
	if m != nil {
		m.txns.WithLabelValues(topic, outcome).Inc()
	}
}

func (m *metrics) firstDelivery(d time.Duration) {
	if m != nil && d >= 0 {
		m.firstLatency.Observe(d.Seconds())
	}
}

// depthCollector computes consumer lag and in-flight counts at scrape time
// from the same state Offsets reads, so there is nothing to keep in sync.
type depthCollector struct{ b *Broker }

var (
	lagDesc = prometheus.NewDesc(ns+"_consumer_lag_messages",
		"Messages stored but not yet acked by the group (sum over queues).", []string{"group", "topic"}, nil)
	inflightDesc = prometheus.NewDesc(ns+"_inflight_messages",
		"Messages delivered to the group and not yet acked.", []string{"group", "topic"}, nil)
)

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- inflightDesc
}

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	b.mu.RLock()
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.RUnlock()
	for _, s := range subs {
		var lag int64
		var inflight int
		queues, _ := s.snapshot()
		for _, q := range queues {
			o := b.queueOffset(s.topic, q)
			lag += o.Lag
			inflight += o.Inflight
		}
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag), s.group, s.topic)
		ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(inflight), s.group, s.topic)
	}
}

// parkCollector reports what park.db holds at scrape time: scheduled and
// half messages per topic (counts kept in park.db, no scan), and how far
// the oldest scheduled message is past due (only while any is scheduled).
type parkCollector struct{ b *Broker }

var (
	scheduledDesc = prometheus.NewDesc(ns+"_scheduled_messages",
		"Delay messages waiting for their delivery time.", []string{"topic"}, nil)
	halfDesc = prometheus.NewDesc(ns+"_half_messages",
		"Transaction messages waiting for a commit or rollback.", []string{"topic"}, nil)
	timerLagDesc = prometheus.NewDesc(ns+"_timer_lag_seconds",
		"How far past its delivery time the oldest scheduled message is (0: none overdue).", nil, nil)
)

func (c parkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- scheduledDesc
	ch <- halfDesc
	ch <- timerLagDesc
}

func (c parkCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	counts, err := b.park.Counts()
	if err != nil {
		return // closed: nothing to report
	}
	for _, n := range counts {
		desc := scheduledDesc
		if n.Kind == park.KindHalf {
			desc = halfDesc
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n.N), n.Topic)
	}
	if due, ok, err := b.park.NextDue(); err == nil && ok {
		ch <- prometheus.MustNewConstMetric(timerLagDesc, prometheus.GaugeValue, max(b.now().Sub(due), 0).Seconds())
	}
}
