// Package secrets seals small secrets (the secret keys of data-plane access
// keys) at rest with AES-256-GCM under the control plane's master key.
//
// The master key comes from configuration (`orbit serve --master-key`,
// ORBIT_MASTER_KEY) or, when none is configured, from a file in the data
// directory that is created on first start. Keys and plaintexts are never
// logged.
//
// # Rotation
//
// A Box is a keyring: one primary key that seals and any number of old keys
// that still open, so a master key can be replaced without downtime. Every
// sealed secret says which key sealed it, by key id (KeyID: a truncated
// SHA-256 of the key, never the key itself).
//
// # Stored format
//
// A sealed secret is two byte strings stored side by side, the ciphertext
// and the nonce field:
//
//   - version 1 (current): nonce field = 0x01 || key id (8 bytes) || GCM
//     nonce (12 bytes), 21 bytes in all; ciphertext = AES-GCM output
//     (ciphertext || tag) with additional data 0x01 || key id || aad, so the
//     header is authenticated too.
//   - version 0 (written before key rotation existed): nonce field = GCM
//     nonce (12 bytes); ciphertext = AES-GCM output with additional data
//     aad. It names no key: Open tries the primary key, then the old ones.
//
// The length of the nonce field tells the versions apart, without guessing.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
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

const (
	version1   byte = 1
	idSize          = 8
	nonceSize       = 12 // GCM's standard nonce
	headerSize      = 1 + idSize
)

// Errors; match with errors.Is.
var (
	// ErrBadKey: a configured master key that is not 32 bytes of base64 or hex.
	ErrBadKey = errors.New("master key must be 32 bytes, base64 or hex encoded")
	// ErrDecrypt: a ciphertext that opens under none of the configured keys
	// (a key missing from the configuration, or tampered data). The wrapping
	// error says which, and the key id if the secret names one.
	ErrDecrypt = errors.New("secret does not decrypt under any configured master key")
)

type sealKey struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Box seals secrets under its primary key and opens those sealed under any
// of its keys.
type Box struct {
	keys []sealKey // keys[0] is the primary
}

