package broker

import (
	"context"

	"github.com/orbitmq/orbit/dataplane/store"
)

// RunParkRound runs one round of the park loop synchronously: fire due
// scheduled messages (finishing interrupted firings first), finish
// interrupted commits, forget old decisions. Tests drive time with the
// injected clock and call this instead of waiting for Run's loop.
func RunParkRound(b *Broker) { b.parkRound(context.Background()) }

// SetAfterFireAppend makes firing call f after appending a batch and before
// recording it as fired; an error stops there, as a crash would.
func SetAfterFireAppend(b *Broker, f func() error) { b.afterFireAppend = f }

// SetAfterCommitAppend does the same for transaction commits.
func SetAfterCommitAppend(b *Broker, f func() error) { b.afterCommitAppend = f }

// FindParked exposes findParked.
func FindParked(b *Broker, topic, messageID string) (*store.Message, MessageState, error) {
	return b.findParked(context.Background(), topic, messageID)
}
