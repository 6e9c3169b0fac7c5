package secrets_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/controlplane/secrets"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, secrets.KeySize) }

func TestBoxSealOpen(t *testing.T) {
	t.Parallel()
	box, err := secrets.New(key(1))
	require.NoError(t, err)
	other, err := secrets.New(key(2))
	require.NoError(t, err)
	ct, nonce, err := box.Seal([]byte("s3cret"), []byte("inst/AK1"))
	require.NoError(t, err)
	require.NotContains(t, string(ct), "s3cret")

	tests := []struct {
		name    string
		box     *secrets.Box
		ct      func() []byte
		nonce   []byte
		aad     string
		wantErr bool
	}{
		{name: "round trip", box: box, ct: func() []byte { return ct }, nonce: nonce, aad: "inst/AK1"},
		{name: "wrong key", box: other, ct: func() []byte { return ct }, nonce: nonce, aad: "inst/AK1", wantErr: true},
		{name: "tampered ciphertext", box: box, ct: func() []byte { c := bytes.Clone(ct); c[0] ^= 1; return c }, nonce: nonce, aad: "inst/AK1", wantErr: true},
		{name: "other row", box: box, ct: func() []byte { return ct }, nonce: nonce, aad: "inst/AK2", wantErr: true},
		{name: "short nonce", box: box, ct: func() []byte { return ct }, nonce: nonce[:4], aad: "inst/AK1", wantErr: true},
		{name: "tampered nonce", box: box, ct: func() []byte { return ct }, nonce: flip(nonce, len(nonce)-1), aad: "inst/AK1", wantErr: true},
		{name: "tampered tag", box: box, ct: func() []byte { return flip(ct, len(ct)-1) }, nonce: nonce, aad: "inst/AK1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.box.Open(tc.ct(), tc.nonce, []byte(tc.aad))
			if tc.wantErr {
				require.ErrorIs(t, err, secrets.ErrDecrypt)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "s3cret", string(got))
		})
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k := key(7)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hex.EncodeToString(k), true},
		{"base64", base64.StdEncoding.EncodeToString(k), true},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString(k), true},
		{"with newline", base64.StdEncoding.EncodeToString(k) + "\n", true},
		{"short", base64.StdEncoding.EncodeToString(k[:16]), false},
		{"long hex", hex.EncodeToString(append(k, 1)), false},
		{"garbage", "not a key", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := secrets.ParseKey(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, secrets.ErrBadKey)
				return
			}
			require.NoError(t, err)
			require.Equal(t, k, got)
		})
	}
	_, err := secrets.New(k[:31])
	require.ErrorIs(t, err, secrets.ErrBadKey)
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	k1, created, err := secrets.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.True(t, created)
	require.Len(t, k1, secrets.KeySize)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	k2, created, err := secrets.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, k1, k2)

	require.NoError(t, os.WriteFile(path, []byte("nope"), 0o600))
	_, _, err = secrets.LoadOrCreateKeyFile(path)
	require.ErrorIs(t, err, secrets.ErrBadKey)
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

// sealV0 seals like the code before key rotation did: the nonce field is
// the bare 12-byte GCM nonce and the additional data is aad alone.
func sealV0(t *testing.T, k, plaintext, aad []byte) (ct, nonce []byte) {
	t.Helper()
	block, err := aes.NewCipher(k)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce = make([]byte, aead.NonceSize())
	_, err = rand.Read(nonce)
	require.NoError(t, err)
	return aead.Seal(nil, nonce, plaintext, aad), nonce
}

