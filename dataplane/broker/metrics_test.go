package broker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, func(c *broker.Config) { c.Metrics = reg })
	e.topic("t", broker.TopicNormal, 2)
	e.group("g", 1)
	e.send("t", "m", 3, nil)

	ds := e.recv(recvReq("g", "t", 3))
	e.ackAll("g", ds[:1])
	e.clk.Advance(time.Minute)
	ds = e.recv(recvReq("g", "t", 3)) // two redeliveries
	require.Len(t, ds, 2)
	e.clk.Advance(time.Minute)
	require.Empty(t, e.recv(recvReq("g", "t", 3))) // both dead-lettered

	// Hand-rolled gathering: prometheus/testutil pulls a module go.mod does
	// not list.
	values := gather(t, reg)
	require.Equal(t, map[string]float64{
		`orbit_broker_messages_in_total{topic="t"}`:               3,
		`orbit_broker_bytes_in_total{topic="t"}`:                  float64(3 * len("body-m-0")),
		`orbit_broker_messages_out_total{group="g",topic="t"}`:    5,
		`orbit_broker_acks_total{group="g",topic="t"}`:            1,
		`orbit_broker_redeliveries_total{group="g",topic="t"}`:    2,
		`orbit_broker_dead_letters_total{group="g",topic="t"}`:    2,
		`orbit_broker_consumer_lag_messages{group="g",topic="t"}`: 0,
		`orbit_broker_inflight_messages{group="g",topic="t"}`:     0,
		`orbit_broker_first_delivery_latency_seconds_count`:       3,
	}, values)

	// Close unregisters, so a reopened broker can register again.
	e.reopen()
	require.NotEmpty(t, gather(t, reg))
}

// gather flattens a registry into "name{labels}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
