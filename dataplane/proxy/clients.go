package proxy

import (
	"context"
	"sync"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// defaultRequestTimeout is the clients' default (spec §5) and the fallback
// when a client has not sent Settings yet.
const defaultRequestTimeout = 3 * time.Second

// telemetryStream is one open Telemetry stream. Sends are serialized: the
// stream's own loop answers Settings while other parts of the proxy may push
// commands (transaction checks, later).
type telemetryStream struct {
	mu     sync.Mutex
	stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]
}

func (t *telemetryStream) send(cmd *v2.TelemetryCommand) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stream.Send(cmd)
}

// clientState is what the proxy knows about one client id (spec §11.1).
type clientState struct {
	id       string
	settings *v2.Settings // last Settings the client sent; nil until then
	streams  map[*telemetryStream]struct{}
	lastSeen time.Time
}

// registry tracks clients by x-mq-client-id: their settings, telemetry
// streams and last activity. A client silent for longer than the timeout is
// gone: onGone runs (the proxy releases its auto-renewed deliveries).
type registry struct {
	now     func() time.Time
	timeout time.Duration
	onGone  func(id string)
	gauge   func(n int)

	mu      sync.Mutex
	clients map[string]*clientState
}

func newRegistry(now func() time.Time, timeout time.Duration, onGone func(string), gauge func(int)) *registry {
	return &registry{now: now, timeout: timeout, onGone: onGone, gauge: gauge, clients: make(map[string]*clientState)}
}

// lockedGet returns the client's state, creating it. r.mu must be held.
func (r *registry) lockedGet(id string) *clientState {
	c, ok := r.clients[id]
	if !ok {
		c = &clientState{id: id, streams: make(map[*telemetryStream]struct{})}
		r.clients[id] = c
		r.gauge(len(r.clients))
	}
	return c
}

// touch records activity of a client (any RPC counts as a heartbeat).
func (r *registry) touch(id string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	r.lockedGet(id).lastSeen = r.now()
	r.mu.Unlock()
}

// setSettings stores the latest Settings of a client and its stream.
func (r *registry) setSettings(id string, s *v2.Settings, ts *telemetryStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lockedGet(id)
	c.lastSeen = r.now()
	c.settings = proto.Clone(s).(*v2.Settings)
	if ts != nil {
		c.streams[ts] = struct{}{}
	}
}

// dropStream forgets a telemetry stream that ended. The client itself stays
// until it terminates or goes silent: Go clients re-open streams lazily
// (spec §5.6) and keep using unary RPCs meanwhile.
func (r *registry) dropStream(id string, ts *telemetryStream) {
	r.mu.Lock()
	if c, ok := r.clients[id]; ok {
		delete(c.streams, ts)
	}
	r.mu.Unlock()
}

// settings returns a copy of the client's last Settings, or nil.
func (r *registry) settings(id string) *v2.Settings {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[id]
	if !ok || c.settings == nil {
		return nil
	}
	return proto.Clone(c.settings).(*v2.Settings)
}

// requestTimeout is the client's request timeout from its Settings.
func (r *registry) requestTimeout(id string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[id]; ok && c.settings.GetRequestTimeout() != nil {
		if d := c.settings.GetRequestTimeout().AsDuration(); d > 0 {
			return d
		}
	}
	return defaultRequestTimeout
}

// remove forgets a client (NotifyClientTermination). It reports whether the
// client was known.
func (r *registry) remove(id string) bool {
	r.mu.Lock()
	_, ok := r.clients[id]
	delete(r.clients, id)
	r.gauge(len(r.clients))
	r.mu.Unlock()
	return ok
}

// len is the number of known clients.
func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

// reap removes clients silent for longer than the timeout and calls onGone
// for each, outside the lock. It returns the ids removed.
func (r *registry) reap() []string {
	cutoff := r.now().Add(-r.timeout)
	var gone []string
	r.mu.Lock()
	for id, c := range r.clients {
		if c.lastSeen.Before(cutoff) {
			gone = append(gone, id)
			delete(r.clients, id)
		}
	}
	if len(gone) > 0 {
		r.gauge(len(r.clients))
	}
	r.mu.Unlock()
	for _, id := range gone {
		r.onGone(id)
	}
	return gone
}

// run reaps periodically until ctx ends.
func (r *registry) run(ctx context.Context) {
	period := r.timeout / 4
	if period > 10*time.Second {
		period = 10 * time.Second
	}
	if period < 10*time.Millisecond {
		period = 10 * time.Millisecond
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.reap()
		}
	}
}