// TestKeyring: a Box seals under its primary key and opens what any of its
// keys sealed, in the current format and in the version 0 format written
// before rotation; what no configured key sealed fails with ErrDecrypt, and
// the error names the missing key's id, never a key.
func TestKeyring(t *testing.T) {
	t.Parallel()
	a, b, c := key(0xA), key(0xB), key(0xC)
	aad := []byte("inst/AK1")
	newBox := func(primary []byte, old ...[]byte) *secrets.Box {
		box, err := secrets.New(primary, old...)
		require.NoError(t, err)
		return box
	}
	seal := func(box *secrets.Box) func(t *testing.T) ([]byte, []byte) {
		return func(t *testing.T) ([]byte, []byte) {
			ct, nonce, err := box.Seal([]byte("s3cret"), aad)
			require.NoError(t, err)
			return ct, nonce
		}
	}
	v0 := func(k []byte) func(t *testing.T) ([]byte, []byte) {
		return func(t *testing.T) ([]byte, []byte) { return sealV0(t, k, []byte("s3cret"), aad) }
	}
	tests := []struct {
		name    string
		sealed  func(t *testing.T) (ct, nonce []byte)
		open    *secrets.Box
		current bool   // sealed under open's primary key, current format
		wantErr string // substring of the error, which matches ErrDecrypt
	}{
		{name: "primary", sealed: seal(newBox(a)), open: newBox(a, b), current: true},
		{name: "old key", sealed: seal(newBox(a)), open: newBox(b, a)},
		{name: "second old key", sealed: seal(newBox(c)), open: newBox(b, a, c)},
		{name: "dropped key", sealed: seal(newBox(a)), open: newBox(b), wantErr: "sealed under master key id " + secrets.KeyID(a) + ", which is not configured"},
		{name: "v0 under primary", sealed: v0(a), open: newBox(a)},
		{name: "v0 under old key", sealed: v0(a), open: newBox(b, c, a)},
		{name: "v0 under no key", sealed: v0(a), open: newBox(b, c), wantErr: "version 0"},
		{name: "v0 other row", sealed: func(t *testing.T) ([]byte, []byte) { return sealV0(t, a, []byte("s3cret"), []byte("inst/AK2")) }, open: newBox(a), wantErr: "version 0"},
		{name: "tampered key id", sealed: func(t *testing.T) ([]byte, []byte) {
			ct, nonce := seal(newBox(a))(t)
			return ct, flip(nonce, 1)
		}, open: newBox(a), wantErr: "not configured"},
		{name: "header stripped to v0", sealed: func(t *testing.T) ([]byte, []byte) {
			ct, nonce := seal(newBox(a))(t)
			return ct, nonce[9:]
		}, open: newBox(a), wantErr: "version 0"},
		{name: "unknown version", sealed: func(t *testing.T) ([]byte, []byte) {
			ct, nonce := seal(newBox(a))(t)
			nonce[0] = 2
			return ct, nonce
		}, open: newBox(a), wantErr: "unknown format"},
		{name: "tampered ciphertext", sealed: func(t *testing.T) ([]byte, []byte) {
			ct, nonce := seal(newBox(a))(t)
			return flip(ct, 0), nonce
		}, open: newBox(b, a), wantErr: "tampered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ct, nonce := tc.sealed(t)
			require.Equal(t, tc.current, tc.open.Current(nonce))
			got, err := tc.open.Open(ct, nonce, aad)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, secrets.ErrDecrypt)
				require.ErrorContains(t, err, tc.wantErr)
				for _, k := range [][]byte{a, b, c} {
					require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(k))
					require.NotContains(t, err.Error(), hex.EncodeToString(k))
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, "s3cret", string(got))
		})
	}
}

// TestKeyringSealsUnderPrimary: what a Box seals names its primary key and
// opens under a Box that has only that key; repeated keys are fine.
func TestKeyringSealsUnderPrimary(t *testing.T) {
	t.Parallel()
	a, b := key(0xA), key(0xB)
	box, err := secrets.New(b, a, a, b)
	require.NoError(t, err)
	require.Equal(t, secrets.KeyID(b), box.PrimaryID())
	require.NotEqual(t, secrets.KeyID(a), secrets.KeyID(b))
	require.Len(t, secrets.KeyID(a), 16)
	ct, nonce, err := box.Seal([]byte("x"), nil)
	require.NoError(t, err)
	require.Len(t, nonce, 21)
	require.Equal(t, secrets.KeyID(b), hex.EncodeToString(nonce[1:9]))
	onlyB, err := secrets.New(b)
	require.NoError(t, err)
	got, err := onlyB.Open(ct, nonce, nil)
	require.NoError(t, err)
	require.Equal(t, "x", string(got))
	onlyA, err := secrets.New(a)
	require.NoError(t, err)
	_, err = onlyA.Open(ct, nonce, nil)
	require.ErrorIs(t, err, secrets.ErrDecrypt)

	_, err = secrets.New(a, b[:31])
	require.ErrorIs(t, err, secrets.ErrBadKey)
}

// TestRotateKeyFile: rotation puts a new key in the file and keeps the
// previous ones, newest first, in the .old file; both stay 0600.
func TestRotateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	_, err := secrets.LoadOldKeysFile(path)
	require.NoError(t, err)
	_, _, err = secrets.RotateKeyFile(path)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing to rotate")

	k1, _, err := secrets.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	id2, prev, err := secrets.RotateKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, secrets.KeyID(k1), prev)
	k2, err := secrets.LoadKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, secrets.KeyID(k2), id2)
	require.NotEqual(t, k1, k2)

	_, prev, err = secrets.RotateKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, id2, prev)
	old, err := secrets.LoadOldKeysFile(path)
	require.NoError(t, err)
	require.Equal(t, [][]byte{k2, k1}, old)
	for _, p := range []string{path, secrets.OldKeysFile(path)} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}
	_, err = os.Stat(path + ".tmp")
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.WriteFile(secrets.OldKeysFile(path), []byte(secrets.EncodeKey(k1)+"\nbad\n"), 0o600))
	_, err = secrets.LoadOldKeysFile(path)
	require.ErrorIs(t, err, secrets.ErrBadKey)
	require.ErrorContains(t, err, "line 2")
	require.False(t, strings.Contains(err.Error(), secrets.EncodeKey(k1)))
}
