package proxy

import (
	"context"
	"log/slog"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// A consumer learns how its group behaves (orderly, max retries, retry
// interval) from the Settings the proxy returns on its telemetry stream
// (mergeSettings), and clients send Settings again only every 5 minutes
// (Go). So that a changed definition applies within seconds, the proxy
// reads, every Config.GroupPollPeriod, the definition of every group that
// has a consumer with an open telemetry stream (one broker call per group,
// however many consumers it has; the broker may be remote), and pushes
// Settings to each of those consumers whose stream last got Settings for
// another definition. The pushed Settings are the client's own last
// Settings merged like a reply.
//
// The official Go client applies Settings the server sends unprompted like
// a reply (client.go handleTelemetryCommand → onSettingsCommand →
// applySettingsCommand): a push consumer takes the backoff policy (read at
// every failed message), fifo, receive batch size and long polling
// timeout; fifo only matters at Start, where it picks the consume service.
// Simple consumers apply nothing.
//
// A push that finds the stream full is not recorded as sent, so the next
// poll tries again. Nothing is kept per group between polls: what each
// stream was last sent lives on the stream (telemetryStream.sent) and goes
// with it.

// groupBehaviour is what of a group's definition consumers get in their
// Settings: a change of it is pushed to them, other changes (receive caps,
// caps.go) are not.
type groupBehaviour struct {
	orderly       bool
	maxRetries    int32
	retryInterval time.Duration
}

// behaviourOf is the behaviour of a definition read by readGroup.
func behaviourOf(g broker.Group) groupBehaviour {
	return groupBehaviour{orderly: g.Orderly, maxRetries: g.MaxRetries, retryInterval: g.RetryInterval}
}

// sentGroup is which group definition the last consumer Settings queued on
// a stream were built from; ok is false until a stream has queued consumer
// Settings.
type sentGroup struct {
	group     string
	behaviour groupBehaviour
	ok        bool
}

// runGroupPoll pushes changed group definitions every GroupPollPeriod until
// ctx ends.
func (s *Server) runGroupPoll(ctx context.Context) {
	every(ctx, s.cfg.GroupPollPeriod, func() { s.pushGroupChanges(ctx) })
}

// pushGroupChanges reads the definition of every group with a connected
// consumer once, and pushes Settings to the consumers whose streams last
// got Settings for another definition.
func (s *Server) pushGroupChanges(ctx context.Context) {
	for group, streams := range s.clients.consumerStreams() {
		if ctx.Err() != nil {
			return
		}
		g, err := s.readGroup(group)
		if err != nil {
			// Not found (deleted) or not reachable: push nothing; the
			// consumers' requests meet the same broker.
			s.log.DebugContext(ctx, "read group for settings push", slog.String("group", group), slog.Any("err", err))
			continue
		}
		b := behaviourOf(g)
		for _, c := range streams {
			s.pushGroupSettings(ctx, c, group, g, b)
		}
	}
}

// pushGroupSettings queues Settings for definition g of group on c's stream
// unless the stream's last Settings were built from the same behaviour b.
func (s *Server) pushGroupSettings(ctx context.Context, c consumerStream, group string, g broker.Group, b groupBehaviour) {
	ts := c.stream
	if !ts.settingsMu.TryLock() {
		// A reply is being built or queued; it may carry an older
		// definition, which the next poll sees.
		return
	}
	defer ts.settingsMu.Unlock()
	if !ts.sent.ok || (ts.sent.group == group && ts.sent.behaviour == b) {
		// Not ok: the stream never got its reply; it is ending.
		return
	}
	in := s.clients.settings(c.clientID)
	if name, ok := consumerGroup(in); !ok || name != group {
		return // the client sent other Settings meanwhile, and got a reply
	}
	if !ts.push(settingsCommand(s.mergeSettingsWith(in, g))) {
		s.metrics.groupPushes.WithLabelValues("busy").Inc()
		return
	}
	ts.sent = sentGroup{group: group, behaviour: b, ok: true}
	s.metrics.groupPushes.WithLabelValues("sent").Inc()
	s.log.DebugContext(ctx, "pushed settings for a changed group", slog.String("client_id", c.clientID), slog.String("group", group))
}
