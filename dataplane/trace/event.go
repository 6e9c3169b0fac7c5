// Package trace records server-side message traces: what happened to every
// message (send, store, timer, transaction, each delivery attempt per group,
// ack, nack, timeout, dead-lettering) with times and client identities,
// without anything from the client. Events are buffered and written to the
// node's store in compact batches under a system topic, so they share the
// store's retention and are found again by message ID through its key index.
//
// Writer is the Recorder that does this (writer.go), EncodeBatch and
// DecodeBatch the batch format (codec.go) and Read the way back (read.go).
//
// May import: store.
package trace

import "time"

// Kind says what happened to a message.
type Kind uint8

// Event kinds. Values are persisted: append only, never renumber.
const (
	KindSend          Kind = iota + 1 // a producer's send was stored (or failed: Status set)
	KindTimerSchedule                 // a delay message was scheduled for DeliverAt
	KindTimerFire                     // a scheduled message became visible in its topic
	KindTimerRecall                   // a scheduled message was recalled before it fired
	KindTxnHalf                       // a transaction (half) message was stored, invisible
	KindTxnCommit                     // EndTransaction COMMIT (or commit after a check)
	KindTxnRollback                   // EndTransaction ROLLBACK, or rollback after the last check
	KindTxnCheck                      // an orphan check was sent to a producer
	KindTxnUnknown                    // EndTransaction with an UNKNOWN resolution (no-op)
	KindDeliver                       // delivery attempt Attempt to Group
	KindAck                           // Group acked the message
	KindNack                          // Group made it visible again later (change invisible)
	KindTimeout                       // the invisible time of a delivery passed without an ack
	KindDLQ                           // moved to Group's dead-letter queue (Detail: DLQ topic)
)

var kindNames = [...]string{
	KindSend: "SEND", KindTimerSchedule: "TIMER_SCHEDULE", KindTimerFire: "TIMER_FIRE",
	KindTimerRecall: "TIMER_RECALL", KindTxnHalf: "TXN_HALF", KindTxnCommit: "TXN_COMMIT",
	KindTxnRollback: "TXN_ROLLBACK", KindTxnCheck: "TXN_CHECK", KindTxnUnknown: "TXN_UNKNOWN",
	KindDeliver: "DELIVER", KindAck: "ACK", KindNack: "NACK", KindTimeout: "TIMEOUT", KindDLQ: "DLQ",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "UNKNOWN"
}

// Event is one thing that happened to one message. Only the fields that
// mean something for the Kind are set.
type Event struct {
	Kind      Kind
	Time      time.Time
	MessageID string
	Topic     string // the message's own topic (not a system topic)

	Group    string // consumer group: deliveries, acks, nacks, timeouts, DLQ
	ClientID string // producer or consumer client id
	Host     string // client address, when known

	Attempt        int32         // delivery attempt (1 = first)
	InvisibleUntil time.Time     // deliveries and nacks
	DeliverAt      time.Time     // timer schedule
	Cost           time.Duration // send: time from arrival to stored
	QueueID        int32         // send/fire/commit: where it was stored
	QueueOffset    int64
	Status         string // failure text; empty = success
	Detail         string // DLQ topic, transaction id, ...
}

// Recorder takes events. Implementations must not block the caller: a
// trace is worth less than the message path it describes.
type Recorder interface {
	Record(ev Event)
}
