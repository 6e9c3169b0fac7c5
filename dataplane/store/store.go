// Package store defines the message store of a node: an append-only commit
// log with per-queue consume queues and an index by message ID and key.
// dataplane/store/filestore implements it on disk.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of every Store implementation.
var (
	ErrClosed      = errors.New("store closed")
	ErrNotFound    = errors.New("message not found")
	ErrCorrupt     = errors.New("store data corrupt")
	ErrTooLarge    = errors.New("message too large")
	ErrOffsetRange = errors.New("offset out of range") // below the oldest retained entry
	// ErrInvalidMessage: Append got a nil message, an empty topic or a
	// negative queue id.
	ErrInvalidMessage = errors.New("invalid message")
)

// MessageType mirrors the RocketMQ 5 message types; the store keeps it so
// later features (FIFO, delay, transactions) need no format change.
type MessageType uint8

const (
	TypeNormal MessageType = iota + 1
	TypeFIFO
	TypeDelay
	TypeTransaction
)

// Message is one stored message. Fields marked "assigned" are set by Append.
type Message struct {
	Topic      string
	QueueID    int32
	MessageID  string // the client-generated unique id (UNIQ_KEY)
	Type       MessageType
	Tag        string
	Keys       []string
	Group      string            // FIFO message group; empty otherwise
	Properties map[string]string // user properties
	Body       []byte

	BornTime     time.Time
	BornHost     string
	DeliveryTime time.Time // delay/timer messages; zero otherwise

	// Reconsume/DLQ bookkeeping for copies written by the broker
	// (retry and dead-letter topics): how many deliveries the original had
	// and where it came from.
	DeliveryAttempt int32
	OriginTopic     string
	OriginMessageID string

	QueueOffset     int64     // assigned: position in its consume queue
	CommitLogOffset int64     // assigned: physical position in the commit log
	StoreTime       time.Time // assigned
	StoreSize       int32     // assigned: bytes the record takes in the commit log
}

// FlushMode says when an append is acknowledged.
type FlushMode string

const (
	// FlushSync acknowledges after fsync; many concurrent appends share one
	// fsync (group commit). Survives kill -9 and power loss.
	FlushSync FlushMode = "sync"
	// FlushAsync acknowledges after the write to the page cache and fsyncs
	// periodically: faster, but a crash of the machine can lose the last moments.
	FlushAsync FlushMode = "async"
)

// QueueRange is what a consume queue holds: offsets [Min, Max).
type QueueRange struct {
	Min int64
	Max int64
}

// Store is the message store of one node. All methods are safe for
// concurrent use.
type Store interface {
	// Append stores msgs (any topics/queues) and assigns their offsets and
	// store time. It returns once the messages are durable per the flush mode
	// and visible to Read. Invalid messages (nil, no topic, negative queue
	// id) fail the whole call with ErrInvalidMessage and store nothing.
	Append(ctx context.Context, msgs []*Message) error
	// Read returns up to max messages of one queue starting at offset, with
	// at most maxBytes of bodies (at least one message if any is there).
	// Reading at or above Max (or with max ≤ 0) returns no messages and no
	// error, so callers that may hold an offset ahead of the queue (after
	// DeleteQueues or a recovery that cut the log) compare it with Range;
	// below Min, or a negative offset, returns ErrOffsetRange. A record
	// that fails its integrity check is ErrCorrupt.
	Read(ctx context.Context, topic string, queueID int32, offset int64, max int, maxBytes int) ([]*Message, error)
	// Range reports the offsets a queue holds; an unknown queue is {0, 0}.
	Range(topic string, queueID int32) QueueRange
	// Get reads one message by its commit-log offset; an offset that is not
	// the start of a retained record is ErrNotFound.
	Get(ctx context.Context, commitLogOffset int64) (*Message, error)
	// LookupID returns commit-log offsets of messages with this message id
	// (newest first); none is an empty result, not an error.
	LookupID(ctx context.Context, messageID string) ([]int64, error)
	// LookupKey returns commit-log offsets of messages of topic carrying key
	// (newest first, at most max; max ≤ 0: all); none is an empty result.
	LookupKey(ctx context.Context, topic, key string, max int) ([]int64, error)
	// OffsetForTime returns the first queue offset whose store time is ≥ t (Max if none).
	OffsetForTime(ctx context.Context, topic string, queueID int32, t time.Time) (int64, error)
	// Notify returns a channel that is closed at the next append to (topic, queueID),
	// when the queue is deleted, or at Close; long-polling receivers wait on
	// it instead of polling (take the channel, then Read, then wait).
	Notify(topic string, queueID int32) <-chan struct{}
	// DeleteQueues forgets the consume queues of a topic (its commit-log
	// records age out with retention; Get still finds them until then). A
	// later append to the topic starts its queues at offset 0 again.
	DeleteQueues(topic string) error
	// Stats reports sizes for metrics.
	Stats() Stats
	Close() error
}

// Stats describe the store for metrics and the admin service.
type Stats struct {
	CommitLogBytes  int64 // bytes on disk in commit-log segments
	DiskUsedBytes   int64 // everything under the data directory
	Segments        int
	MinCommitLog    int64 // oldest retained commit-log offset
	MaxCommitLog    int64 // next commit-log offset
	DeletedSegments int64 // segments removed by retention since start
	UnreadDeletions int64 // retention deletions that removed data some group had not consumed

	// Added for the file store; an implementation without the concept
	// leaves them zero.
	UnreadMessages int64     // messages those deletions removed before every group had consumed them
	DeletedBytes   int64     // bytes retention freed since start
	RetentionRuns  int64     // retention passes since start
	LastRetention  time.Time // when the last pass ran; zero if none yet
	CorruptRecords int64     // damaged records found since start (recovery cuts of durable data, failed read checks)
	TruncatedBytes int64     // commit-log bytes the last recovery removed (torn or corrupt tail)
	Syncs          int64     // commit-log fsyncs since start; with group commit far fewer than Appends
	Appends        int64     // messages appended since start
	AppendBatches  int64     // writer batches since start (Appends/AppendBatches = group-commit batch size)
}