// New returns a Box that seals under primary and also opens what old keys
// sealed. Every key must be 32 bytes; repeated keys are ignored.
func New(primary []byte, old ...[]byte) (*Box, error) {
	b := &Box{}
	for _, k := range append([][]byte{primary}, old...) {
		if len(k) != KeySize {
			return nil, ErrBadKey
		}
		id := keyID(k)
		if b.has(id) {
			continue
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("aes: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("gcm: %w", err)
		}
		b.keys = append(b.keys, sealKey{id: id, aead: aead})
	}
	return b, nil
}

func (b *Box) has(id [idSize]byte) bool {
	for _, k := range b.keys {
		if k.id == id {
			return true
		}
	}
	return false
}

// keyID is the first 8 bytes of SHA-256 over a label and the key: enough to
// tell a handful of keys apart, useless for recovering the key.
func keyID(key []byte) [idSize]byte {
	h := sha256.New()
	h.Write([]byte("orbit master key id\x00"))
	h.Write(key)
	var id [idSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// KeyID returns the id of key in hex, as stored with what it seals; it may
// be shown to operators (it does not reveal the key).
func KeyID(key []byte) string {
	id := keyID(key)
	return hex.EncodeToString(id[:])
}

// PrimaryID returns the id of the key that seals, in hex.
func (b *Box) PrimaryID() string { return hex.EncodeToString(b.keys[0].id[:]) }

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

// Seal encrypts plaintext under the primary key in the current format; aad
// binds it to its owner (the row it is stored in), so a ciphertext copied to
// another row does not open. nonce is the nonce field to store with it.
func (b *Box) Seal(plaintext, aad []byte) (ciphertext, nonce []byte, err error) {
	k := b.keys[0]
	nonce = make([]byte, headerSize+nonceSize)
	nonce[0] = version1
	copy(nonce[1:headerSize], k.id[:])
	if _, err := rand.Read(nonce[headerSize:]); err != nil {
		return nil, nil, fmt.Errorf("nonce: %w", err)
	}
	return k.aead.Seal(nil, nonce[headerSize:], plaintext, v1AAD(nonce[:headerSize], aad)), nonce, nil
}

func v1AAD(header, aad []byte) []byte {
	return append(bytes.Clone(header), aad...)
}

// Open decrypts what Seal returned for the same aad, in either format and
// under any of the Box's keys.
func (b *Box) Open(ciphertext, nonce, aad []byte) ([]byte, error) {
	switch {
	case len(nonce) == nonceSize: // version 0: try every key
		for _, k := range b.keys {
			if out, err := k.aead.Open(nil, nonce, ciphertext, aad); err == nil {
				return out, nil
			}
		}
		return nil, fmt.Errorf("%w (version 0 format, which names no key: it was sealed under a key not configured, or tampered)", ErrDecrypt)
	case len(nonce) == headerSize+nonceSize && nonce[0] == version1:
		var id [idSize]byte
		copy(id[:], nonce[1:headerSize])
		for _, k := range b.keys {
			if k.id != id {
				continue
			}
			out, err := k.aead.Open(nil, nonce[headerSize:], ciphertext, v1AAD(nonce[:headerSize], aad))
			if err != nil {
				return nil, fmt.Errorf("%w (tampered, or stored for another owner)", ErrDecrypt)
			}
			return out, nil
		}
		return nil, fmt.Errorf("%w: it was sealed under master key id %x, which is not configured", ErrDecrypt, id)
	default:
		return nil, fmt.Errorf("%w (unknown format)", ErrDecrypt)
	}
}

// Current reports whether a secret with this nonce field is sealed under
// the primary key in the current format, so re-sealing would change
// nothing. It only reads the header; Open still checks the rest.
func (b *Box) Current(nonce []byte) bool {
	return len(nonce) == headerSize+nonceSize && nonce[0] == version1 && bytes.Equal(nonce[1:headerSize], b.keys[0].id[:])
}

// GenerateKey returns a new random master key.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return key, nil
}

// EncodeKey is the text form of a key in key files and for --master-key
// (standard base64).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// LoadOrCreateKeyFile reads the master key kept in path (base64) or, when
// the file does not exist, generates one and writes it with mode 0600.
// created reports the latter so the caller can say so (without the key).
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = LoadKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if key, err = GenerateKey(); err != nil {
		return nil, false, err
	}
	if err := writeNew(path, EncodeKey(key)+"\n"); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// LoadKeyFile reads the master key kept in path; a missing file is an error
// matching fs.ErrNotExist.
func LoadKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// OldKeysFile is the name of the file, next to a key file, that keeps the
// keys it replaced (see RotateKeyFile).
func OldKeysFile(path string) string { return path + ".old" }

// LoadOldKeysFile reads the keys kept in OldKeysFile(path), one per line,
// newest first. No file means no old keys.
func LoadOldKeysFile(path string) ([][]byte, error) {
	old := OldKeysFile(path)
	data, err := os.ReadFile(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read old master keys: %w", err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, err := ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("old master keys file %s, line %d: %w", old, i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RotateKeyFile replaces the master key in path by a new random one and
// keeps the one it replaces at the head of OldKeysFile(path), so that what
// it sealed still opens. Both files are replaced atomically with mode 0600;
// a crash in between leaves the current key in both, which is harmless.
// It returns the ids of the new and the previous key.
func RotateKeyFile(path string) (newID, oldID string, err error) {
	cur, err := LoadKeyFile(path)
	if err != nil {
		return "", "", err
	}
	old, err := LoadOldKeysFile(path)
	if err != nil {
		return "", "", err
	}
	next, err := GenerateKey()
	if err != nil {
		return "", "", err
	}
	var lines strings.Builder
	for _, k := range append([][]byte{cur}, old...) {
		lines.WriteString(EncodeKey(k) + "\n")
	}
	if err := replaceFile(OldKeysFile(path), lines.String()); err != nil {
		return "", "", err
	}
	if err := replaceFile(path, EncodeKey(next)+"\n"); err != nil {
		return "", "", err
	}
	return KeyID(next), KeyID(cur), nil
}

// writeNew creates path (which must not exist) with mode 0600 and data.
func writeNew(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.WriteString(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close master key file: %w", err)
	}
	return nil
}

// replaceFile writes data to a fresh temporary file beside path and renames
// it over path.
func replaceFile(path, data string) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := writeNew(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
