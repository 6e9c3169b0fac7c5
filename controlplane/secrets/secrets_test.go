package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
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
