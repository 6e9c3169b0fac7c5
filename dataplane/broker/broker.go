package broker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
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
	// ErrUnsupported: a message kind whose delivery semantics this node
	// does not implement yet; refused rather than delivered wrongly.
	ErrUnsupported = errors.New("not supported by this node yet")
	// ErrQuotaExceeded: creating the topic or group would pass the
	// instance's limit (Config.MaxTopics, Config.MaxGroups). It is wrapped
	// with the limit, worded for the user.
	ErrQuotaExceeded = errors.New("quota exceeded")

	// ErrBodyEmpty and ErrBodyTooLarge refine ErrInvalidArgument (errors
	// carrying them match both) so the proxy can answer MESSAGE_BODY_EMPTY
	// and MESSAGE_BODY_TOO_LARGE.
	ErrBodyEmpty    = errors.New("message body is empty")
	ErrBodyTooLarge = errors.New("message body too large")
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
	Name   string
	Type   TopicType
	Queues int32 // 1..64
	// MaxSendTPS is how many messages per second producers may send to the
	// topic (0 = no cap; the instance's own limit still applies). The proxy
	// enforces it; the broker only stores it.
	MaxSendTPS int32
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Group is a consumer group's definition.
type Group struct {
	Name    string
	Orderly bool // FIFO consumption (one in-flight message per message group)
	// MaxRetries: deliveries allowed = MaxRetries+1; then the message goes to
	// %DLQ%<group>. 0 takes the default (16, DefaultMaxRetries) because a
	// zero Group must mean "defaults"; NoRetries (-1) allows one delivery
	// only. The stored value is the effective one (16 or -1, never 0).
	MaxRetries int32
	// MaxReceiveTPS is how many messages per second the group's consumers
	// may receive (0 = no cap). The proxy enforces it.
	MaxReceiveTPS int32
	// RetryInterval is the fixed delay before a message a consumer failed
	// is delivered again, whole seconds in 1 s..MaxRetryInterval; 0 keeps
	// the default exponential backoff (1 s doubling up to 2 h). Push
	// consumers apply it: the proxy hands it to them as their retry policy.
	RetryInterval time.Duration
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const (
	// DefaultMaxRetries is Apache's retryMaxTimes: 17 deliveries in all.
	DefaultMaxRetries int32 = 16
	// NoRetries as Group.MaxRetries dead-letters a message after its first
	// delivery is not acked.
	NoRetries int32 = -1
	// MaxRetriesLimit bounds Group.MaxRetries.
	MaxRetriesLimit int32 = 1000
	// MaxRetryInterval bounds Group.RetryInterval: the longest step of the
	// default backoff.
	MaxRetryInterval = 2 * time.Hour
)

// Config builds a Broker. Zero fields take DefaultConfig's values.
type Config struct {
	// DataDir holds meta.db (topics, groups, offsets) and park.db
	// (scheduled delay messages and transaction half messages).
	DataDir string
	Store   store.Store // the message store
	Log     *slog.Logger
	Metrics prometheus.Registerer // nil: no metrics
	Now     func() time.Time

	MaxBatch         int           // cap on messages per receive (32)
	DefaultInvisible time.Duration // invisible time of auto-renewed deliveries (60 s)
	MaxBodyBytes     int           // 4 MiB

	// CheckpointInterval is how often Run writes changed consumer offsets to
	// meta.db (1 s). A crash loses at most this much ack progress, which
	// at-least-once delivery turns into redeliveries, never losses.
	CheckpointInterval time.Duration
	// MinInvisible is the smallest InvisibleDuration a receive without
	// AutoRenew may ask for (1 s); the proxy enforces the protocol's 10 s.
	MinInvisible time.Duration
	// MaxAutoRenewHold bounds how long an auto-renewed delivery stays
	// invisible while its client lives (3 h, Apache's renew limit); then it
	// is redelivered like an expired one.
	MaxAutoRenewHold time.Duration
	// ClientGoneDelay is how soon the auto-renewed deliveries of a departed
	// client become visible again (1 s, Apache's clear-on-disconnect).
	ClientGoneDelay time.Duration
	// MaxReceiveBytes bounds the body bytes of one receive (16 MiB); a
	// receive always returns at least one message if one is ready.
	MaxReceiveBytes int

	// MaxDelay bounds how far ahead a delay message may be scheduled (3 days).
	MaxDelay time.Duration
	// PastDeliveryTolerance is how far in the past a delay message's
	// delivery time may be and still be delivered at once (1 min: clock skew
	// and retried sends); older is a client bug, refused.
	PastDeliveryTolerance time.Duration
	// ParkNoSync skips fsync of park.db commits: for tests and benchmarks
	// only, since a machine crash may then lose scheduled and half messages.
	ParkNoSync bool
	// TxnCheckDelay is how long a transaction may stay unresolved before
	// the first orphan check (6 s, Apache's transactionTimeOut).
	TxnCheckDelay time.Duration
	// TxnCheckInterval is the first gap between orphan checks (30 s); it
	// doubles after each check up to TxnCheckMaxInterval (5 min).
	TxnCheckInterval    time.Duration
	TxnCheckMaxInterval time.Duration
	// TxnCheckMax is how many orphan checks a transaction gets before it is
	// rolled back (15, Apache's transactionCheckMax).
	TxnCheckMax int
	// TxnKeepResolved is how long a transaction's decision is remembered
	// (24 h): a repeated EndTransaction within it is answered consistently;
	// after it the id is unknown.
	TxnKeepResolved time.Duration

	// Tracer records message traces; nil turns tracing off.
	Tracer trace.Recorder

	// MaxTopics and MaxGroups are the instance's limits on topics and
	// consumer groups users create (0 = unlimited). Topics the broker makes
	// itself (%DLQ%..., %RETRY%..., RMQ_SYS_...) neither count nor are
	// ever refused.
	MaxTopics int
	MaxGroups int
}

// DefaultConfig returns production defaults; DataDir and Store have none.
func DefaultConfig() Config {
	return Config{
		Now:                   time.Now,
		MaxBatch:              32,
		DefaultInvisible:      60 * time.Second,
		MaxBodyBytes:          4 << 20,
		CheckpointInterval:    time.Second,
		MinInvisible:          time.Second,
		MaxAutoRenewHold:      3 * time.Hour,
		ClientGoneDelay:       time.Second,
		MaxReceiveBytes:       16 << 20,
		MaxDelay:              72 * time.Hour,
		PastDeliveryTolerance: time.Minute,
		TxnCheckDelay:         6 * time.Second,
		TxnCheckInterval:      30 * time.Second,
		TxnCheckMaxInterval:   5 * time.Minute,
		TxnCheckMax:           15,
		TxnKeepResolved:       24 * time.Hour,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.DefaultInvisible == 0 {
		c.DefaultInvisible = d.DefaultInvisible
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = d.CheckpointInterval
	}
	if c.MinInvisible == 0 {
		c.MinInvisible = d.MinInvisible
	}
	if c.MaxAutoRenewHold == 0 {
		c.MaxAutoRenewHold = d.MaxAutoRenewHold
	}
	if c.ClientGoneDelay == 0 {
		c.ClientGoneDelay = d.ClientGoneDelay
	}
	if c.MaxReceiveBytes == 0 {
		c.MaxReceiveBytes = d.MaxReceiveBytes
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = d.MaxDelay
	}
	if c.PastDeliveryTolerance == 0 {
		c.PastDeliveryTolerance = d.PastDeliveryTolerance
	}
	if c.TxnCheckDelay == 0 {
		c.TxnCheckDelay = d.TxnCheckDelay
	}
	if c.TxnCheckInterval == 0 {
		c.TxnCheckInterval = d.TxnCheckInterval
	}
	if c.TxnCheckMaxInterval == 0 {
		c.TxnCheckMaxInterval = d.TxnCheckMaxInterval
	}
	if c.TxnCheckMax == 0 {
		c.TxnCheckMax = d.TxnCheckMax
	}
	if c.TxnKeepResolved == 0 {
		c.TxnKeepResolved = d.TxnKeepResolved
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a configuration that cannot work. Zero values are valid
// except DataDir and Store.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("broker config: DataDir is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("broker config: Store is required"))
	}
	if c.MaxBatch < 0 || c.MaxBodyBytes < 0 || c.MaxReceiveBytes < 0 {
		errs = append(errs, errors.New("broker config: sizes must be positive"))
	}
	if c.TxnCheckMax < 0 {
		errs = append(errs, errors.New("broker config: TxnCheckMax must be positive"))
	}
	if c.MaxTopics < 0 || c.MaxGroups < 0 {
		errs = append(errs, errors.New("broker config: MaxTopics and MaxGroups must not be negative (0: unlimited)"))
	}
	for name, d := range map[string]time.Duration{
		"DefaultInvisible": c.DefaultInvisible, "CheckpointInterval": c.CheckpointInterval,
		"MinInvisible": c.MinInvisible, "MaxAutoRenewHold": c.MaxAutoRenewHold,
		"ClientGoneDelay": c.ClientGoneDelay, "MaxDelay": c.MaxDelay, "PastDeliveryTolerance": c.PastDeliveryTolerance,
		"TxnCheckDelay": c.TxnCheckDelay, "TxnCheckInterval": c.TxnCheckInterval,
		"TxnCheckMaxInterval": c.TxnCheckMaxInterval, "TxnKeepResolved": c.TxnKeepResolved,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("broker config: %s must be positive", name))
		}
	}
	return errors.Join(errs...)
}

