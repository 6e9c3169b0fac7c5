// Package token makes and checks Orbit's bearer tokens: short-lived JWT access
// tokens signed with rotating Ed25519 keys, and opaque random tokens (API
// tokens and refresh tokens) of which only a SHA-256 hash is ever stored.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is the JWT "alg" of every access token, and the value stored in
// signing_keys.algorithm.
const Algorithm = "EdDSA"

// Errors returned by Verify. Callers typically map all of them to one
// "unauthenticated" answer; they differ only for logs and tests.
var (
	ErrInvalid    = errors.New("invalid access token")
	ErrExpired    = errors.New("access token expired")
	ErrUnknownKey = errors.New("access token signed by an unknown or retired key")
)

// Key is one Ed25519 signing key, identified by the JWT "kid" header.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	CreatedAt time.Time
}

// GenerateKey makes a new random signing key with the given id.
func GenerateKey(id string, now time.Time) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	return Key{ID: id, Private: priv, CreatedAt: now}, nil
}

// KeyFromSeed rebuilds a key from its 32-byte seed, the form it is stored in.
func KeyFromSeed(id string, seed []byte, createdAt time.Time) (Key, error) {
	if len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("signing key %s: seed is %d bytes, want %d", id, len(seed), ed25519.SeedSize)
	}
	return Key{ID: id, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: createdAt}, nil
}

// Seed returns the 32-byte seed the private key derives from.
func (k Key) Seed() []byte { return k.Private.Seed() }

// Public returns the verification half of the key.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Claims are the fields of an Orbit access token.
type Claims struct {
	UserID    string // "sub"
	AccountID string // "acct"
	Role      string // "role"
	Issuer    string // "iss"
	IssuedAt  time.Time
	ExpiresAt time.Time
	ID        string // "jti"; Sign fills a random one when empty
}

type wireClaims struct {
	AccountID string `json:"acct"`
	Role      string `json:"role"`
	jwt.RegisteredClaims
}

// Sign returns the compact JWT for c, signed by k with k.ID as "kid".
func Sign(k Key, c Claims) (string, error) {
	if c.ID == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("sign access token: read jti: %w", err)
		}
		c.ID = base64.RawURLEncoding.EncodeToString(b)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, wireClaims{
		AccountID: c.AccountID,
		Role:      c.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.UserID,
			Issuer:    c.Issuer,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			ID:        c.ID,
		},
	})
	t.Header["kid"] = k.ID
	s, err := t.SignedString(k.Private)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// KeyLookup returns the public key for a kid, or false when the kid is
// unknown or retired.
type KeyLookup func(kid string) (ed25519.PublicKey, bool)

// Verify checks the signature, algorithm, issuer and expiry of an access
// token and returns its claims. Only EdDSA is accepted, whatever the header
// says, so "alg: none" or an HMAC token keyed with a public key cannot pass.
func Verify(s string, keys KeyLookup, issuer string, now time.Time) (Claims, error) {
	var wc wireClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(s, &wc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, ErrUnknownKey
		}
		pub, ok := keys(kid)
		if !ok {
			return nil, ErrUnknownKey
		}
		return pub, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownKey):
		return Claims{}, ErrUnknownKey
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, ErrExpired
	default:
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if wc.Subject == "" || wc.AccountID == "" || wc.Role == "" || wc.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: missing claims", ErrInvalid)
	}
	return Claims{
		UserID:    wc.Subject,
		AccountID: wc.AccountID,
		Role:      wc.Role,
		Issuer:    wc.Issuer,
		IssuedAt:  wc.IssuedAt.Time,
		ExpiresAt: wc.ExpiresAt.Time,
		ID:        wc.ID,
	}, nil
}
