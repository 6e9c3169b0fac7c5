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
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/secrets"
	"github.com/orbitmq/orbit/migrations/dbtest"
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
		box, err := masterKeyFlags{key: configured}.box(t.TempDir(), true, log)
		require.NoError(t, err)
		ct, nonce, err := box.Seal([]byte("x"), nil)
		require.NoError(t, err)
		other, err := secrets.New(key)
		require.NoError(t, err)
		pt, err := other.Open(ct, nonce, nil)
		require.NoError(t, err)
		require.Equal(t, "x", string(pt))
	}
	_, err := masterKeyFlags{key: "c2hvcnQ="}.box(t.TempDir(), true, log)
	require.ErrorIs(t, err, secrets.ErrBadKey)
	require.Contains(t, err.Error(), "--master-key")

	dir := filepath.Join(t.TempDir(), "data")
	box1, err := masterKeyFlags{}.box(dir, true, log)
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
	box2, err := masterKeyFlags{}.box(dir, true, log)
	require.NoError(t, err)
	ct, nonce, err := box1.Seal([]byte("again"), nil)
	require.NoError(t, err)
	pt, err := box2.Open(ct, nonce, nil)
	require.NoError(t, err)
	require.Equal(t, "again", string(pt))
	require.Equal(t, 1, strings.Count(logs.String(), "master key created"))
}

// TestMasterKeyFlags: --old-master-keys and <data-dir>/master.key.old add
// keys that open but do not seal; a bad one is refused without echoing it;
// reencrypt (create=false) does not invent a key file.
func TestMasterKeyFlags(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	a, b, c := bytes.Repeat([]byte{0xA}, secrets.KeySize), bytes.Repeat([]byte{0xB}, secrets.KeySize), bytes.Repeat([]byte{0xC}, secrets.KeySize)
	enc := secrets.EncodeKey
	sealed := func(k []byte) (ct, nonce []byte) {
		box, err := secrets.New(k)
		require.NoError(t, err)
		ct, nonce, err = box.Seal([]byte("pt"), nil)
		require.NoError(t, err)
		return ct, nonce
	}
	fileDir := func(primary []byte, old ...[]byte) string {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "master.key"), []byte(enc(primary)+"\n"), 0o600))
		if len(old) > 0 {
			var lines string
			for _, k := range old {
				lines += enc(k) + "\n"
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "master.key.old"), []byte(lines), 0o600))
		}
		return dir
	}
	tests := []struct {
		name    string
		flags   masterKeyFlags
		dir     string
		primary []byte
		opens   [][]byte // keys whose ciphertexts open
		wantErr string
	}{
		{name: "configured with old", flags: masterKeyFlags{key: enc(b), old: []string{enc(a), hex.EncodeToString(c)}}, dir: t.TempDir(), primary: b, opens: [][]byte{a, b, c}},
		{name: "configured ignores key file", flags: masterKeyFlags{key: enc(b)}, dir: fileDir(a, c), primary: b, opens: [][]byte{b}},
		{name: "key file with old file", dir: fileDir(b, a), primary: b, opens: [][]byte{a, b}},
		{name: "key file with old file and flag", flags: masterKeyFlags{old: []string{enc(c)}}, dir: fileDir(b, a), primary: b, opens: [][]byte{a, b, c}},
		{name: "bad old key", flags: masterKeyFlags{key: enc(b), old: []string{enc(a), "bm9wZQ=="}}, dir: t.TempDir(), wantErr: "--old-master-keys, key 2"},
		{name: "no key file", dir: t.TempDir(), wantErr: "no master key: --master-key is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			box, err := tc.flags.box(tc.dir, false, log)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				for _, k := range [][]byte{a, b, c} {
					require.NotContains(t, err.Error(), enc(k))
				}
				_, err := os.Stat(filepath.Join(tc.dir, "master.key"))
				if tc.flags.key == "" {
					require.ErrorIs(t, err, os.ErrNotExist, "no key file is created")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, secrets.KeyID(tc.primary), box.PrimaryID())
			for _, k := range [][]byte{a, b, c} {
				ct, nonce := sealed(k)
				_, err := box.Open(ct, nonce, nil)
				if bytes.Contains(bytes.Join(tc.opens, nil), k) {
					require.NoError(t, err, "key %s", secrets.KeyID(k))
				} else {
					require.ErrorIs(t, err, secrets.ErrDecrypt, "key %s", secrets.KeyID(k))
				}
			}
		})
	}
}

