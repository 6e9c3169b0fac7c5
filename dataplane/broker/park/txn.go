package park

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/store"
)

// ErrMismatch: a transaction was named with a topic or message id that is
// not its own.
var ErrMismatch = errors.New("transaction belongs to another message")

// TxnState is where a transaction is.
type TxnState byte

const (
	TxnPending    TxnState = 1 // half message stored, no decision yet
	TxnCommitting TxnState = 2 // committed; the copy may not be in its topic yet
	TxnCommitted  TxnState = 3 // the copy is in its topic (or was dropped on purpose)
	TxnRolledBack TxnState = 4 // discarded
)

func (s TxnState) String() string {
	switch s {
	case TxnPending:
		return "pending"
	case TxnCommitting:
		return "committing"
	case TxnCommitted:
		return "committed"
	case TxnRolledBack:
		return "rolled back"
	}
	return fmt.Sprintf("state(%d)", byte(s))
}

// TxnID names a transaction: a sequence number unique within the park and
// a random salt, so ids of another park.db (or guessed ones) do not match.
type TxnID struct {
	Seq  uint64
	Salt uint64
}

// String is the opaque transaction id given to producers: 32 hex digits.
func (id TxnID) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], id.Seq)
	binary.BigEndian.PutUint64(b[8:], id.Salt)
	return hex.EncodeToString(b[:])
}

// ParseTxnID reads an id made by TxnID.String.
func ParseTxnID(s string) (TxnID, error) {
	var b [16]byte
	if len(s) != 32 {
		return TxnID{}, fmt.Errorf("transaction id %q is not 32 hex digits", s)
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return TxnID{}, fmt.Errorf("transaction id %q is not 32 hex digits", s)
	}
	return TxnID{Seq: binary.BigEndian.Uint64(b[:8]), Salt: binary.BigEndian.Uint64(b[8:])}, nil
}

func (id TxnID) key() []byte { return be64(id.Seq) }

// Txn is a transaction record.
type Txn struct {
	ID               TxnID
	State            TxnState
	Topic, MessageID string
	// Message is the half message while pending or committing; nil once
	// resolved (only the decision is kept).
	Message   *store.Message
	Checks    int32     // orphan checks sent so far
	NextCheck time.Time // pending: when the next check is due
	Mark      int64     // committing: the store's end offset when the commit began
	Created   time.Time
	Resolved  time.Time // committed or rolled back: when
}

// Transaction record, version 1: u8 version, u8 state, 8-byte salt, uvarint
// checks, varints next check, mark, created, resolved (Unix ns, 0 = unset),
// strings topic and message id, then the message record as a byte string
// (empty once resolved).
const txnVersion = 1

func encodeTxn(t *Txn) []byte {
	b := []byte{txnVersion, byte(t.State)}
	b = binary.BigEndian.AppendUint64(b, t.ID.Salt)
	b = binary.AppendUvarint(b, uint64(t.Checks))
	for _, v := range [...]int64{unixNano(t.NextCheck), t.Mark, unixNano(t.Created), unixNano(t.Resolved)} {
		b = binary.AppendVarint(b, v)
	}
	b = appendString(b, t.Topic)
	b = appendString(b, t.MessageID)
	var rec []byte
	if t.Message != nil {
		rec = EncodeMessage(nil, t.Message)
	}
	return appendBytes(b, rec)
}

func decodeTxn(key, data []byte) (Txn, error) {
	if len(key) != 8 {
		return Txn{}, fmt.Errorf("%w: transaction key of %d bytes", ErrCorrupt, len(key))
	}
	d := decoder{buf: data}
	if v := d.byte(); v != txnVersion && d.err == nil {
		return Txn{}, fmt.Errorf("%w: transaction record version %d", ErrCorrupt, v)
	}
	t := Txn{State: TxnState(d.byte())}
	var salt [8]byte
	for i := range salt {
		salt[i] = d.byte()
	}
	t.ID = TxnID{Seq: binary.BigEndian.Uint64(key), Salt: binary.BigEndian.Uint64(salt[:])}
	checks := d.uvarint()
	next, mark, created, resolved := d.varint(), d.varint(), d.varint(), d.varint()
	t.Topic, t.MessageID = d.string(), d.string()
	rec := d.raw()
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return Txn{}, d.err
	}
	if checks > 1<<31-1 || t.State < TxnPending || t.State > TxnRolledBack {
		return Txn{}, fmt.Errorf("%w: transaction record out of range", ErrCorrupt)
	}
	t.Checks, t.Mark = int32(checks), mark
	t.NextCheck, t.Created, t.Resolved = fromUnixNano(next), fromUnixNano(created), fromUnixNano(resolved)
	if len(rec) > 0 {
		m, err := DecodeMessage(rec)
		if err != nil {
			return Txn{}, err
		}
		t.Message = m
	}
	return t, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func getTxn(tx *bolt.Tx, id TxnID) (Txn, bool, error) {
	k := id.key()
	rec := tx.Bucket(bucketTxns).Get(k)
	if rec == nil {
		return Txn{}, false, nil
	}
	t, err := decodeTxn(k, rec)
	if err != nil {
		return Txn{}, false, fmt.Errorf("transaction %d: %w", id.Seq, err)
	}
	if t.ID.Salt != id.Salt {
		return Txn{}, false, nil
	}
	return t, true, nil
}

