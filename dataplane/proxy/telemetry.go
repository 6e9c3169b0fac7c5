package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// Server values merged into the Settings a client sends (spec §6.2).
const (
	producerMaxAttempts     = 3
	consumerReceiveBatch    = 32
	defaultGroupMaxRetries  = 16
	consumerBackoffInitial  = time.Second
	consumerBackoffMax      = 2 * time.Hour
	consumerBackoffMultiply = 2
)

// Telemetry is the bidirectional settings/command stream (spec §6). Every
// client Settings is answered with the merged Settings: a Go client's Start()
// blocks until it gets one (spec §0.2). The stream stays open until the
// client half-closes, the connection drops or the server stops.
func (s *Server) Telemetry(stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]) error {
	ctx := stream.Context()
	clientID := clientIDOf(ctx)
	if clientID == "" {
		return status.Error(codes.InvalidArgument, "x-mq-client-id header is required")
	}
	ts := newTelemetryStream(stream, s.storeHost(ctx))
	writerDone := make(chan struct{})
	var writerErr error
	go func() {
		defer close(writerDone)
		writerErr = ts.run()
	}()
	// Deferred calls run last first: the stream is forgotten (no more
	// commands are pushed to it), then its writer stops, and only then does
	// the handler return.
	defer func() {
		ts.close()
		<-writerDone
	}()
	defer s.clients.dropStream(clientID, ts)

	cmds := make(chan *v2.TelemetryCommand)
	errc := make(chan error, 1)
	go func() {
		for {
			cmd, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case cmds <- cmd:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-s.stopping:
			return status.Error(codes.Unavailable, "server stopping")
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-writerDone:
			return writerErr
		case cmd := <-cmds:
			if err := s.onTelemetryCommand(ctx, clientID, ts, cmd); err != nil {
				return err
			}
		}
	}
}

func (s *Server) onTelemetryCommand(ctx context.Context, clientID string, ts *telemetryStream, cmd *v2.TelemetryCommand) error {
	s.clients.touch(clientID, contactOf(ctx))
	switch c := cmd.GetCommand().(type) {
	case *v2.TelemetryCommand_Settings:
		if c.Settings.GetPubSub() == nil {
			// Apache ends the stream the same way (spec §6.3).
			return status.Error(codes.InvalidArgument, "settings without publishing or subscription")
		}
		// Held until the reply is queued: a push of the group's changed
		// definition (groupsettings.go) waits for it, so what the stream
		// records as sent is what its client got last.
		ts.settingsMu.Lock()
		defer ts.settingsMu.Unlock()
		s.clients.setSettings(clientID, c.Settings, ts)
		group, consumer := consumerGroup(c.Settings)
		var g broker.Group
		if consumer {
			g = s.groupSettings(group)
		}
		merged := s.mergeSettingsWith(c.Settings, g)
		s.log.DebugContext(ctx, "client settings", slog.String("client_id", clientID),
			slog.String("client_type", c.Settings.GetClientType().String()),
			slog.String("group", group))
		if err := ts.send(ctx, settingsCommand(merged)); err != nil {
			return err
		}
		ts.sent = sentGroup{}
		if consumer {
			ts.sent = sentGroup{group: group, behaviour: behaviourOf(g), ok: true}
		}
	default:
		// Replies to server commands (thread stack traces, verify results)
		// and anything unknown are ignored, never fatal (spec §6.3).
		s.log.DebugContext(ctx, "telemetry command ignored", slog.String("client_id", clientID))
	}
	return nil
}

// mergeSettings is the client's Settings with the server's values (spec
// §6.2): they overwrite client state, so every field a client applies must
// be usable.
func (s *Server) mergeSettings(in *v2.Settings) *v2.Settings {
	var g broker.Group
	if group, ok := consumerGroup(in); ok {
		g = s.groupSettings(group)
	}
	return s.mergeSettingsWith(in, g)
}

