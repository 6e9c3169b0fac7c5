// Package secrets seals small secrets (the secret keys of data-plane access
// keys) at rest with AES-256-GCM under the control plane's master key.
//
// The master key comes from configuration (`orbit serve --master-key`,
// ORBIT_MASTER_KEY) or, when none is configured, from a file in the data
// directory that is created on first start. Keys and plaintexts are never
// logged.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the master key's length in bytes (AES-256).
const KeySize = 32

// Errors; match with errors.Is.
var (
	// ErrBadKey: a configured master key that is not 32 bytes of base64 or hex.
	ErrBadKey = errors.New("master key must be 32 bytes, base64 or hex encoded")
	// ErrDecrypt: a ciphertext that does not open under the key (wrong key or tampered).
	ErrDecrypt = errors.New("secret does not decrypt under the master key")
)

// Box seals and opens secrets under one master key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a configured master key: 64 hex digits or base64
// (standard or URL alphabet, padded or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, ErrBadKey
}

// Seal encrypts plaintext; aad binds it to its owner (the row it is stored
// in), so a ciphertext copied to another row does not open.
func (b *Box) Seal(plaintext, aad []byte) (ciphertext, nonce []byte, err error) {
	nonce = make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("nonce: %w", err)
	}
	return b.aead.Seal(nil, nonce, plaintext, aad), nonce, nil
}

// Open decrypts what Seal returned for the same aad.
func (b *Box) Open(ciphertext, nonce, aad []byte) ([]byte, error) {
	if len(nonce) != b.aead.NonceSize() {
		return nil, ErrDecrypt
	}
	out, err := b.aead.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// LoadOrCreateKeyFile reads the master key kept in path (base64) or, when
// the file does not exist, generates one and writes it with mode 0600.
// created reports the latter so the caller can say so (without the key).
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("master key file %s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key file: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("generate master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("sync master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("close master key file: %w", err)
	}
	return key, true, nil
}
