// Package park keeps messages held back from their topics: delay messages
// until their delivery time (timers) and transaction messages until their
// transaction is resolved (half messages). Both live in one bbolt file,
// park.db, next to the broker's meta.db, so the commit log's retention can
// never delete one before it is delivered, and nothing per message is kept
// in memory: due timers and due transaction checks are found by scanning
// keys ordered by time, reading only the due ones.
//
// The package stores and indexes; the broker decides. Moving a message into
// its topic is the broker's job (it owns queues and the store), in three
// steps that make it exactly-once across crashes: mark the entry with the
// store's end offset (TakeDue, Resolve), append, then remove the entry
// (Fired, FinishCommit). An entry still marked after a crash is looked up in
// the store above its mark before it is appended again.
//
// Writes from concurrent callers are grouped into one bbolt transaction by a
// writer goroutine (group commit): a lone write commits at once, and writes
// arriving during a commit share the next one.
//
// May import: store.
//
// # Layout of park.db
//
//	meta       "version" → "1"
//	timers     due (Unix ns, 8 BE) | seq (8 BE) → message record (codec.go)
//	firing     timer key → mark (8 BE): being appended to its topic
//	txns       seq (8 BE) → transaction record (txn.go)
//	txnchecks  next check (Unix ns, 8 BE) | seq → empty: pending transactions
//	txncommit  seq → empty: transactions being committed
//	txnexpire  resolved (Unix ns, 8 BE) | seq → empty: decisions to forget
//	ids        uvarint length | message id | kind | timer key or seq → topic
//	counts     kind | topic → parked messages (8 BE)
package park

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/orbitmq/orbit/dataplane/store"
)

var (
	// ErrClosed: the park was closed.
	ErrClosed = errors.New("park closed")
	// ErrNotFound: no such parked message or transaction.
	ErrNotFound = errors.New("not found in park")
)

// Kind says why a message is parked.
type Kind byte

const (
	KindTimer Kind = 't' // a delay message waiting for its delivery time
	KindHalf  Kind = 'h' // a transaction message waiting for its commit
)