// mergeSettingsWith is mergeSettings with the consumer group's definition
// already read (groupSettings); g is not used for producers.
func (s *Server) mergeSettingsWith(in *v2.Settings, g broker.Group) *v2.Settings {
	out := proto.Clone(in).(*v2.Settings)
	out.Metric = &v2.Metric{On: false}
	switch ps := in.GetPubSub().(type) {
	case *v2.Settings_Publishing:
		out.PubSub = &v2.Settings_Publishing{Publishing: &v2.Publishing{
			Topics:      cloneResources(ps.Publishing.GetTopics()),
			MaxBodySize: int32(s.cfg.MaxBodyBytes), // 0 would fail every non-empty send
			// The server is the one judge of a topic's message type: with
			// client-side validation the Go client refuses a mismatch
			// locally with a message of its own, while every client (and
			// every version) gets the same MESSAGE_PROPERTY_CONFLICT_WITH_TYPE
			// from the server.
			ValidateMessageType: false,
		}}
		// Node asserts an exponential policy for producers (spec §0.3).
		out.BackoffPolicy = &v2.RetryPolicy{
			MaxAttempts: producerMaxAttempts,
			Strategy: &v2.RetryPolicy_ExponentialBackoff{ExponentialBackoff: &v2.ExponentialBackoff{
				Initial: durationpb.New(10 * time.Millisecond), Max: durationpb.New(time.Second), Multiplier: 2,
			}},
		}
	case *v2.Settings_Subscription:
		sub := proto.Clone(ps.Subscription).(*v2.Subscription)
		fifo := g.Orderly
		sub.Fifo = &fifo
		batch := int32(consumerReceiveBatch)
		sub.ReceiveBatchSize = &batch
		sub.LongPollingTimeout = durationpb.New(s.cfg.LongPollingTimeout)
		out.PubSub = &v2.Settings_Subscription{Subscription: sub}
		// Exponential with whole seconds: Node push ignores customized
		// policies and reads exponential ones in seconds (spec §6.2). A
		// group's fixed retry interval is the same shape with
		// initial = max = interval and multiplier 1, which every client
		// reads as a constant delay.
		initial, maxDelay, multiplier := consumerBackoffInitial, consumerBackoffMax, float32(consumerBackoffMultiply)
		if g.RetryInterval > 0 {
			initial, maxDelay, multiplier = g.RetryInterval, g.RetryInterval, 1
		}
		out.BackoffPolicy = &v2.RetryPolicy{
			MaxAttempts: g.MaxRetries + 1,
			Strategy: &v2.RetryPolicy_ExponentialBackoff{ExponentialBackoff: &v2.ExponentialBackoff{
				Initial:    durationpb.New(initial),
				Max:        durationpb.New(maxDelay),
				Multiplier: multiplier,
			}},
		}
	}
	return out
}

// groupSettings returns the group's definition, or defaults for a group the
// broker does not know (the receive will report it).
func (s *Server) groupSettings(name string) broker.Group {
	g, err := s.readGroup(name)
	if err != nil {
		if !errors.Is(err, broker.ErrGroupNotFound) {
			s.log.Warn("look up group for settings", slog.String("group", name), slog.Any("err", err))
		}
		return broker.Group{Name: name, MaxRetries: defaultGroupMaxRetries}
	}
	return g
}

// readGroup reads the group's definition from the broker as Settings use
// it.
func (s *Server) readGroup(name string) (broker.Group, error) {
	g, err := s.cfg.Broker.GetGroup(name)
	if err != nil {
		return broker.Group{}, err
	}
	if g.MaxRetries < 0 {
		g.MaxRetries = 0
	}
	return g, nil
}

// consumerGroup is the group of consumer Settings; ok is false for other
// Settings.
func consumerGroup(in *v2.Settings) (group string, ok bool) {
	ps, ok := in.GetPubSub().(*v2.Settings_Subscription)
	if !ok {
		return "", false
	}
	return ps.Subscription.GetGroup().GetName(), true
}

// settingsCommand is the telemetry command carrying merged Settings, as a
// reply or pushed.
func settingsCommand(merged *v2.Settings) *v2.TelemetryCommand {
	return &v2.TelemetryCommand{Status: okStatus(), Command: &v2.TelemetryCommand_Settings{Settings: merged}}
}

func cloneResources(rs []*v2.Resource) []*v2.Resource {
	out := make([]*v2.Resource, len(rs))
	for i, r := range rs {
		out[i] = proto.Clone(r).(*v2.Resource)
	}
	return out
}
