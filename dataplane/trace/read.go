package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/orbitmq/orbit/dataplane/store"
)

// MaxReadBatches bounds Read: it decodes at most this many batches, the
// newest. A message's events usually span a few batches (send, then each
// delivery and its ack or timeout), so this covers many redeliveries to
// several groups.
const MaxReadBatches = 128

// Read returns the stored events of one message, oldest first (events with
// the same time keep the order they were recorded in). It finds the batches
// through the store's key index. Batches that are gone (retention) or in a
// format this build cannot read are skipped; events still in a Writer's
// buffer are not seen until flushed.
func Read(ctx context.Context, st store.Store, messageID string) ([]Event, error) {
	if messageID == "" {
		return nil, nil
	}
	offs, err := st.LookupKey(ctx, Topic, messageID, MaxReadBatches)
	if err != nil {
		return nil, fmt.Errorf("look up trace of %q: %w", messageID, err)
	}
	var out []Event
	// Offsets come newest first; read oldest first so the stable sort keeps
	// same-time events in recording order.
	for _, off := range slices.Backward(offs) {
		m, err := st.Get(ctx, off)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // deleted by retention since the lookup
		case err != nil:
			return nil, fmt.Errorf("read trace batch at %d: %w", off, err)
		case m.Topic != Topic:
			continue
		}
		evs, err := DecodeBatch(m.Keys, m.Body)
		if err != nil {
			continue // ErrVersion or ErrMalformed: skip the batch, keep the rest
		}
		for i := range evs {
			if evs[i].MessageID == messageID {
				out = append(out, evs[i])
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}
