package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker/park"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

// Transactions. Send parks a TRANSACTION message in park.db as a pending
// transaction (a half message, invisible to consumers) and returns its id.
// A commit moves it to its topic in three steps, like a firing timer
// (timer.go): mark it committing with the store's end offset, append, record
// it committed; a commit left half done by a crash or a failed append is
// finished by the next commit call or by the park loop, which first looks
// for the copy above the mark. Decisions are kept for
// Config.TxnKeepResolved so repeated or late EndTransaction calls get
// consistent answers, then forgotten.
//
// Orphan checks are pulled, not pushed: the proxy calls TakeTxnChecks about
// every second and forwards what is due to live producers. Each pending
// transaction sits in an index by next-check time, so only due ones are read.

// ErrTransactionNotFound: EndTransaction named a transaction this broker
// does not hold (never sent, or resolved so long ago it was forgotten).
var ErrTransactionNotFound = errors.New("transaction not found")

// Resolution is a producer's decision on a transaction.
type Resolution int

const (
	ResolutionUnknown  Resolution = iota // "not yet": no state change, checks go on
	ResolutionCommit                     // deliver the half message
	ResolutionRollback                   // discard it
)

// TxnCheck is an orphan check due now: the proxy sends it to a live
// producer of Message.Topic as RecoverOrphanedTransactionCommand.
type TxnCheck struct {
	TransactionID string
	Message       *store.Message // the half message, with its real topic
}

// statusMaxChecks is the trace status of a rollback by the checker.
const statusMaxChecks = "max checks reached"

// EndTransaction resolves a transaction. Resolving an already-resolved
// transaction the same way again is accepted; the opposite way, or naming
// it with another topic or message id, is ErrInvalidArgument; an unknown id
// is ErrTransactionNotFound. ResolutionUnknown changes nothing.
func (b *Broker) EndTransaction(ctx context.Context, topic, messageID, transactionID string, r Resolution, fromCheck bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := park.ParseTxnID(transactionID)
	if err != nil {
		return fmt.Errorf("end transaction: %w: %w", ErrTransactionNotFound, err)
	}
	c := CallerFrom(ctx)
	ev := trace.Event{Topic: topic, MessageID: messageID, ClientID: c.ClientID, Host: c.Addr, Detail: transactionID}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	switch r {
	case ResolutionUnknown:
		t, err := b.park.Txn(ctx, id)
		if err != nil {
			return b.txnError(transactionID, err)
		}
		if t.Topic != topic || t.MessageID != messageID {
			return b.txnError(transactionID, fmt.Errorf("%w: it is message %s of topic %q", park.ErrMismatch, t.MessageID, t.Topic))
		}
		ev.Kind = trace.KindTxnUnknown
		b.trace(ev)
		return nil
	case ResolutionCommit:
		return b.commit(ctx, id, topic, messageID, ev)
	case ResolutionRollback:
		return b.rollback(ctx, id, topic, messageID, ev)
	default:
		return fmt.Errorf("%w: transaction resolution %d", ErrInvalidArgument, r)
	}
}

