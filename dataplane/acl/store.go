package acl

import (
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
type Store struct {
	db   *bolt.DB
	mu   sync.Mutex // serializes writers, so snapshots follow commits in order
	snap atomic.Pointer[map[string]AccessKey]
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
	s.snap.Store(&keys)
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Put creates or replaces a key. Errors of validation wrap ErrInvalid.
func (s *Store) Put(k AccessKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	k.Permissions = slices.Clone(k.Permissions)
	k.SourceCIDRs = slices.Clone(k.SourceCIDRs)
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).Put([]byte(k.AccessKey), v)
	}); err != nil {
		return fmt.Errorf("access keys: put %s: %w", k.AccessKey, err)
	}
	next := cloneMap(*s.snap.Load())
	next[k.AccessKey] = k
	s.snap.Store(&next)
	return nil
}

// Delete removes a key; it reports whether the key existed.
func (s *Store) Delete(accessKey string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := (*s.snap.Load())[accessKey]; !ok {
		return false, nil
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).Delete([]byte(accessKey))
	}); err != nil {
		return false, fmt.Errorf("access keys: delete %s: %w", accessKey, err)
	}
	next := cloneMap(*s.snap.Load())
	delete(next, accessKey)
	s.snap.Store(&next)
	return true, nil
}

// Get returns a key.
func (s *Store) Get(accessKey string) (AccessKey, bool) {
	k, ok := (*s.snap.Load())[accessKey]
	return k, ok
}

// List returns every key, sorted by access key.
func (s *Store) List() []AccessKey {
	m := *s.snap.Load()
	out := make([]AccessKey, 0, len(m))
	for _, k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b AccessKey) int { return strings.Compare(a.AccessKey, b.AccessKey) })
	return out
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
