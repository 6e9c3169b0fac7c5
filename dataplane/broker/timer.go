package broker

import (
	"context"
	"errors"
	"fmt"
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
