package park

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/store"
)

// TimerKey names one scheduled message: its due time and a sequence number
// unique within the park.
type TimerKey struct {
	Due int64 // Unix ns
	Seq uint64
}

// DueTime is Due as a time.
func (k TimerKey) DueTime() time.Time { return time.Unix(0, k.Due) }

func (k TimerKey) bytes() []byte { return timeKey(k.Due, k.Seq) }

func parseTimerKey(b []byte) TimerKey {
	return TimerKey{Due: int64(binary.BigEndian.Uint64(b)), Seq: binary.BigEndian.Uint64(b[8:])}
}

// Timer is a scheduled message taken for firing.
type Timer struct {
	Key     TimerKey
	Message *store.Message
	// Mark is the store's end offset when the timer was marked as firing:
	// a copy appended by this firing is at or above it.
	Mark int64
}

// Schedule parks msgs until their DeliveryTime, which must be after 1970.
// All are stored or none; keys come back in msgs' order.
func (p *Park) Schedule(ctx context.Context, msgs []*store.Message) ([]TimerKey, error) {
	recs := make([][]byte, len(msgs))
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return nil, fmt.Errorf("schedule message %d: %w", i, err)
		}
		if m.DeliveryTime.UnixNano() <= 0 {
			return nil, fmt.Errorf("schedule message %s: delivery time %s is not after 1970", m.MessageID, m.DeliveryTime)
		}
		recs[i] = EncodeMessage(nil, m)
	}
	keys := make([]TimerKey, len(msgs))
	err := p.update(ctx, func(tx *bolt.Tx) error {
		timers := tx.Bucket(bucketTimers)
		for i, m := range msgs {
			seq, err := timers.NextSequence()
			if err != nil {
				return err
			}
			keys[i] = TimerKey{Due: m.DeliveryTime.UnixNano(), Seq: seq}
			k := keys[i].bytes()
			if err := timers.Put(k, recs[i]); err != nil {
				return err
			}
			if err := index(tx, m, KindTimer, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schedule %d messages: %w", len(msgs), err)
	}
	return keys, nil
}

// Cancel removes a scheduled message that is not firing yet, if it is of
// topic and has messageID, and returns it; otherwise ErrNotFound.
func (p *Park) Cancel(ctx context.Context, key TimerKey, topic, messageID string) (*store.Message, error) {
	var m *store.Message
	err := p.update(ctx, func(tx *bolt.Tx) error {
		m = nil
		k := key.bytes()
		rec := tx.Bucket(bucketTimers).Get(k)
		if rec == nil || tx.Bucket(bucketFiring).Get(k) != nil {
			return nil
		}
		dm, err := DecodeMessage(rec)
		if err != nil || dm.Topic != topic || dm.MessageID != messageID {
			return nil // a corrupt entry is left for the firing loop to report
		}
		if err := tx.Bucket(bucketTimers).Delete(k); err != nil {
			return err
		}
		if err := unindex(tx, topic, messageID, KindTimer, k); err != nil {
			return err
		}
		m = dm
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel timer: %w", err)
	}
	if m == nil {
		return nil, ErrNotFound
	}
	return m, nil
}

// NextDue reports the earliest due time of any scheduled message (firing
// ones included); ok is false when none is scheduled.
func (p *Park) NextDue() (due time.Time, ok bool, err error) {
	err = p.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketTimers).Cursor().First(); k != nil {
			due, ok = parseTimerKey(k).DueTime(), true
		}
		return nil
	})
	return due, ok, err
}

// TakeDue marks up to max messages due at or before now (and at least one
// with at most maxBytes of bodies in all) as firing with mark, and returns
// them oldest first. Entries that no longer decode are deleted and counted
// in dropped, so one bad record cannot stall every timer behind it.
func (p *Park) TakeDue(ctx context.Context, now time.Time, max, maxBytes int, mark int64) (due []Timer, dropped int, err error) {
	limit := now.UnixNano()
	err = p.update(ctx, func(tx *bolt.Tx) error {
		due, dropped = nil, 0
		timers, firing := tx.Bucket(bucketTimers), tx.Bucket(bucketFiring)
		var bad [][]byte
		size := 0
		c := timers.Cursor()
		for k, v := c.First(); k != nil && len(due) < max; k, v = c.Next() {
			key := parseTimerKey(k)
			if key.Due > limit {
				break
			}
			if firing.Get(k) != nil {
				continue // an earlier firing that failed; FiringTimers has it
			}
			m, err := DecodeMessage(v)
			if err != nil {
				bad = append(bad, append([]byte(nil), k...))
				continue
			}
			if len(due) > 0 && size+len(m.Body) > maxBytes {
				break
			}
			size += len(m.Body)
			due = append(due, Timer{Key: key, Message: m, Mark: mark})
		}
		for _, t := range due {
			if err := firing.Put(t.Key.bytes(), be64(uint64(mark))); err != nil {
				return err
			}
		}
		for _, k := range bad {
			if err := dropTimer(tx, k); err != nil {
				return err
			}
		}
		dropped = len(bad)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("take due timers: %w", err)
	}
	return due, dropped, nil
}

// dropTimer deletes an undecodable timer; its index entry cannot be found
// without the message, so Find skips it later (the record is gone).
func dropTimer(tx *bolt.Tx, k []byte) error {
	if err := tx.Bucket(bucketFiring).Delete(k); err != nil {
		return err
	}
	return tx.Bucket(bucketTimers).Delete(k)
}

// FiringTimers returns up to max timers marked as firing whose firing was
// not recorded as done (Fired): the node stopped or the append failed in
// between. Their copies may or may not be in the store already.
func (p *Park) FiringTimers(ctx context.Context, max int) ([]Timer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Timer
	err := p.view(func(tx *bolt.Tx) error {
		timers := tx.Bucket(bucketTimers)
		c := tx.Bucket(bucketFiring).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			rec := timers.Get(k)
			if rec == nil || len(v) != 8 || len(k) != 16 {
				continue
			}
			m, err := DecodeMessage(rec)
			if err != nil {
				return fmt.Errorf("timer %x: %w", k, err)
			}
			out = append(out, Timer{Key: parseTimerKey(k), Message: m, Mark: int64(binary.BigEndian.Uint64(v))})
		}
		return nil
	})
	return out, err
}

// Fired removes timers whose messages are now in their topics (or were
// dropped on purpose).
func (p *Park) Fired(ctx context.Context, timers []Timer) error {
	if len(timers) == 0 {
		return nil
	}
	err := p.update(ctx, func(tx *bolt.Tx) error {
		tb, fb := tx.Bucket(bucketTimers), tx.Bucket(bucketFiring)
		for _, t := range timers {
			k := t.Key.bytes()
			if tb.Get(k) == nil {
				continue
			}
			if err := errors.Join(tb.Delete(k), fb.Delete(k)); err != nil {
				return err
			}
			if err := unindex(tx, t.Message.Topic, t.Message.MessageID, KindTimer, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d fired timers: %w", len(timers), err)
	}
	return nil
}
