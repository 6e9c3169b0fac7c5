package proxy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// defaultRequestTimeout is the clients' default (spec §5) and the fallback
// when a client has not sent Settings yet.
const defaultRequestTimeout = 3 * time.Second

// telemetryQueue is how many commands may wait for a telemetry stream's
// client to read them. Server commands beyond it are dropped (a transaction
// check comes back at its next check time).
const telemetryQueue = 64

// errStreamClosed: the telemetry stream ended before a command was queued.
var errStreamClosed = errors.New("telemetry stream closed")

// telemetryStream is one open Telemetry stream. One goroutine (run) does all
// of its sending: the stream's own loop queues its Settings replies and other
// parts of the proxy queue commands (transaction checks), so Sends never run
// concurrently, and a client that stops reading stalls nothing but its own
// stream.
type telemetryStream struct {
	stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]
	// storeHost names this node in messages sent on the stream.
	storeHost string
	out       chan *v2.TelemetryCommand
	quit      chan struct{} // closed when the stream's handler ends
	quitOnce  sync.Once

	// settingsMu is held while consumer Settings are built and queued on
	// the stream (a reply or a push, groupsettings.go), so that sent always
	// describes the last ones queued.
	settingsMu sync.Mutex
	sent       sentGroup
}

func newTelemetryStream(stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand], storeHost string) *telemetryStream {
	return &telemetryStream{stream: stream, storeHost: storeHost, out: make(chan *v2.TelemetryCommand, telemetryQueue), quit: make(chan struct{})}
}

// run sends queued commands until close is called or a Send fails, and
// returns that failure. On close it first sends what is already queued (a
// client that half-closes right after its Settings still gets the reply).
// The handler must wait for run before returning: a Send after the handler
// returned is not allowed.
func (t *telemetryStream) run() error {
	for {
		select {
		case <-t.quit:
			for {
				select {
				case cmd := <-t.out:
					if err := t.stream.Send(cmd); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		case cmd := <-t.out:
			if err := t.stream.Send(cmd); err != nil {
				return err
			}
		}
	}
}

// close makes run return once the queue is sent, and refuses further
// commands.
func (t *telemetryStream) close() { t.quitOnce.Do(func() { close(t.quit) }) }

// send queues cmd, waiting for room: the stream's own replies.
func (t *telemetryStream) send(ctx context.Context, cmd *v2.TelemetryCommand) error {
	select {
	case t.out <- cmd:
		return nil
	case <-t.quit:
		return errStreamClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// push queues a server command if there is room now. It reports false when
// the stream has ended or its client is not keeping up.
func (t *telemetryStream) push(cmd *v2.TelemetryCommand) bool {
	select {
	case <-t.quit:
		return false
	default:
	}
	select {
	case t.out <- cmd:
		return true
	default:
		return false
	}
}

// clientState is what the proxy knows about one client id (spec §11.1).
type clientState struct {
	id       string
	settings *v2.Settings // last Settings the client sent; nil until then
	streams  map[*telemetryStream]struct{}
	latest   *telemetryStream // the stream that carried the last Settings, or another open one
	from     contact          // what its requests said about it, latest non-empty values
	first    time.Time        // first request seen
	lastSeen time.Time
}

// contact is what one request says about its client besides its id.
type contact struct {
	addr      string // the gRPC peer, host:port
	language  string // x-mq-language
	version   string // x-mq-client-version
	accessKey string // the access key the request was verified with; "" when none was
}

// merge takes c's non-empty values: a request that says less (an
// unauthenticated one, a telemetry command) does not erase what an earlier
// one said.
func (old *contact) merge(c contact) {
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&old.addr, c.addr}, {&old.language, c.language}, {&old.version, c.version}, {&old.accessKey, c.accessKey},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
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
		c = &clientState{id: id, streams: make(map[*telemetryStream]struct{}), first: r.now()}
		r.clients[id] = c
		r.gauge(len(r.clients))
	}
	return c
}

// touch records activity of a client (any RPC counts as a heartbeat) and
// what the request said about it.
func (r *registry) touch(id string, from contact) {
	if id == "" {
		return
	}
	r.mu.Lock()
	c := r.lockedGet(id)
	c.lastSeen = r.now()
	c.from.merge(from)
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
		c.latest = ts
	}
}

// dropStream forgets a telemetry stream that ended. The client itself stays
// until it terminates or goes silent: Go clients re-open streams lazily
// (spec §5.6) and keep using unary RPCs meanwhile.
func (r *registry) dropStream(id string, ts *telemetryStream) {
	r.mu.Lock()
	if c, ok := r.clients[id]; ok {
		delete(c.streams, ts)
		if c.latest == ts {
			c.latest = nil
			for other := range c.streams {
				c.latest = other
				break
			}
		}
	}
	r.mu.Unlock()
}

// producerStream is a producer's telemetry stream.
type producerStream struct {
	clientID string
	stream   *telemetryStream
}

// producerStreams returns, ordered by client id, one open telemetry stream of
// every client whose Settings publish to topic (Go: WithTopics). Only they
// can answer a transaction check for it (spec §9.4).
func (r *registry) producerStreams(topic string) []producerStream {
	r.mu.Lock()
	var out []producerStream
	for id, c := range r.clients {
		if c.latest == nil {
			continue
		}
		for _, t := range c.settings.GetPublishing().GetTopics() {
			if t.GetName() == topic {
				out = append(out, producerStream{clientID: id, stream: c.latest})
				break
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b producerStream) int { return strings.Compare(a.clientID, b.clientID) })
	return out
}

// consumerStream is a consumer's telemetry stream and its group.
type consumerStream struct {
	clientID string
	stream   *telemetryStream
}

// consumerStreams returns, by group name, one open telemetry stream of every
// client whose last Settings subscribe as a consumer of that group.
func (r *registry) consumerStreams() map[string][]consumerStream {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]consumerStream{}
	for id, c := range r.clients {
		if c.latest == nil {
			continue
		}
		if group, ok := consumerGroup(c.settings); ok {
			out[group] = append(out[group], consumerStream{clientID: id, stream: c.latest})
		}
	}
	return out
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
	every(ctx, period, func() { r.reap() })
}

// every runs fn each period until ctx ends: the proxy's background loops.
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
