package acl

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketKeys = []byte("access_keys")

// Store keeps a node's access keys in a bbolt file and serves lookups from
// an in-memory snapshot. It is safe for concurrent use.
//
// A Store made with NewMemory keeps no file: a proxy-role node holds there
// the copy of its broker node's keys it verifies signatures with, replaced
// wholesale by each sync (Replace).
type Store struct {
	db   *bolt.DB   // nil for NewMemory
	mu   sync.Mutex // serializes writers, so snapshots follow commits in order
	snap atomic.Pointer[snapshot]
}

// snapshot is the keys at one revision.
type snapshot struct {
	keys map[string]AccessKey
	rev  uint64
}

// firstRevision starts the revisions of a Store opened now: random, so a
// revision seen before a restart of the node is not mistaken for one after.
func firstRevision() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return nextRevision(binary.BigEndian.Uint64(b[:]))
}

// nextRevision follows rev, skipping 0 ("no revision").
func nextRevision(rev uint64) uint64 {
	if rev++; rev == 0 {
		rev++
	}
	return rev
}

// NewMemory returns a Store without a file, with no keys: every signed
// request is refused until keys are put or replaced.
func NewMemory() *Store {
	s := &Store{}
	s.snap.Store(&snapshot{keys: map[string]AccessKey{}, rev: firstRevision()})
	return s
}

// Open opens (creating it and its directory if needed) the key file at path,
// e.g. <data dir>/meta/acl.db, and loads every key.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("access keys: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("access keys: open %s: %w", path, err)
	}
	s := &Store{db: db}
	keys := map[string]AccessKey{}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketKeys)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var ak AccessKey
			if err := json.Unmarshal(v, &ak); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			keys[ak.AccessKey] = ak
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("access keys: load %s: %w", path, err)
	}
	s.snap.Store(&snapshot{keys: keys, rev: firstRevision()})
	return s, nil
}

// Close closes the file (nothing for NewMemory).
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// encode validates k and returns a copy that shares no slices with the
// caller, and its stored form.
func encode(k AccessKey) (AccessKey, []byte, error) {
	if err := k.Validate(); err != nil {
		return AccessKey{}, nil, err
	}
	k.Permissions = slices.Clone(k.Permissions)
	k.SourceCIDRs = slices.Clone(k.SourceCIDRs)
	v, err := json.Marshal(k)
	if err != nil {
		return AccessKey{}, nil, fmt.Errorf("access keys: encode %s: %w", k.AccessKey, err)
	}
	return k, v, nil
}

// Put creates or replaces a key. Errors of validation wrap ErrInvalid.
func (s *Store) Put(k AccessKey) error {
	k, v, err := encode(k)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).Put([]byte(k.AccessKey), v)
	}); err != nil {
		return fmt.Errorf("access keys: put %s: %w", k.AccessKey, err)
	}
	cur := s.snap.Load()
	next := cloneMap(cur.keys)
	next[k.AccessKey] = k
	s.snap.Store(&snapshot{keys: next, rev: nextRevision(cur.rev)})
	return nil
}

// Delete removes a key; it reports whether the key existed.
func (s *Store) Delete(accessKey string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.snap.Load()
	if _, ok := cur.keys[accessKey]; !ok {
		return false, nil
	}
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).Delete([]byte(accessKey))
	}); err != nil {
		return false, fmt.Errorf("access keys: delete %s: %w", accessKey, err)
	}
	next := cloneMap(cur.keys)
	delete(next, accessKey)
	s.snap.Store(&snapshot{keys: next, rev: nextRevision(cur.rev)})
	return true, nil
}

// Replace makes keys the whole set at once: keys not among them stop
// working for the very next request. Every key is validated first; on an
// error (wrapping ErrInvalid) nothing changes. Duplicates: the last wins.
func (s *Store) Replace(keys []AccessKey) error {
	next := make(map[string]AccessKey, len(keys))
	vals := make(map[string][]byte, len(keys))
	for _, k := range keys {
		k, v, err := encode(k)
		if err != nil {
			return err
		}
		next[k.AccessKey], vals[k.AccessKey] = k, v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketKeys); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketKeys)
		if err != nil {
			return err
		}
		for ak, v := range vals {
			if err := b.Put([]byte(ak), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("access keys: replace: %w", err)
	}
	s.snap.Store(&snapshot{keys: next, rev: nextRevision(s.snap.Load().rev)})
	return nil
}

// update runs f in a write transaction of the file; nothing for NewMemory.
func (s *Store) update(f func(*bolt.Tx) error) error {
	if s.db == nil {
		return nil
	}
	return s.db.Update(f)
}

// Get returns a key.
func (s *Store) Get(accessKey string) (AccessKey, bool) {
	k, ok := s.snap.Load().keys[accessKey]
	return k, ok
}

// List returns every key, sorted by access key.
func (s *Store) List() []AccessKey {
	keys, _ := s.Snapshot()
	return keys
}

// Revision identifies the current set of keys: it changes with every Put,
// Delete and Replace, starts at a random value when the Store is opened (so
// it differs between runs of a node) and is never 0.
func (s *Store) Revision() uint64 { return s.snap.Load().rev }

// Snapshot returns every key, sorted by access key, and the revision they
// are at, read together.
func (s *Store) Snapshot() ([]AccessKey, uint64) {
	snap := s.snap.Load()
	out := make([]AccessKey, 0, len(snap.keys))
	for _, k := range snap.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b AccessKey) int { return strings.Compare(a.AccessKey, b.AccessKey) })
	return out, snap.rev
}

// Verify authenticates a request from its authorization and x-mq-date-time
// headers and returns its enabled key. Errors wrap ErrUnauthenticated and say
// what is wrong: missing or malformed header, unknown key, wrong signature,
// disabled key.
func (s *Store) Verify(authorization, dateTime string) (AccessKey, error) {
	if authorization == "" {
		return AccessKey{}, fmt.Errorf("%w: request is not signed: an access key is required", ErrUnauthenticated)
	}
	if dateTime == "" {
		return AccessKey{}, fmt.Errorf("%w: x-mq-date-time header is required", ErrUnauthenticated)
	}
	c, err := ParseAuthorization(authorization)
	if err != nil {
		return AccessKey{}, err
	}
	k, ok := s.Get(c.AccessKey)
	if !ok {
		return AccessKey{}, fmt.Errorf("%w: unknown access key %s", ErrUnauthenticated, c.AccessKey)
	}
	if !verifySignature(c, k.SecretKey, dateTime) {
		return AccessKey{}, fmt.Errorf("%w: signature mismatch for access key %s", ErrUnauthenticated, c.AccessKey)
	}
	if !k.Enabled {
		return AccessKey{}, fmt.Errorf("%w: access key disabled", ErrUnauthenticated)
	}
	return k, nil
}

func cloneMap(m map[string]AccessKey) map[string]AccessKey {
	out := make(map[string]AccessKey, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
