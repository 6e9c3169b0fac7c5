package proxy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rpcs          *prometheus.CounterVec   // method, code
	sendLatency   prometheus.Histogram     // seconds per SendMessage
	recvLatency   *prometheus.HistogramVec // seconds per ReceiveMessage, by result
	activeClients prometheus.Gauge
	messagesIn    prometheus.Counter
	messagesOut   prometheus.Counter
	txnChecks     *prometheus.CounterVec // result
	groupPushes   *prometheus.CounterVec // result
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "orbit", "proxy"
	m := &metrics{
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rpcs_total",
			Help: "RocketMQ gRPC calls by method and result code (RocketMQ Code name, or grpc_<code> for transport-level errors).",
		}, []string{"method", "code"}),
		sendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "send_latency_seconds",
			Help:    "Time to validate and store a SendMessage request.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		recvLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "receive_latency_seconds",
			Help:    "Time a ReceiveMessage call took, long polling included, by result (found, empty, error).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30},
		}, []string{"result"}),
		activeClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "active_clients",
			Help: "Clients (x-mq-client-id) seen within the client timeout.",
		}),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "messages_sent_total",
			Help: "Messages stored for producers.",
		}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "messages_delivered_total",
			Help: "Messages delivered to consumers (redeliveries included).",
		}),
		txnChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "txn_checks_total",
			Help: "Orphan transaction checks taken from the broker, by result: sent (to a producer's telemetry stream), no_producer (none of the topic's producers is connected) or busy (their streams were full).",
		}, []string{"result"}),
		groupPushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "group_settings_pushes_total",
			Help: "Settings pushed to consumers because their group's definition changed, by result: sent (queued on the consumer's telemetry stream) or busy (the stream was full; the next poll tries again).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rpcs, m.sendLatency, m.recvLatency, m.activeClients, m.messagesIn, m.messagesOut, m.txnChecks, m.groupPushes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register proxy metrics: %w", err)
		}
	}
	return m, nil
}