// txnError maps park errors of transaction id to the broker's.
func (b *Broker) txnError(id string, err error) error {
	switch {
	case errors.Is(err, park.ErrNotFound):
		return fmt.Errorf("transaction %s: %w", id, ErrTransactionNotFound)
	case errors.Is(err, park.ErrMismatch):
		return fmt.Errorf("%w: transaction %s: %w", ErrInvalidArgument, id, err)
	case errors.Is(err, park.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("transaction %s: %w", id, err)
}

func (b *Broker) rollback(ctx context.Context, id park.TxnID, topic, messageID string, ev trace.Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	prev, _, err := b.park.Resolve(ctx, id, topic, messageID, false, 0, b.now())
	if err != nil {
		return b.txnError(ev.Detail, err)
	}
	switch prev {
	case park.TxnPending:
		ev.Kind = trace.KindTxnRollback
		b.trace(ev)
		b.metrics.txnResolved(topic, "rollback")
		b.log.Debug("transaction rolled back", "topic", topic, "message_id", messageID, "transaction_id", ev.Detail)
		return nil
	case park.TxnRolledBack:
		return nil
	default:
		return fmt.Errorf("%w: transaction %s is already committed", ErrInvalidArgument, ev.Detail)
	}
}

func (b *Broker) commit(ctx context.Context, id park.TxnID, topic, messageID string, ev trace.Event) error {
	// One commit per transaction at a time, so a retried commit and the park
	// loop never append the same half message twice.
	l := &b.txnLocks[id.Seq%uint64(len(b.txnLocks))]
	l.Lock()
	defer l.Unlock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	mark := b.st.Stats().MaxCommitLog
	prev, t, err := b.park.Resolve(ctx, id, topic, messageID, true, mark, b.now())
	if err != nil {
		return b.txnError(ev.Detail, err)
	}
	switch prev {
	case park.TxnRolledBack:
		return fmt.Errorf("%w: transaction %s is already rolled back", ErrInvalidArgument, ev.Detail)
	case park.TxnCommitted:
		return nil
	}
	return b.deliverTxnLocked(ctx, t, prev == park.TxnCommitting, ev)
}

// deliverTxnLocked appends a committing transaction's message to its topic
// and records the commit. With recovering, a copy appended by an earlier,
// interrupted attempt is looked for first. Callers hold the transaction's
// lock and b.mu read-locked.
func (b *Broker) deliverTxnLocked(ctx context.Context, t park.Txn, recovering bool, ev trace.Event) error {
	m := t.Message
	var stored *store.Message
	if recovering {
		c, err := b.findCopy(ctx, m.Topic, m.MessageID, t.Mark)
		if err != nil {
			return fmt.Errorf("commit transaction %s: %w", ev.Detail, err)
		}
		stored = c
	}
	if stored == nil {
		if te, ok := b.topics[m.Topic]; ok {
			m.QueueID = int32((te.rr.Add(1) - 1) % uint64(te.Queues))
			if err := b.st.Append(ctx, []*store.Message{m}); err != nil {
				return fmt.Errorf("commit transaction %s: append to %q: %w", ev.Detail, m.Topic, err)
			}
			stored = m
		} else {
			b.log.Warn("committed transaction message dropped: its topic was deleted", "topic", m.Topic, "message_id", m.MessageID, "transaction_id", ev.Detail)
			ev.Status = "topic deleted"
		}
	}
	if b.afterCommitAppend != nil {
		if err := b.afterCommitAppend(); err != nil {
			return err
		}
	}
	if err := b.park.FinishCommit(ctx, t.ID, b.now()); err != nil {
		return fmt.Errorf("commit transaction %s: %w", ev.Detail, err)
	}
	ev.Kind = trace.KindTxnCommit
	if stored != nil {
		ev.QueueID, ev.QueueOffset = stored.QueueID, stored.QueueOffset
	}
	b.trace(ev)
	b.metrics.txnResolved(m.Topic, "commit")
	return nil
}

// finishCommits completes commits a crash or a failed append interrupted.
func (b *Broker) finishCommits(ctx context.Context) error {
	stuck, err := b.park.Committing(ctx, commitRetryBatch)
	if err != nil {
		return err
	}
	for _, s := range stuck {
		if err := b.finishCommit(ctx, s.ID); err != nil {
			return err
		}
	}
	return nil
}

func (b *Broker) finishCommit(ctx context.Context, id park.TxnID) error {
	l := &b.txnLocks[id.Seq%uint64(len(b.txnLocks))]
	l.Lock()
	defer l.Unlock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	t, err := b.park.Txn(ctx, id) // read again under the lock: a caller may have finished it
	if errors.Is(err, park.ErrNotFound) || (err == nil && t.State != park.TxnCommitting) {
		return nil
	}
	if err != nil {
		return err
	}
	ev := trace.Event{Topic: t.Topic, MessageID: t.MessageID, Detail: id.String()}
	return b.deliverTxnLocked(ctx, t, true, ev)
}

// TakeTxnChecks returns up to max orphan checks that are due, and counts
// them as sent (the next check of each is scheduled with backoff). A
// transaction that already had TxnCheckMax checks is rolled back instead.
func (b *Broker) TakeTxnChecks(ctx context.Context, max int) ([]TxnCheck, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	now := b.now()
	checks, rolledBack, err := b.park.TakeChecks(ctx, now, max, func(done int32) (time.Time, bool) {
		if int(done) >= b.cfg.TxnCheckMax {
			return time.Time{}, true
		}
		return now.Add(b.txnCheckGap(done + 1)), false
	})
	if err != nil {
		return nil, fmt.Errorf("take transaction checks: %w", err)
	}
	for _, t := range rolledBack {
		b.trace(trace.Event{
			Kind: trace.KindTxnRollback, Time: now, MessageID: t.MessageID, Topic: t.Topic,
			Status: statusMaxChecks, Detail: t.ID.String(),
		})
		b.metrics.txnResolved(t.Topic, "check_rollback")
		b.log.Info("transaction rolled back: no decision after the last orphan check",
			"topic", t.Topic, "message_id", t.MessageID, "transaction_id", t.ID.String(), "checks", t.Checks)
	}
	out := make([]TxnCheck, len(checks))
	for i, t := range checks {
		out[i] = TxnCheck{TransactionID: t.ID.String(), Message: t.Message}
		b.trace(trace.Event{
			Kind: trace.KindTxnCheck, Time: now, MessageID: t.MessageID, Topic: t.Topic,
			Attempt: t.Checks, Detail: t.ID.String(),
		})
	}
	return out, nil
}

// txnCheckGap is the wait after check n (1-based): TxnCheckInterval doubled
// n-1 times, at most TxnCheckMaxInterval.
func (b *Broker) txnCheckGap(n int32) time.Duration {
	gap := b.cfg.TxnCheckInterval
	for i := int32(1); i < n && gap < b.cfg.TxnCheckMaxInterval; i++ {
		gap *= 2
	}
	return min(gap, b.cfg.TxnCheckMaxInterval)
}
