package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
)

// APITokenPrefix starts every API token, so a bearer can be told apart from a
// JWT without parsing and secret scanners can recognise leaked tokens.
const APITokenPrefix = "orbit_"

// DisplayPrefixLen is how many leading characters of an API token are stored
// in clear and shown in lists to tell tokens apart ("orbit_" + 6).
const DisplayPrefixLen = 12

// secretBytes of randomness back every opaque token: 256 bits, beyond guessing.
const secretBytes = 32

// base62Len is the fixed length of 32 bytes in base62: 62^43 > 2^256.
const base62Len = 43

// IsAPIToken reports whether a bearer string has the API token shape.
func IsAPIToken(s string) bool { return strings.HasPrefix(s, APITokenPrefix) }

// NewAPIToken returns a new API token, its display prefix and the hash to
// store. The secret must be shown to its owner once and then forgotten.
func NewAPIToken() (secret, prefix string, hash []byte, err error) {
	b, err := random()
	if err != nil {
		return "", "", nil, fmt.Errorf("new api token: %w", err)
	}
	s := new(big.Int).SetBytes(b).Text(62)
	secret = APITokenPrefix + strings.Repeat("0", base62Len-len(s)) + s
	return secret, secret[:DisplayPrefixLen], Hash(secret), nil
}

// NewRefreshToken returns a new refresh token (base64url, no padding) and the
// hash to store.
func NewRefreshToken() (secret string, hash []byte, err error) {
	b, err := random()
	if err != nil {
		return "", nil, fmt.Errorf("new refresh token: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret), nil
}

// Hash is the stored form of an opaque token. A plain SHA-256 is enough, with
// no salt or slow KDF: the input is 256 random bits, not a guessable password.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func random() ([]byte, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("read random: %w", err)
	}
	return b, nil
}