func (k Kind) String() string {
	switch k {
	case KindTimer:
		return "timer"
	case KindHalf:
		return "half"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

var (
	bucketMeta      = []byte("meta")
	bucketTimers    = []byte("timers")
	bucketFiring    = []byte("firing")
	bucketTxns      = []byte("txns")
	bucketTxnChecks = []byte("txnchecks")
	bucketTxnCommit = []byte("txncommit")
	bucketTxnExpire = []byte("txnexpire")
	bucketIDs       = []byte("ids")
	bucketCounts    = []byte("counts")
	allBuckets      = [][]byte{bucketMeta, bucketTimers, bucketFiring, bucketTxns, bucketTxnChecks, bucketTxnCommit, bucketTxnExpire, bucketIDs, bucketCounts}
)

const (
	formatVersion = "1"
	// maxIDLen keeps index keys far below bbolt's 32 KiB key limit.
	maxIDLen = 1024
	// maxOpsPerCommit bounds one group commit.
	maxOpsPerCommit = 256
)

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: only for tests and benchmarks, since a
	// machine crash may then lose or corrupt the file.
	NoSync bool
}

// Park is an open park.db. Methods are safe for concurrent use; after Close
// they fail with ErrClosed.
type Park struct {
	db         *bolt.DB
	ops        chan *op // unbuffered: a send completes only when the writer takes it
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// Open opens or creates the park file at path.
func Open(path string, opts Options) (*Park, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 5 * time.Second, // another broker holds the file: fail, don't hang
		NoSync:  opts.NoSync,
		// Timers come and go in bulk, so the freelist gets large; rebuilding
		// it on open is cheaper than writing it at every commit.
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("version")); {
		case v == nil:
			return meta.Put([]byte("version"), []byte(formatVersion))
		case string(v) != formatVersion:
			return fmt.Errorf("unsupported park.db version %q", v)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	p := &Park{db: db, ops: make(chan *op), quit: make(chan struct{}), writerDone: make(chan struct{})}
	go p.writer()
	return p, nil
}

// Close stops the writer (failing writes that have not started) and closes
// the file.
func (p *Park) Close() error {
	p.closeOnce.Do(func() {
		close(p.quit)
		<-p.writerDone
		p.closeErr = p.db.Close()
	})
	return p.closeErr
}

// op is one write. fn runs inside a shared transaction and reports its
// outcome through variables it captures; it returns an error only when the
// transaction must not commit (a bbolt failure). It may run more than once
// (alone, after its group failed), so it must assign its outputs, not
// accumulate them.
type op struct {
	fn   func(tx *bolt.Tx) error
	err  error
	done chan struct{}
}

// update runs fn in a write transaction shared with concurrent callers.
func (p *Park) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	o := &op{fn: fn, done: make(chan struct{})}
	select {
	case p.ops <- o:
	case <-p.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the write may commit: wait for its outcome rather than
	// report a failure for something that happened.
	<-o.done
	return o.err
}

func (p *Park) writer() {
	defer close(p.writerDone)
	for {
		var batch []*op
		select {
		case o := <-p.ops:
			batch = append(batch, o)
		case <-p.quit:
			return
		}
	more:
		for len(batch) < maxOpsPerCommit {
			select {
			case o := <-p.ops:
				batch = append(batch, o)
			default:
				break more
			}
		}
		p.commit(batch)
	}
}

// commit runs a group of writes in one transaction. If it fails, each write
// runs again alone, so one bad write cannot fail the others.
func (p *Park) commit(batch []*op) {
	err := p.db.Update(func(tx *bolt.Tx) error {
		for _, o := range batch {
			if err := o.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, o := range batch {
			o.err = p.db.Update(o.fn)
			close(o.done)
		}
		return
	}
	for _, o := range batch {
		o.err = err
		close(o.done)
	}
}

// view runs a read-only transaction.
func (p *Park) view(fn func(tx *bolt.Tx) error) error {
	err := p.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

// timeKey is a Unix-ns time then a sequence number, both big-endian, so keys
// sort by time. Times before 1970 sort first (clamped to 0).
func timeKey(ns int64, seq uint64) []byte {
	if ns < 0 {
		ns = 0
	}
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(ns))
	return binary.BigEndian.AppendUint64(k, seq)
}

func idPrefix(messageID string) []byte {
	k := binary.AppendUvarint(make([]byte, 0, len(messageID)+24), uint64(len(messageID)))
	return append(k, messageID...)
}

func idKey(messageID string, kind Kind, key []byte) []byte {
	k := append(idPrefix(messageID), byte(kind))
	return append(k, key...)
}

func countKey(kind Kind, topic string) []byte {
	return append([]byte{byte(kind)}, topic...)
}

// addCount adjusts the parked count of (kind, topic), dropping it at zero.
func addCount(tx *bolt.Tx, kind Kind, topic string, delta int64) error {
	b := tx.Bucket(bucketCounts)
	k := countKey(kind, topic)
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, be64(uint64(n)))
}

// index records that messageID is parked as (kind, key) for topic.
func index(tx *bolt.Tx, m *store.Message, kind Kind, key []byte) error {
	if err := tx.Bucket(bucketIDs).Put(idKey(m.MessageID, kind, key), []byte(m.Topic)); err != nil {
		return err
	}
	return addCount(tx, kind, m.Topic, 1)
}

func unindex(tx *bolt.Tx, topic, messageID string, kind Kind, key []byte) error {
	if err := tx.Bucket(bucketIDs).Delete(idKey(messageID, kind, key)); err != nil {
		return err
	}
	return addCount(tx, kind, topic, -1)
}

func checkMessage(m *store.Message) error {
	switch {
	case m == nil:
		return errors.New("nil message")
	case m.MessageID == "" || len(m.MessageID) > maxIDLen:
		return fmt.Errorf("message id of %d bytes (1 to %d allowed)", len(m.MessageID), maxIDLen)
	}
	return nil
}

// Count is how many messages of one kind wait for one topic.
type Count struct {
	Kind  Kind
	Topic string
	N     int64
}

// Counts reports parked messages per kind and topic (only non-zero ones).
func (p *Park) Counts() ([]Count, error) {
	var out []Count
	err := p.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
			if len(k) >= 1 && len(v) == 8 {
				out = append(out, Count{Kind: Kind(k[0]), Topic: string(k[1:]), N: int64(binary.BigEndian.Uint64(v))})
			}
			return nil
		})
	})
	return out, err
}

// Find returns a message of topic with messageID that is parked (a timer
// not yet recorded as fired, or a transaction whose commit is not yet
// recorded) and why; nil if none. Around a firing or commit the message
// may briefly be both parked and in its topic.
func (p *Park) Find(ctx context.Context, topic, messageID string) (*store.Message, Kind, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var (
		found *store.Message
		kind  Kind
	)
	err := p.view(func(tx *bolt.Tx) error {
		prefix := idPrefix(messageID)
		c := tx.Bucket(bucketIDs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if string(v) != topic || len(k) < len(prefix)+1 {
				continue
			}
			key := k[len(prefix)+1:]
			switch Kind(k[len(prefix)]) {
			case KindTimer:
				rec := tx.Bucket(bucketTimers).Get(key)
				if rec == nil {
					continue
				}
				m, err := DecodeMessage(rec)
				if err != nil {
					return err
				}
				found, kind = m, KindTimer
				return nil
			case KindHalf:
				rec := tx.Bucket(bucketTxns).Get(key)
				if rec == nil {
					continue
				}
				t, err := decodeTxn(key, rec)
				if err != nil {
					return err
				}
				if t.Message != nil && (t.State == TxnPending || t.State == TxnCommitting) {
					found, kind = t.Message, KindHalf
					return nil
				}
			}
		}
		return nil
	})
	return found, kind, err
}
