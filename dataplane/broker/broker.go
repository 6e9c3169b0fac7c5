// Package broker keeps topics and consumer groups and implements RocketMQ 5
// semantics over the store: sending with queue selection, pop-style receive
// with invisible time, ack, change-invisible, redelivery with attempt counts,
// dead-lettering after the group's max attempts, tag and SQL92 filters,
// long polling and consumer offsets that survive restarts.
package broker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbitmq/orbit/dataplane/store"
)

// Errors the proxy and admin service map to RocketMQ codes / gRPC statuses.
var (
	ErrTopicNotFound   = errors.New("topic not found")
	ErrTopicExists     = errors.New("topic already exists")
	ErrGroupNotFound   = errors.New("consumer group not found")
	ErrGroupExists     = errors.New("consumer group already exists")
	ErrInvalidHandle   = errors.New("receipt handle is invalid or expired")
	ErrTypeMismatch    = errors.New("message type does not match the topic type")
	ErrBadFilter       = errors.New("invalid filter expression")
	ErrInvalidArgument = errors.New("invalid argument") // wrapped with details: fmt.Errorf("%w: ...", ErrInvalidArgument)
	ErrClosed          = errors.New("broker closed")
)

// TopicType is the message type a topic accepts.
type TopicType string

const (
	TopicNormal      TopicType = "NORMAL"
	TopicFIFO        TopicType = "FIFO"
	TopicDelay       TopicType = "DELAY"
	TopicTransaction TopicType = "TRANSACTION"
)

// Topic is a topic's definition.
type Topic struct {
	Name      string
	Type      TopicType
	Queues    int32 // 1..64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Group is a consumer group's definition.
type Group struct {
	Name       string
	Orderly    bool  // FIFO consumption (one in-flight message per message group)
	MaxRetries int32 // deliveries allowed = MaxRetries+1; then the message goes to %DLQ%<group>. Default 16.
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Config builds a Broker.
type Config struct {
	DataDir string      // metadata (topics, groups, offsets) lives here
	Store   store.Store // the message store
	Log     *slog.Logger
	Metrics prometheus.Registerer // nil: no metrics
	Now     func() time.Time

	MaxBatch         int           // cap on messages per receive (32)
	DefaultInvisible time.Duration // invisible time of auto-renewed deliveries (60 s)
	MaxBodyBytes     int           // 4 MiB
}

// SendResult describes one stored message.
type SendResult struct {
	MessageID   string
	QueueID     int32
	QueueOffset int64
}

// FilterType says how a filter expression is read.
type FilterType string

const (
	FilterTag FilterType = "TAG"
	FilterSQL FilterType = "SQL92"
)

// ReceiveRequest asks for up to MaxMessages messages of Topic for Group.
type ReceiveRequest struct {
	Group, Topic string
	QueueID      int32 // -1: any queue of the topic
	FilterType   FilterType
	Filter       string // "" or "*" matches everything
	MaxMessages  int
	// InvisibleDuration hides delivered messages from other receivers; with
	// AutoRenew the broker extends it while ClientID is alive.
	InvisibleDuration time.Duration
	AutoRenew         bool
	// PollTimeout is how long to wait for messages when none are ready.
	PollTimeout time.Duration
	ClientID    string
	AttemptID   string // FIFO: a retried receive with the same id gets the same batch
}

// Delivery is one received message.
type Delivery struct {
	Message        *store.Message
	ReceiptHandle  string
	Attempt        int32 // 1 on first delivery
	InvisibleUntil time.Time
}

// QueueOffset is a group's progress on one queue.
type QueueOffset struct {
	Topic          string
	QueueID        int32
	MinOffset      int64 // oldest retained
	MaxOffset      int64 // next to be written
	ConsumerOffset int64 // everything below is acked
	Inflight       int   // delivered, not yet acked
	Lag            int64 // MaxOffset - ConsumerOffset
}

// ResetTarget says where a group's offset goes.
type ResetTarget struct {
	Earliest bool
	Latest   bool
	Time     time.Time // when neither flag is set
}

// Broker is the node's broker. Methods are safe for concurrent use.
type Broker struct {
	cfg Config
}

var errUnimplemented = errors.New("broker: not implemented")

// New opens the broker's metadata under cfg.DataDir.
func New(cfg Config) (*Broker, error) { return &Broker{cfg: cfg}, nil }

// Run performs background work (redelivery of expired deliveries,
// auto-renewal, offset checkpoints) until ctx ends.
func (b *Broker) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Close persists offsets and releases resources; it does not close the store.
func (b *Broker) Close() error { return nil }

func (b *Broker) CreateTopic(ctx context.Context, t Topic) (Topic, error) {
	return Topic{}, errUnimplemented
}
func (b *Broker) UpdateTopic(ctx context.Context, t Topic) (Topic, error) {
	return Topic{}, errUnimplemented
}
func (b *Broker) DeleteTopic(ctx context.Context, name string) error { return errUnimplemented }
func (b *Broker) GetTopic(name string) (Topic, error)                { return Topic{}, errUnimplemented }

// ListTopics returns topics sorted by name after the given one.
func (b *Broker) ListTopics(after string, limit int) []Topic { return nil }

func (b *Broker) CreateGroup(ctx context.Context, g Group) (Group, error) {
	return Group{}, errUnimplemented
}
func (b *Broker) UpdateGroup(ctx context.Context, g Group) (Group, error) {
	return Group{}, errUnimplemented
}
func (b *Broker) DeleteGroup(ctx context.Context, name string) error { return errUnimplemented }
func (b *Broker) GetGroup(name string) (Group, error)                { return Group{}, errUnimplemented }
func (b *Broker) ListGroups(after string, limit int) []Group         { return nil }

// Send validates and stores messages of one topic, choosing queues (round
// robin; FIFO messages by a stable hash of their group). The result has one
// entry per message; err is for the whole request (unknown topic, type mismatch...).
func (b *Broker) Send(ctx context.Context, msgs []*store.Message) ([]SendResult, error) {
	return nil, errUnimplemented
}

// Receive pops ready messages, long-polling up to PollTimeout when none are ready.
func (b *Broker) Receive(ctx context.Context, req ReceiveRequest) ([]Delivery, error) {
	return nil, errUnimplemented
}

// Ack completes a delivery. A stale or unknown handle is ErrInvalidHandle.
func (b *Broker) Ack(ctx context.Context, group, topic, messageID, handle string) error {
	return errUnimplemented
}

// ChangeInvisible makes a delivered message visible again after d and
// returns the delivery's new handle (the old one stops working).
func (b *Broker) ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error) {
	return "", errUnimplemented
}

// ForwardToDLQ moves a delivered message to %DLQ%<group> and acks it. Idempotent.
func (b *Broker) ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error {
	return errUnimplemented
}

// ClientGone releases the auto-renewed deliveries of a client that terminated
// or went silent: they become visible again shortly.
func (b *Broker) ClientGone(clientID string) {}

// Offsets reports a group's progress on every queue of every topic it consumed
// (topic "" = all).
func (b *Broker) Offsets(group, topic string) ([]QueueOffset, error) { return nil, errUnimplemented }

// ResetOffset moves a group's consumer offset on every queue of topic and
// drops its in-flight deliveries there.
func (b *Broker) ResetOffset(ctx context.Context, group, topic string, to ResetTarget) error {
	return errUnimplemented
}
