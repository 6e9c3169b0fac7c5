package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/controlplane/secrets"
)

// TestMasterKeyBox: a configured key is used as is and a bad one refused;
// without one a key is generated into <data-dir>/master.key (0600) once,
// and only its creation is logged, never the key.
func TestMasterKeyBox(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	key := bytes.Repeat([]byte{5}, secrets.KeySize)
	for _, configured := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key)} {
		box, err := masterKeyBox(configured, t.TempDir(), log)
		require.NoError(t, err)
		ct, nonce, err := box.Seal([]byte("x"), nil)
		require.NoError(t, err)
		other, err := secrets.New(key)
		require.NoError(t, err)
		pt, err := other.Open(ct, nonce, nil)
		require.NoError(t, err)
		require.Equal(t, "x", string(pt))
	}
	_, err := masterKeyBox("c2hvcnQ=", t.TempDir(), log)
	require.ErrorIs(t, err, secrets.ErrBadKey)
	require.Contains(t, err.Error(), "--master-key")

	dir := filepath.Join(t.TempDir(), "data")
	box1, err := masterKeyBox("", dir, log)
	require.NoError(t, err)
	path := filepath.Join(dir, "master.key")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	stored, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(logs.String(), "master key created"))
	require.NotContains(t, logs.String(), strings.TrimSpace(string(stored)))

	// The next start reads the same key and logs nothing new.
	box2, err := masterKeyBox("", dir, log)
	require.NoError(t, err)
	ct, nonce, err := box1.Seal([]byte("again"), nil)
	require.NoError(t, err)
	pt, err := box2.Open(ct, nonce, nil)
	require.NoError(t, err)
	require.Equal(t, "again", string(pt))
	require.Equal(t, 1, strings.Count(logs.String(), "master key created"))
}