// TestMasterKeyRotateAndReencrypt runs the documented procedures on SQLite
// (the key file) and PostgreSQL: secrets sealed under the generated key A
// are resealed under B after `master-key rotate`, so that A can be dropped;
// then under C given by the environment; a key that opens nothing fails
// reencrypt with a clear error. No key is ever printed by these commands.
func TestMasterKeyRotateAndReencrypt(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			log := slog.New(slog.DiscardHandler)
			dir := t.TempDir()
			url := ""
			if dialect == "postgres" {
				url = dbtest.PostgresURL(t)
			}
			db, err := openDatabase(ctx, url, dir, log)
			require.NoError(t, err)
			if sqlDB, err := db.DB(); err == nil {
				t.Cleanup(func() { sqlDB.Close() })
			}
			boxA, err := masterKeyFlags{}.box(dir, true, log)
			require.NoError(t, err)
			keyA, err := secrets.LoadKeyFile(filepath.Join(dir, "master.key"))
			require.NoError(t, err)
			insertSealedKeys(t, db, boxA, "AK1", "AK2")
			dbArgs := []string{"--data-dir", dir}
			if url != "" {
				dbArgs = append(dbArgs, "--database-url", url)
			}
			printed := ""
			runOK := func(args ...string) string {
				t.Helper()
				out, err := run(t, ctx, args...)
				require.NoError(t, err, out)
				printed += out
				return out
			}

			out := runOK("master-key", "rotate", "--data-dir", dir)
			require.Contains(t, out, "replaces "+secrets.KeyID(keyA))
			keyB, err := secrets.LoadKeyFile(filepath.Join(dir, "master.key"))
			require.NoError(t, err)
			if dialect == "sqlite" {
				// orbit serve reads master.key.old and counts what is left to reseal.
				_, logs, stop := serve(t, "--data-dir", dir, "--reconcile=false")
				require.NoError(t, stop())
				require.Regexp(t, `reencrypt reseals them"? count=2`, logs.String())
				require.Contains(t, logs.String(), "key_id="+secrets.KeyID(keyB))
				printed += logs.String()
			}

			out = runOK(append([]string{"master-key", "reencrypt", "--batch-size", "1"}, dbArgs...)...)
			require.Contains(t, out, "1/2 checked, 1 resealed\n2/2 checked, 2 resealed\n")
			require.Contains(t, out, "old keys can be dropped")
			require.NoError(t, os.Remove(filepath.Join(dir, "master.key.old")))
			requireSecretsOpen(t, db, keyB, "AK1", "AK2")
			out = runOK(append([]string{"master-key", "reencrypt"}, dbArgs...)...)
			require.Contains(t, out, "2 checked, 0 resealed")

			// Configured keys, from the environment.
			// generate prints the key (stdout) and its id (stderr) once.
			out, err = run(t, ctx, "master-key", "generate")
			require.NoError(t, err)
			line, idLine, _ := strings.Cut(out, "\n")
			keyC, err := secrets.ParseKey(line)
			require.NoError(t, err)
			require.Equal(t, "key id "+secrets.KeyID(keyC)+"\n", idLine)
			t.Setenv("ORBIT_MASTER_KEY", secrets.EncodeKey(keyC))
			t.Setenv("ORBIT_OLD_MASTER_KEYS", secrets.EncodeKey(keyA)+","+hex.EncodeToString(keyB))
			out = runOK(append([]string{"master-key", "reencrypt"}, dbArgs...)...)
			require.Contains(t, out, "2 resealed under master key "+secrets.KeyID(keyC))
			requireSecretsOpen(t, db, keyC, "AK1", "AK2")
			_, err = run(t, ctx, "master-key", "rotate", "--data-dir", dir)
			require.ErrorContains(t, err, "ORBIT_MASTER_KEY is set")

			t.Setenv("ORBIT_OLD_MASTER_KEYS", "")
			out, err = run(t, ctx, append([]string{"master-key", "reencrypt", "--master-key", secrets.EncodeKey(keyA)}, dbArgs...)...)
			require.ErrorContains(t, err, "2 secrets open under none of the given master keys (i1/AK1, i1/AK2)")
			printed += out + err.Error()
			t.Setenv("ORBIT_OLD_MASTER_KEYS", "bad")
			_, err = run(t, ctx, append([]string{"master-key", "reencrypt"}, dbArgs...)...)
			require.ErrorContains(t, err, "--old-master-keys, key 1")

			for _, k := range [][]byte{keyA, keyB, keyC} {
				require.NotContains(t, printed, secrets.EncodeKey(k)[:20])
				require.NotContains(t, printed, hex.EncodeToString(k))
			}
		})
	}
}

func insertSealedKeys(t *testing.T, db *gorm.DB, box *secrets.Box, aks ...string) {
	t.Helper()
	now := time.Now().UTC()
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES ('acc', 'A', ?)", now).Error)
	require.NoError(t, db.Exec(`INSERT INTO instances (id, account_id, name, spec_code, retention_hours, flush_mode,
		desired, generation, status, admin_token, created_at, updated_at)
		VALUES ('i1', 'acc', 'x', 'rmq.s2.2xlarge', 72, 'async', 'RUNNING', 1, 'RUNNING', 'tok', ?, ?)`, now, now).Error)
	for _, ak := range aks {
		ct, nonce, err := box.Seal([]byte("secret-of-"+ak), []byte("i1/"+ak))
		require.NoError(t, err)
		require.NoError(t, db.Exec(`INSERT INTO access_keys (instance_id, access_key, secret_ciphertext, nonce, enabled, created_at, updated_at)
			VALUES ('i1', ?, ?, ?, ?, ?, ?)`, ak, ct, nonce, true, now, now).Error)
	}
}

// requireSecretsOpen checks that the secrets open under key alone.
func requireSecretsOpen(t *testing.T, db *gorm.DB, key []byte, aks ...string) {
	t.Helper()
	box, err := secrets.New(key)
	require.NoError(t, err)
	for _, ak := range aks {
		var row struct {
			SecretCiphertext []byte
			Nonce            []byte
		}
		require.NoError(t, db.Raw("SELECT secret_ciphertext, nonce FROM access_keys WHERE instance_id = 'i1' AND access_key = ?", ak).Scan(&row).Error)
		require.True(t, box.Current(row.Nonce))
		pt, err := box.Open(row.SecretCiphertext, row.Nonce, []byte("i1/"+ak))
		require.NoError(t, err)
		require.Equal(t, "secret-of-"+ak, string(pt))
	}
}