// SendResult describes one stored message.
type SendResult struct {
	MessageID   string
	QueueID     int32
	QueueOffset int64
	// TransactionID names the transaction of a TRANSACTION message (for
	// EndTransaction); empty otherwise. QueueID and QueueOffset of such a
	// message are zero: it enters a queue when committed.
	TransactionID string
	// RecallHandle cancels a scheduled DELAY message (Recall); empty when
	// the message was not scheduled (already due). QueueID and QueueOffset
	// of a scheduled message are zero: it enters a queue when it fires.
	RecallHandle string
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

// Broker is the node's broker. Methods are safe for concurrent use. Lock
// order and the consumption model are described in doc.go.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	st      store.Store
	db      *bolt.DB
	metrics *metrics
	filters filterCache

	// ckMu serialises checkpoints with deletions so a checkpoint that
	// collected a group's offsets cannot write them back after the group
	// (or topic) is deleted. It also guards dbClosed.
	ckMu     sync.Mutex
	dbClosed bool

	mu      sync.RWMutex // guards everything below
	closed  bool
	topics  map[string]*topicEntry
	groups  map[string]Group
	subs    map[subKey]*subscription
	closing chan struct{} // closed by Close to release long-pollers

	gen atomic.Uint64 // receipt-handle generations, seeded randomly per process

	minConsumed atomic.Pointer[map[topicQueue]int64] // refreshed by every checkpoint

	// Messages held back from their topics (timer.go, txn.go).
	park      *park.Park
	fireMu    sync.Mutex     // one park round at a time; guards lastSweep
	lastSweep time.Time      // when decisions were last forgotten
	timerKick chan struct{}  // wakes the park loop for an earlier due time
	nextDue   atomic.Int64   // earliest due time the park loop knows (Unix ns)
	parkLoop  sync.WaitGroup // the park loop started by Run
	txnLocks  [64]sync.Mutex // by transaction sequence: one commit at a time

	onPollWait func() // test hook: called before a receive blocks
	// Test hooks simulating a crash after the append of a firing timer or a
	// committed transaction, before it is recorded: a non-nil error stops there.
	afterFireAppend   func() error
	afterCommitAppend func() error
}

