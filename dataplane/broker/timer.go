package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/orbitmq/orbit/dataplane/store"
)

var (
	// ErrIllegalDeliveryTime: a delay message's delivery time is beyond
	// Config.MaxDelay.
	ErrIllegalDeliveryTime = errors.New("illegal delivery time")
	// ErrRecallNotFound: the recall handle names no scheduled message (it
	// fired already, was recalled, or never existed).
	ErrRecallNotFound = errors.New("no scheduled message for this recall handle")
)

// Recall cancels a scheduled delay message before it fires and returns its
// message id.
func (b *Broker) Recall(ctx context.Context, topic, handle string) (string, error) {
	return "", fmt.Errorf("%w: recall", ErrUnsupported)
}

// findParked returns a message of topic with messageID that is held back
// from its topic (a scheduled delay message or an unresolved transaction
// message), and which of the two; nil if there is none. QueryMessages uses
// it so such messages can be found before they become visible.
func (b *Broker) findParked(ctx context.Context, topic, messageID string) (*store.Message, MessageState, error) {
	return nil, "", nil
}
