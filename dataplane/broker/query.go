package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// MessageQuery selects messages of one topic: by MessageID, by Key, or by
// store time in [Start, End). Exactly one way must be given.
type MessageQuery struct {
	Topic      string
	MessageID  string
	Key        string
	Start, End time.Time
	Cursor     string // from the previous page's NextCursor
	Limit      int    // messages per page (default 20, at most 100)
}

// MessageState is where a message is in its life before consumption.
type MessageState string

const (
	MessageStored    MessageState = "STORED"    // visible in its topic
	MessageScheduled MessageState = "SCHEDULED" // a delay message waiting for its time
	MessageHalf      MessageState = "HALF"      // a transaction message not yet committed
)

// DeliveryState is one consumer group's progress on one message.
type DeliveryState string

const (
	DeliveryPending  DeliveryState = "NOT_DELIVERED"
	DeliveryInFlight DeliveryState = "IN_FLIGHT"
	DeliveryAcked    DeliveryState = "ACKED"
	DeliveryRetrying DeliveryState = "RETRYING" // delivered, not acked, waiting for its next attempt
	DeliveryDLQ      DeliveryState = "DLQ"
)

// GroupDelivery is one group's state for a message.
type GroupDelivery struct {
	Group          string
	State          DeliveryState
	Attempt        int32     // deliveries so far (0: none)
	InvisibleUntil time.Time // IN_FLIGHT
}

// MessageInfo is a found message with its delivery state per group.
type MessageInfo struct {
	Message *store.Message
	State   MessageState
	Groups  []GroupDelivery
}

// MessagePage is one page of a query.
type MessagePage struct {
	Messages   []MessageInfo
	NextCursor string // empty: no more
}

// QueryMessages finds messages; see MessageQuery. The work per call is
// bounded, so a page may be short (even empty) with a NextCursor.
func (b *Broker) QueryMessages(ctx context.Context, q MessageQuery) (MessagePage, error) {
	return MessagePage{}, fmt.Errorf("%w: message query", ErrUnsupported)
}

// Trace returns the recorded trace events of a message, oldest first.
func (b *Broker) Trace(ctx context.Context, topic, messageID string) ([]trace.Event, error) {
	return nil, fmt.Errorf("%w: message trace", ErrUnsupported)
}
