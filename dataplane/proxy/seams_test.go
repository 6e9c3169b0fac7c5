package proxy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	reg := prometheus.NewRegistry()
	addr, _ := startProxy(t, b, func(c *proxy.Config) { c.Metrics = reg })
	c := dial(t, addr, false)

	send(t, c, normalMessage("t", "01A", "x"))
	send(t, c, normalMessage("missing", "01B", "x"))
	_, err := c.Heartbeat(asClient(testContext(t, 5*time.Second), "c2"), &v2.HeartbeatRequest{})
	require.NoError(t, err)

	require.Equal(t, 1.0, counter(t, reg, "SendMessage", "OK"))
	require.Equal(t, 1.0, counter(t, reg, "SendMessage", "TOPIC_NOT_FOUND"))
	require.Equal(t, 1.0, counter(t, reg, "Heartbeat", "OK"))
	require.Equal(t, 2.0, gauge(t, reg, "orbit_proxy_active_clients"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	require.True(t, names["orbit_proxy_send_latency_seconds"])
	require.True(t, names["orbit_proxy_messages_sent_total"])

	// One Server per registry.
	_, err = proxy.New(proxy.Config{Broker: b, Metrics: reg})
	require.Error(t, err)
}

// counter reads one series of orbit_proxy_rpcs_total.
func counter(t testing.TB, reg *prometheus.Registry, method, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "orbit_proxy_rpcs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no rpcs_total{method=%q,code=%q}", method, code)
	return 0
}

func TestAuthenticatorSeam(t *testing.T) {
	t.Parallel()
	b := newBroker(t)
	createTopic(t, b, "t", broker.TopicNormal, 1)
	createGroup(t, b, broker.Group{Name: "g"})
	var mu sync.Mutex
	var calls []string
	auth := proxy.AuthenticatorFunc(func(ctx context.Context, call proxy.Call) error {
		mu.Lock()
		calls = append(calls, call.Method)
		mu.Unlock()
		switch call.Metadata.Get("authorization")[0] {
		case "good":
			return nil
		case "forbidden":
			return fmt.Errorf("acl: %w", proxy.ErrForbidden)
		default:
			return proxy.ErrUnauthorized
		}
	})
	addr, _ := startProxy(t, b, func(c *proxy.Config) { c.Authenticator = auth })
	c := dial(t, addr, false)
	with := func(v string) context.Context {
		return metadataCtx(asClient(testContext(t, 10*time.Second), "c"), "authorization", v)
	}

	r, err := c.QueryRoute(with("good"), &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "t"}, Endpoints: endpointsOf(addr)})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, r.GetStatus().GetCode())
	r, err = c.QueryRoute(with("bad"), &v2.QueryRouteRequest{Topic: &v2.Resource{Name: "t"}, Endpoints: endpointsOf(addr)})
	require.NoError(t, err)
	require.Equal(t, v2.Code_UNAUTHORIZED, r.GetStatus().GetCode())
	s, err := c.SendMessage(with("forbidden"), &v2.SendMessageRequest{Messages: []*v2.Message{normalMessage("t", "01", "x")}})
	require.NoError(t, err)
	require.Equal(t, v2.Code_FORBIDDEN, s.GetStatus().GetCode())

	items := receiveAll(t, c, with("bad"), receiveRequest("g", "t"))
	require.Len(t, items, 1)
	require.Equal(t, v2.Code_UNAUTHORIZED, items[0].GetStatus().GetCode())

	// A refused telemetry stream is a gRPC error: the only thing that fails a
	// Go client's Start() (spec §3).
	tele, err := c.Telemetry(with("bad"))
	require.NoError(t, err)
	_, err = tele.Recv()
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, calls, "Telemetry")
	require.Contains(t, calls, "ReceiveMessage")
}
