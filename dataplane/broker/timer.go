package broker

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// Scheduled delay messages (timers) and half messages wait in park.db
// (package park), not in the commit log, so retention cannot delete them
// and nothing per message is held in memory. One goroutine started by Run
// (runPark) fires due timers, finishes interrupted commits and forgets old
// transaction decisions; it sleeps until the earliest due time, at most
// timerTick, and Send wakes it when it schedules an earlier message.
//
// Exactly-once firing: a batch of due timers is first marked as firing in
// park.db together with the store's end offset (the mark), then appended to
// the topics, then removed. A batch still marked when the loop starts a
// round (the node died, or the append failed) is looked up by message id in
// the store: a copy in the right topic at or above the mark means the append
// happened and only the removal is left; otherwise it is appended again.
// Transaction commits follow the same three steps (txn.go).
//
// Lock order (extends doc.go): Broker.fireMu or one of Broker.txnLocks, then
// Broker.mu (read), then the store and park.db as leaves.

var (
	// ErrIllegalDeliveryTime: a delay message's delivery time is beyond
	// Config.MaxDelay.
	ErrIllegalDeliveryTime = errors.New("illegal delivery time")
	// ErrRecallNotFound: the recall handle names no scheduled message (it
	// fired already, was recalled, or never existed).
	ErrRecallNotFound = errors.New("no scheduled message for this recall handle")
)

const (
	// timerTick is the longest the firing loop sleeps; it bounds how late a
	// message fires when a wake-up is missed.
	timerTick = 100 * time.Millisecond
	// fireBatch and fireBatchBytes bound one firing step (one append).
	fireBatch      = 1024
	fireBatchBytes = 16 << 20
	// sweepEvery is how often decisions older than TxnKeepResolved are forgotten.
	sweepEvery = time.Minute
	// commitRetryBatch bounds the interrupted commits finished per round.
	commitRetryBatch = 64
)

// schedule parks delay messages due after now. Callers hold b.mu read-locked.
func (b *Broker) schedule(ctx context.Context, msgs []*store.Message) ([]park.TimerKey, error) {
	keys, err := b.park.Schedule(ctx, msgs)
	if err != nil {
		return nil, err
	}
	earliest := int64(math.MaxInt64)
	for _, k := range keys {
		earliest = min(earliest, k.Due)
	}
	for {
		cur := b.nextDue.Load()
		if earliest >= cur {
			return keys, nil
		}
		if b.nextDue.CompareAndSwap(cur, earliest) {
			break
		}
	}
	select {
	case b.timerKick <- struct{}{}:
	default:
	}
	return keys, nil
}

// runPark is the timer loop; it returns when ctx ends or the broker closes.
func (b *Broker) runPark(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.closing:
			return
		case <-t.C:
		case <-b.timerKick:
		}
		t.Reset(b.parkRound(ctx))
	}
}

// parkRound does one round of the loop's work and says how long to sleep.
func (b *Broker) parkRound(ctx context.Context) time.Duration {
	b.fireMu.Lock()
	defer b.fireMu.Unlock()
	if err := b.fireTimers(ctx); err != nil {
		if !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			b.log.Warn("fire scheduled messages; retrying", "err", err)
		}
		return timerTick
	}
	if err := b.finishCommits(ctx); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
		b.log.Warn("finish interrupted transaction commits; retrying", "err", err)
	}
	if now := b.now(); now.Sub(b.lastSweep) >= sweepEvery {
		b.lastSweep = now
		if n, err := b.park.ForgetResolved(ctx, now.Add(-b.cfg.TxnKeepResolved), 10000); err != nil {
			b.log.Warn("forget resolved transactions", "err", err)
		} else if n > 0 {
			b.log.Debug("forgot resolved transactions", "count", n)
		}
	}
	due, ok, err := b.park.NextDue()
	if err != nil || !ok {
		b.nextDue.Store(math.MaxInt64)
		return timerTick
	}
	b.nextDue.Store(due.UnixNano())
	return min(max(due.Sub(b.now()), time.Millisecond), timerTick)
}