func putTxn(tx *bolt.Tx, t *Txn) error {
	return tx.Bucket(bucketTxns).Put(t.ID.key(), encodeTxn(t))
}

// Begin parks msgs as half messages of new transactions, each first due for
// an orphan check at firstCheck. All are stored or none.
func (p *Park) Begin(ctx context.Context, msgs []*store.Message, now, firstCheck time.Time) ([]TxnID, error) {
	salts := make([]byte, 8*len(msgs))
	_, _ = rand.Read(salts) // crypto/rand.Read never fails (Go 1.24+)
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return nil, fmt.Errorf("begin transaction %d: %w", i, err)
		}
	}
	ids := make([]TxnID, len(msgs))
	err := p.update(ctx, func(tx *bolt.Tx) error {
		txns := tx.Bucket(bucketTxns)
		for i, m := range msgs {
			seq, err := txns.NextSequence()
			if err != nil {
				return err
			}
			t := Txn{
				ID:    TxnID{Seq: seq, Salt: binary.BigEndian.Uint64(salts[8*i:])},
				State: TxnPending, Topic: m.Topic, MessageID: m.MessageID, Message: m,
				NextCheck: firstCheck, Created: now,
			}
			ids[i] = t.ID
			if err := putTxn(tx, &t); err != nil {
				return err
			}
			if err := tx.Bucket(bucketTxnChecks).Put(timeKey(firstCheck.UnixNano(), seq), nil); err != nil {
				return err
			}
			if err := index(tx, m, KindHalf, t.ID.key()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("begin %d transactions: %w", len(msgs), err)
	}
	return ids, nil
}

// Txn reads a transaction; ErrNotFound if it is unknown or forgotten.
func (p *Park) Txn(ctx context.Context, id TxnID) (Txn, error) {
	if err := ctx.Err(); err != nil {
		return Txn{}, err
	}
	var (
		t  Txn
		ok bool
	)
	err := p.view(func(tx *bolt.Tx) (err error) {
		t, ok, err = getTxn(tx, id)
		return err
	})
	if err != nil {
		return Txn{}, err
	}
	if !ok {
		return Txn{}, ErrNotFound
	}
	return t, nil
}

// Resolve applies a producer's decision to a transaction of topic and
// messageID and returns the state it was in and the record after the call:
//
//   - commit of a pending one: it becomes committing with mark, and leaves
//     the check schedule; the caller appends the message, then FinishCommit;
//   - commit of a committing one: unchanged (the caller finishes the commit
//     someone else began, looking for the copy above Mark first);
//   - rollback of a pending one: rolled back, the message dropped;
//   - anything else: unchanged; the caller compares the decisions.
//
// ErrNotFound for an unknown id, ErrMismatch (wrapped) for a wrong topic or
// message id.
func (p *Park) Resolve(ctx context.Context, id TxnID, topic, messageID string, commit bool, mark int64, now time.Time) (prev TxnState, t Txn, err error) {
	var found bool
	err = p.update(ctx, func(tx *bolt.Tx) error {
		var err error
		t, found, err = getTxn(tx, id)
		if err != nil || !found {
			return err
		}
		prev = t.State
		if t.Topic != topic || t.MessageID != messageID {
			return nil
		}
		switch {
		case commit && t.State == TxnPending:
			if err := tx.Bucket(bucketTxnChecks).Delete(timeKey(unixNano(t.NextCheck), t.ID.Seq)); err != nil {
				return err
			}
			t.State, t.Mark, t.NextCheck = TxnCommitting, mark, time.Time{}
			if err := tx.Bucket(bucketTxnCommit).Put(t.ID.key(), nil); err != nil {
				return err
			}
			return putTxn(tx, &t)
		case !commit && t.State == TxnPending:
			return rollback(tx, &t, now)
		}
		return nil
	})
	switch {
	case err != nil:
		return 0, Txn{}, fmt.Errorf("resolve transaction: %w", err)
	case !found:
		return 0, Txn{}, ErrNotFound
	case t.Topic != topic || t.MessageID != messageID:
		return 0, Txn{}, fmt.Errorf("%w: it is message %s of topic %q", ErrMismatch, t.MessageID, t.Topic)
	}
	return prev, t, nil
}

// rollback turns a pending transaction into a rolled-back one.
func rollback(tx *bolt.Tx, t *Txn, now time.Time) error {
	if err := tx.Bucket(bucketTxnChecks).Delete(timeKey(unixNano(t.NextCheck), t.ID.Seq)); err != nil {
		return err
	}
	return resolved(tx, t, TxnRolledBack, now)
}

// resolved records the final state of t, drops its message and schedules
// the decision to be forgotten.
func resolved(tx *bolt.Tx, t *Txn, state TxnState, now time.Time) error {
	if err := unindex(tx, t.Topic, t.MessageID, KindHalf, t.ID.key()); err != nil {
		return err
	}
	t.State, t.Message, t.NextCheck, t.Resolved = state, nil, time.Time{}, now
	if err := tx.Bucket(bucketTxnExpire).Put(timeKey(now.UnixNano(), t.ID.Seq), nil); err != nil {
		return err
	}
	return putTxn(tx, t)
}

// FinishCommit records that a committing transaction's message is in its
// topic. Other states are left alone.
func (p *Park) FinishCommit(ctx context.Context, id TxnID, now time.Time) error {
	err := p.update(ctx, func(tx *bolt.Tx) error {
		t, ok, err := getTxn(tx, id)
		if err != nil || !ok || t.State != TxnCommitting {
			return err
		}
		if err := tx.Bucket(bucketTxnCommit).Delete(t.ID.key()); err != nil {
			return err
		}
		return resolved(tx, &t, TxnCommitted, now)
	})
	if err != nil {
		return fmt.Errorf("finish commit: %w", err)
	}
	return nil
}

// Committing returns up to max transactions whose commit began but was not
// finished (a crash or a failed append in between).
func (p *Park) Committing(ctx context.Context, max int) ([]Txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Txn
	err := p.view(func(tx *bolt.Tx) error {
		txns := tx.Bucket(bucketTxns)
		c := tx.Bucket(bucketTxnCommit).Cursor()
		for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
			rec := txns.Get(k)
			if rec == nil {
				continue
			}
			t, err := decodeTxn(k, rec)
			if err != nil {
				return err
			}
			if t.State == TxnCommitting {
				out = append(out, t)
			}
		}
		return nil
	})
	return out, err
}

// CheckPolicy decides what happens to a transaction whose check is due,
// given the checks already sent: roll it back, or count one more check and
// schedule the next at next. It must be a pure function (it may be called
// again if a group commit is retried).
type CheckPolicy func(checks int32) (next time.Time, rollback bool)

// TakeChecks handles up to max transactions whose orphan check is due at or
// before now: per policy, each is rolled back (returned in rolledBack) or
// has its check counted and rescheduled (returned in checks, with Checks
// already incremented).
func (p *Park) TakeChecks(ctx context.Context, now time.Time, max int, policy CheckPolicy) (checks, rolledBack []Txn, err error) {
	limit := now.UnixNano()
	err = p.update(ctx, func(tx *bolt.Tx) error {
		checks, rolledBack = nil, nil
		idx := tx.Bucket(bucketTxnChecks)
		var due [][]byte
		c := idx.Cursor()
		for k, _ := c.First(); k != nil && len(due) < max; k, _ = c.Next() {
			if len(k) != 16 || int64(binary.BigEndian.Uint64(k)) > limit {
				break
			}
			due = append(due, append([]byte(nil), k...))
		}
		txns := tx.Bucket(bucketTxns)
		for _, k := range due {
			if err := idx.Delete(k); err != nil {
				return err
			}
			rec := txns.Get(k[8:])
			if rec == nil {
				continue
			}
			t, err := decodeTxn(k[8:], rec)
			if err != nil {
				return err // a corrupt transaction is an operator's problem; keep the index
			}
			if t.State != TxnPending {
				continue
			}
			next, rb := policy(t.Checks)
			if rb {
				if err := resolved(tx, &t, TxnRolledBack, now); err != nil {
					return err
				}
				rolledBack = append(rolledBack, t)
				continue
			}
			t.Checks++
			t.NextCheck = next
			if err := idx.Put(timeKey(next.UnixNano(), t.ID.Seq), nil); err != nil {
				return err
			}
			if err := putTxn(tx, &t); err != nil {
				return err
			}
			checks = append(checks, t)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("take transaction checks: %w", err)
	}
	return checks, rolledBack, nil
}

// NextCheck reports when the earliest orphan check is due; ok is false when
// no transaction is pending.
func (p *Park) NextCheck() (at time.Time, ok bool, err error) {
	err = p.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketTxnChecks).Cursor().First(); len(k) == 16 {
			at, ok = time.Unix(0, int64(binary.BigEndian.Uint64(k))), true
		}
		return nil
	})
	return at, ok, err
}

// ForgetResolved deletes up to max decisions made before before, so their
// ids become unknown; it returns how many it deleted.
func (p *Park) ForgetResolved(ctx context.Context, before time.Time, max int) (int, error) {
	limit := before.UnixNano()
	var n int
	err := p.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		idx, txns := tx.Bucket(bucketTxnExpire), tx.Bucket(bucketTxns)
		var doomed [][]byte
		c := idx.Cursor()
		for k, _ := c.First(); k != nil && len(doomed) < max; k, _ = c.Next() {
			if len(k) != 16 || int64(binary.BigEndian.Uint64(k)) >= limit {
				break
			}
			doomed = append(doomed, append([]byte(nil), k...))
		}
		for _, k := range doomed {
			if err := errors.Join(idx.Delete(k), txns.Delete(k[8:])); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("forget resolved transactions: %w", err)
	}
	return n, nil
}
