package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/orbitmq/orbit/dataplane/store"
)

// ErrDeadLetterNotFound: the group's dead-letter topic holds no message with
// the id.
var ErrDeadLetterNotFound = errors.New("dead-letter message not found")

// ResendDeadLetter sends a fresh copy of a message dead-lettered by group
// (the newest copy in DLQTopic(group) with messageID) to its original topic:
// same message id, body, tag, keys, message group and properties, delivered
// at once. The dead-letter copy stays where it is. It returns the topic the
// copy went to. A delay topic gets the copy due now; a transaction topic
// refuses it (ErrTypeMismatch).
func (b *Broker) ResendDeadLetter(ctx context.Context, group, messageID string) (string, error) {
	if messageID == "" {
		return "", fmt.Errorf("%w: a message id is required", ErrInvalidArgument)
	}
	dlq := DLQTopic(group)
	offs, err := b.st.LookupID(ctx, messageID)
	if err != nil {
		return "", fmt.Errorf("look up message %q: %w", messageID, err)
	}
	var dead *store.Message
	for _, off := range offs { // newest first
		m, err := b.st.Get(ctx, off)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed by retention
		}
		if err != nil {
			return "", fmt.Errorf("read message %q: %w", messageID, err)
		}
		if m.Topic == dlq {
			dead = m
			break
		}
	}
	if dead == nil {
		return "", fmt.Errorf("message %q in %q: %w", messageID, dlq, ErrDeadLetterNotFound)
	}
	origin := dead.OriginTopic
	if origin == "" {
		return "", fmt.Errorf("%w: dead-letter message %q has no origin topic", ErrInvalidArgument, messageID)
	}
	b.mu.RLock()
	te, ok := b.topics[origin]
	b.mu.RUnlock()
	if !ok {
		return origin, fmt.Errorf("resend to %q: %w", origin, ErrTopicNotFound)
	}
	id := dead.OriginMessageID
	if id == "" {
		id = dead.MessageID
	}
	c := &store.Message{
		Topic:      origin,
		MessageID:  id,
		Type:       storeTypeOf[te.Type],
		Tag:        dead.Tag,
		Keys:       dead.Keys,
		Group:      dead.Group,
		Properties: dead.Properties,
		Body:       dead.Body,
		BornTime:   dead.BornTime,
		BornHost:   dead.BornHost,
	}
	switch c.Type {
	case store.TypeDelay:
		c.DeliveryTime = b.now()
	case store.TypeTransaction:
		return origin, fmt.Errorf("resend to transaction topic %q: %w", origin, ErrTypeMismatch)
	}
	if _, err := b.Send(ctx, []*store.Message{c}); err != nil {
		return origin, err
	}
	b.log.Info("dead letter resent", "group", group, "topic", origin, "message_id", id)
	return origin, nil
}