// fireTimers first finishes firings that were interrupted, then fires
// everything due, a batch at a time.
func (b *Broker) fireTimers(ctx context.Context) error {
	for {
		stuck, err := b.park.FiringTimers(ctx, fireBatch)
		if err != nil {
			return err
		}
		if len(stuck) == 0 {
			break
		}
		if err := b.fire(ctx, stuck, true); err != nil {
			return err
		}
	}
	for {
		// Peek first: marking is a write, and most rounds find nothing due.
		now := b.now()
		due, ok, err := b.park.NextDue()
		if err != nil || !ok || due.After(now) {
			return err
		}
		mark := b.st.Stats().MaxCommitLog
		timers, dropped, err := b.park.TakeDue(ctx, now, fireBatch, fireBatchBytes, mark)
		if err != nil {
			return err
		}
		if dropped > 0 {
			b.log.Error("dropped scheduled messages whose records in park.db are corrupt", "count", dropped)
		}
		if len(timers) == 0 {
			return nil
		}
		if err := b.fire(ctx, timers, false); err != nil {
			return err
		}
	}
}

// fire appends timers' messages to their topics and records them as fired.
// With recovering, each is first looked for in the store above its mark.
func (b *Broker) fire(ctx context.Context, timers []park.Timer, recovering bool) error {
	type fired struct {
		m      *store.Message
		status string
	}
	out := make([]fired, 0, len(timers))
	var appends []*store.Message
	err := func() error {
		b.mu.RLock()
		defer b.mu.RUnlock()
		if b.closed {
			return ErrClosed
		}
		for _, t := range timers {
			m := t.Message
			if recovering {
				c, err := b.findCopy(ctx, m.Topic, m.MessageID, t.Mark)
				if err != nil {
					return err
				}
				if c != nil {
					out = append(out, fired{m: c})
					continue
				}
			}
			te, ok := b.topics[m.Topic]
			if !ok {
				b.log.Warn("scheduled message dropped: its topic was deleted", "topic", m.Topic, "message_id", m.MessageID)
				out = append(out, fired{m: m, status: "topic deleted"})
				continue
			}
			m.QueueID = int32((te.rr.Add(1) - 1) % uint64(te.Queues))
			appends = append(appends, m)
			out = append(out, fired{m: m})
		}
		if len(appends) == 0 {
			return nil
		}
		if err := b.st.Append(ctx, appends); err != nil {
			return fmt.Errorf("append %d scheduled messages: %w", len(appends), err)
		}
		return nil
	}()
	if err != nil {
		return err
	}
	if b.afterFireAppend != nil {
		if err := b.afterFireAppend(); err != nil {
			return err
		}
	}
	if err := b.park.Fired(ctx, timers); err != nil {
		return err
	}
	now := b.now()
	for _, f := range out {
		b.trace(trace.Event{
			Kind: trace.KindTimerFire, Time: now, MessageID: f.m.MessageID, Topic: f.m.Topic,
			DeliverAt: f.m.DeliveryTime, QueueID: f.m.QueueID, QueueOffset: f.m.QueueOffset, Status: f.status,
		})
		if f.status == "" {
			b.metrics.timerFired(f.m.Topic, now.Sub(f.m.DeliveryTime))
		}
	}
	return nil
}

// findCopy looks for a message of topic with messageID stored at or above
// commit-log offset mark: the copy an interrupted firing or commit may have
// appended.
func (b *Broker) findCopy(ctx context.Context, topic, messageID string, mark int64) (*store.Message, error) {
	offs, err := b.st.LookupID(ctx, messageID)
	if err != nil {
		return nil, fmt.Errorf("look up message %s: %w", messageID, err)
	}
	for _, off := range offs { // newest first
		if off < mark {
			break
		}
		m, err := b.st.Get(ctx, off)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read message %s at %d: %w", messageID, off, err)
		}
		if m.Topic == topic && m.MessageID == messageID {
			return m, nil
		}
	}
	return nil, nil
}