type topicEntry struct {
	Topic
	rr atomic.Uint64 // round-robin queue choice for non-FIFO sends
}

// New opens the broker's metadata under cfg.DataDir.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create broker data dir: %w", err)
	}
	db, err := openMeta(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	pk, err := park.Open(filepath.Join(cfg.DataDir, "park.db"), park.Options{NoSync: cfg.ParkNoSync})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	b := &Broker{
		cfg:       cfg,
		log:       cfg.Log,
		st:        cfg.Store,
		db:        db,
		park:      pk,
		timerKick: make(chan struct{}, 1),
		topics:    make(map[string]*topicEntry),
		groups:    make(map[string]Group),
		subs:      make(map[subKey]*subscription),
		closing:   make(chan struct{}),
	}
	b.nextDue.Store(math.MinInt64) // unknown until the park loop's first round
	// Handles of a previous process must never validate against deliveries
	// of this one, so generations start at a random point.
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	b.gen.Store(binary.LittleEndian.Uint64(seed[:]))
	if err := b.loadMeta(); err != nil {
		_ = pk.Close()
		_ = db.Close()
		return nil, err
	}
	if cfg.Metrics != nil {
		m, err := newMetrics(cfg.Metrics, b)
		if err != nil {
			_ = pk.Close()
			_ = db.Close()
			return nil, err
		}
		b.metrics = m
	}
	b.log.Info("broker opened", "topics", len(b.topics), "groups", len(b.groups))
	return b, nil
}

func (b *Broker) now() time.Time { return b.cfg.Now() }

// Run performs background work until ctx ends or the broker closes: it
// checkpoints consumer offsets every CheckpointInterval, and its park loop
// fires scheduled messages when due and finishes interrupted transaction
// commits (timer.go). Redelivery needs no timer here: expiry is evaluated at
// receive time and long-pollers sleep until the nearest deadline;
// auto-renewal is implicit (see doc.go).
func (b *Broker) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.parkLoop.Add(1) // under b.mu, so Close's Wait sees it
	b.mu.Unlock()
	go func() {
		defer b.parkLoop.Done()
		b.runPark(ctx)
	}()
	defer b.parkLoop.Wait()

	t := time.NewTicker(b.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.closing:
			return nil
		case <-t.C:
			if err := b.checkpoint(); err != nil {
				b.log.Warn("checkpoint consumer offsets", "err", err)
			}
		}
	}
}

// Close persists offsets and releases resources; it does not close the store.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	b.mu.Unlock()

	// The park loop sees closing and stops; other park users hold b.mu
	// read-locked and check closed, so none is left once it has stopped.
	b.parkLoop.Wait()
	parkErr := b.park.Close()
	ckErr := b.checkpoint()
	b.ckMu.Lock()
	dbErr := b.db.Close()
	b.dbClosed = true
	b.ckMu.Unlock()
	b.metrics.unregister()
	if err := errors.Join(ckErr, dbErr, parkErr); err != nil {
		return fmt.Errorf("close broker: %w", err)
	}
	b.log.Info("broker closed")
	return nil
}
