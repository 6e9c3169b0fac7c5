package iam

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/orbitmq/orbit/iam/token"
)

// keyCacheTTL is how long a replica trusts its copy of the signing keys.
// Another replica's rotation or retirement is seen within this time; a token
// with an unknown kid triggers an earlier reload.
const keyCacheTTL = time.Minute

// keyCache holds the unretired signing keys of the last load.
type keyCache struct {
	mu     sync.RWMutex
	loaded time.Time // by the service clock; zero: never
	keys   map[string]token.Key
	active token.Key // the newest: it signs

	// reloads bounds reloads caused by unknown kids (real time, not the
	// service clock): a flood of forged tokens must not become a flood of
	// queries.
	reloads *rate.Limiter
}

func newKeyCache() *keyCache {
	return &keyCache{keys: map[string]token.Key{}, reloads: rate.NewLimiter(rate.Every(time.Second), 3)}
}

func (c *keyCache) set(keys []token.Key, now time.Time) {
	m := make(map[string]token.Key, len(keys))
	var active token.Key
	for _, k := range keys {
		m[k.ID] = k
		if active.ID == "" || newer(k, active) {
			active = k
		}
	}
	c.mu.Lock()
	c.keys, c.active, c.loaded = m, active, now
	c.mu.Unlock()
}

func (c *keyCache) get() (active token.Key, loaded time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.active, c.loaded
}

func (c *keyCache) public(kid string) (ed25519.PublicKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[kid]
	if !ok {
		return nil, false
	}
	return k.Public(), true
}

// newer orders keys by creation time, then by ID (UUIDv7, time-ordered), so
// every replica picks the same active key.
func newer(a, b token.Key) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

func decodeKeys(recs []SigningKey) ([]token.Key, error) {
	out := make([]token.Key, 0, len(recs))
	for _, r := range recs {
		if r.Algorithm != token.Algorithm {
			return nil, fmt.Errorf("signing key %s: unsupported algorithm %q", r.ID, r.Algorithm)
		}
		k, err := token.KeyFromSeed(r.ID, r.PrivateKey, r.CreatedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func (s *Service) reloadKeys(ctx context.Context) error {
	recs, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys, err := decodeKeys(recs)
	if err != nil {
		return err
	}
	s.keys.set(keys, s.now())
	return nil
}

// EnsureSigningKey makes sure a usable signing key exists: it creates the
// first one, rotates when the active key is older than SigningKeyMaxAge and
// retires keys nobody can hold a valid token of any more. Call it at
// startup; it is safe when several replicas call it at once, since the store
// serialises the decision.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	_, err := s.updateKeys(ctx, false)
	return err
}

// RotateSigningKey makes a new JWT signing key the active one and returns its id.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	return s.updateKeys(ctx, true)
}

func (s *Service) updateKeys(ctx context.Context, force bool) (string, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	now := s.now()
	var added string
	recs, err := s.store.UpdateSigningKeys(ctx, now, func(keys []SigningKey) ([]SigningKey, []string, error) {
		add, retire, err := s.planKeys(now, keys, force)
		if len(add) > 0 {
			added = add[0].ID
		}
		return add, retire, err
	})
	if err != nil {
		return "", fmt.Errorf("update signing keys: %w", err)
	}
	keys, err := decodeKeys(recs)
	if err != nil {
		return "", err
	}
	s.keys.set(keys, now)
	active, _ := s.keys.get()
	if added != "" {
		s.log.Info("jwt signing key rotated", "key_id", added)
	}
	return active.ID, nil
}

// planKeys decides what UpdateSigningKeys changes. A key is retired once it
// is older than SigningKeyMaxAge (when it stopped signing) plus
// AccessTokenTTL (the longest any token it signed can live), except the key
// that stays active.
func (s *Service) planKeys(now time.Time, recs []SigningKey, force bool) ([]SigningKey, []string, error) {
	var newest *SigningKey
	for i := range recs {
		if newest == nil || recs[i].CreatedAt.After(newest.CreatedAt) ||
			(recs[i].CreatedAt.Equal(newest.CreatedAt) && recs[i].ID > newest.ID) {
			newest = &recs[i]
		}
	}
	var add []SigningKey
	if force || newest == nil || now.Sub(newest.CreatedAt) >= s.cfg.SigningKeyMaxAge {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, nil, fmt.Errorf("new key id: %w", err)
		}
		k, err := token.GenerateKey(id.String(), now)
		if err != nil {
			return nil, nil, err
		}
		add = append(add, SigningKey{ID: k.ID, Algorithm: token.Algorithm, PrivateKey: k.Seed(), CreatedAt: now})
		newest = nil // every old key may now retire
	}
	var retire []string
	for _, r := range recs {
		if newest != nil && r.ID == newest.ID {
			continue
		}
		if now.Sub(r.CreatedAt) > s.cfg.SigningKeyMaxAge+s.cfg.AccessTokenTTL {
			retire = append(retire, r.ID)
		}
	}
	return add, retire, nil
}

// signingKey returns the key to sign with, loading or rotating as needed so
// that a long-running replica rotates without a restart.
func (s *Service) signingKey(ctx context.Context) (token.Key, error) {
	now := s.now()
	active, loaded := s.keys.get()
	if active.ID == "" || now.Sub(loaded) > keyCacheTTL {
		if err := s.reloadKeys(ctx); err != nil {
			return token.Key{}, err
		}
		active, _ = s.keys.get()
	}
	if active.ID == "" || now.Sub(active.CreatedAt) >= s.cfg.SigningKeyMaxAge {
		if err := s.EnsureSigningKey(ctx); err != nil {
			return token.Key{}, err
		}
		active, _ = s.keys.get()
	}
	if active.ID == "" {
		return token.Key{}, errors.New("no signing key")
	}
	return active, nil
}

// verifyAccess checks a JWT against the cached keys, reloading them once
// when the cache is stale or the kid is unknown (a key made by another
// replica).
func (s *Service) verifyAccess(ctx context.Context, jwt string) (token.Claims, error) {
	now := s.now()
	if _, loaded := s.keys.get(); now.Sub(loaded) > keyCacheTTL {
		if err := s.reloadKeys(ctx); err != nil {
			return token.Claims{}, err
		}
	}
	c, err := token.Verify(jwt, s.keys.public, s.cfg.Issuer, now)
	if errors.Is(err, token.ErrUnknownKey) && s.keys.reloads.Allow() {
		if err := s.reloadKeys(ctx); err != nil {
			return token.Claims{}, err
		}
		c, err = token.Verify(jwt, s.keys.public, s.cfg.Issuer, now)
	}
	if err != nil {
		return token.Claims{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return c, nil
}