// Recall cancels a scheduled delay message before it fires and returns its
// message id. A handle that does not decode or names another topic is
// ErrInvalidArgument; one whose message fired, was recalled or is unknown
// is ErrRecallNotFound.
func (b *Broker) Recall(ctx context.Context, topic, handle string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	htopic, key, id, err := decodeRecallHandle(handle)
	if err != nil {
		return "", fmt.Errorf("%w: recall handle: %w", ErrInvalidArgument, err)
	}
	if htopic != topic {
		return "", fmt.Errorf("%w: recall handle is for topic %q, not %q", ErrInvalidArgument, htopic, topic)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return "", ErrClosed
	}
	m, err := b.park.Cancel(ctx, key, topic, id)
	switch {
	case errors.Is(err, park.ErrNotFound):
		return "", fmt.Errorf("recall message %s of %q: %w", id, topic, ErrRecallNotFound)
	case err != nil:
		return "", fmt.Errorf("recall message %s of %q: %w", id, topic, err)
	}
	c := CallerFrom(ctx)
	b.trace(trace.Event{
		Kind: trace.KindTimerRecall, MessageID: id, Topic: topic,
		ClientID: c.ClientID, Host: c.Addr, DeliverAt: m.DeliveryTime,
	})
	b.log.Debug("scheduled message recalled", "topic", topic, "message_id", id)
	return id, nil
}

// Recall handles are base64url (unpadded) of:
//
//	u8 version (1) | uvarint length, topic | u64 BE due (Unix ns) | u64 BE sequence | uvarint length, message id
//
// The key finds the timer directly; topic and id are checked against it, so
// a forged handle cannot recall another topic's message.
const recallHandleVersion = 1

func encodeRecallHandle(topic string, key park.TimerKey, messageID string) string {
	b := make([]byte, 0, 24+len(topic)+len(messageID))
	b = append(b, recallHandleVersion)
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	b = binary.BigEndian.AppendUint64(b, uint64(key.Due))
	b = binary.BigEndian.AppendUint64(b, key.Seq)
	b = binary.AppendUvarint(b, uint64(len(messageID)))
	b = append(b, messageID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeRecallHandle(h string) (topic string, key park.TimerKey, messageID string, err error) {
	bad := errors.New("not a handle this broker issued")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || len(b) < 1 || b[0] != recallHandleVersion {
		return "", park.TimerKey{}, "", bad
	}
	b = b[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	topic, ok := str()
	if !ok || len(b) < 16 {
		return "", park.TimerKey{}, "", bad
	}
	key = park.TimerKey{Due: int64(binary.BigEndian.Uint64(b)), Seq: binary.BigEndian.Uint64(b[8:])}
	b = b[16:]
	messageID, ok = str()
	if !ok || len(b) != 0 || messageID == "" {
		return "", park.TimerKey{}, "", bad
	}
	return topic, key, messageID, nil
}

// findParked returns a message of topic with messageID that is held back
// from its topic (a scheduled delay message or an unresolved transaction
// message), and which of the two; nil if there is none. QueryMessages uses
// it so such messages can be found before they become visible.
func (b *Broker) findParked(ctx context.Context, topic, messageID string) (*store.Message, MessageState, error) {
	m, kind, err := b.park.Find(ctx, topic, messageID)
	switch {
	case errors.Is(err, park.ErrClosed):
		return nil, "", ErrClosed
	case err != nil:
		return nil, "", fmt.Errorf("find parked message %s of %q: %w", messageID, topic, err)
	case m == nil:
		return nil, "", nil
	case kind == park.KindTimer:
		return m, MessageScheduled, nil
	default:
		return m, MessageHalf, nil
	}
}
