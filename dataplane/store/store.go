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
	// and visible to Read.
	Append(ctx context.Context, msgs []*Message) error
	// Read returns up to max messages of one queue starting at offset, with
	// at most maxBytes of bodies (at least one message if any is there).
	// Reading at Max returns no messages and no error; below Min returns ErrOffsetRange.
	Read(ctx context.Context, topic string, queueID int32, offset int64, max int, maxBytes int) ([]*Message, error)
	// Range reports the offsets a queue holds; an unknown queue is {0, 0}.
	Range(topic string, queueID int32) QueueRange
	// Get reads one message by its commit-log offset.
	Get(ctx context.Context, commitLogOffset int64) (*Message, error)
	// LookupID returns commit-log offsets of messages with this message id (newest first).
	LookupID(ctx context.Context, messageID string) ([]int64, error)
	// LookupKey returns commit-log offsets of messages of topic carrying key (newest first, at most max).
	LookupKey(ctx context.Context, topic, key string, max int) ([]int64, error)
	// OffsetForTime returns the first queue offset whose store time is ≥ t (Max if none).
	OffsetForTime(ctx context.Context, topic string, queueID int32, t time.Time) (int64, error)
	// Notify returns a channel that is closed at the next append to (topic, queueID);
	// long-polling receivers wait on it instead of polling.
	Notify(topic string, queueID int32) <-chan struct{}
	// DeleteQueues forgets the consume queues of a topic (its commit-log
	// records age out with retention).
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
}
