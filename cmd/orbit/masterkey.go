package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/controlplane/secrets"
)

const masterKeyFile = "master.key"

// masterKeyFlags are the master keys of access-key secrets: the one that
// seals and old ones that still open (orbit serve, master-key reencrypt).
type masterKeyFlags struct {
	key string
	old []string
}

func (f *masterKeyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "master-key", "", "32-byte key (base64 or hex) sealing access-key secrets at rest; default: <data-dir>/master.key, generated on first start of orbit serve")
	cmd.Flags().StringSliceVar(&f.old, "old-master-keys", nil, "comma-separated previous master keys, which still open secrets but never seal (key rotation; see orbit master-key --help); with the key file, <data-dir>/master.key.old adds to them")
}

// box builds the keyring from --master-key or, without it, from
// <data-dir>/master.key (created if create is set, as orbit serve does)
// plus <data-dir>/master.key.old, and --old-master-keys. No key is ever
// logged or put in an error.
func (f masterKeyFlags) box(dataDir string, create bool, log *slog.Logger) (*secrets.Box, error) {
	var primary []byte
	var old [][]byte
	if f.key != "" {
		k, err := secrets.ParseKey(f.key)
		if err != nil {
			return nil, fmt.Errorf("--master-key: %w", err)
		}
		primary = k
	} else {
		path := filepath.Join(dataDir, masterKeyFile)
		if create {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data dir: %w", err)
			}
			k, created, err := secrets.LoadOrCreateKeyFile(path)
			if err != nil {
				return nil, err
			}
			if created {
				log.Info("master key created; back it up with the database, access-key secrets cannot be read without it", "path", path)
			}
			primary = k
		} else {
			k, err := secrets.LoadKeyFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no master key: --master-key is not set and %s does not exist", path)
			}
			if err != nil {
				return nil, err
			}
			primary = k
		}
		fromFile, err := secrets.LoadOldKeysFile(path)
		if err != nil {
			return nil, err
		}
		old = fromFile
	}
	for i, s := range f.old {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := secrets.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("--old-master-keys, key %d: %w", i+1, err)
		}
		old = append(old, k)
	}
	box, err := secrets.New(primary, old...)
	if err != nil {
		return nil, err
	}
	log.Info("master key ready", "key_id", box.PrimaryID(), "old_keys", len(old))
	return box, nil
}

const masterKeyHelp = `Manage the master key that seals the secret keys of access keys at rest
(AES-256-GCM). Each stored secret names the key that sealed it by key id (a
truncated SHA-256 of the key, never the key). orbit serve seals with its master
key and opens with it or any old key, so a key can be replaced without downtime.

With --master-key (several replicas, PostgreSQL):
  1. orbit master-key generate                      prints NEW once
  2. only with several replicas: restart each with
     --master-key OLD --old-master-keys NEW          so all of them can open NEW
  3. restart each with --master-key NEW --old-master-keys OLD
  4. orbit master-key reencrypt --database-url ... --master-key NEW --old-master-keys OLD
  5. restart each with --master-key NEW alone; OLD can be destroyed

With the generated key file (<data-dir>/master.key, one server):
  1. orbit master-key rotate --data-dir D           old key moves to D/master.key.old
  2. restart orbit serve
  3. orbit master-key reencrypt --data-dir D
  4. delete D/master.key.old

Environment: ORBIT_MASTER_KEY, ORBIT_OLD_MASTER_KEYS (comma-separated).`

func newMasterKeyCmd() *cobra.Command {
	root := &cobra.Command{Use: "master-key", Short: "Rotate the master key that seals access-key secrets", Long: masterKeyHelp}
	root.AddCommand(newMasterKeyGenerateCmd(), newMasterKeyRotateCmd(), newMasterKeyReencryptCmd())
	return root
}

func newMasterKeyGenerateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Print a new random master key",
		Long: `Print a new random 32-byte master key (base64) for --master-key or
ORBIT_MASTER_KEY, and its key id on stderr. The key is printed this once and
stored nowhere: keep it in your secret store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secrets.EncodeKey(key))
			fmt.Fprintf(cmd.ErrOrStderr(), "key id %s\n", secrets.KeyID(key))
			return nil
		},
	}
}

func newMasterKeyRotateCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the generated key file <data-dir>/master.key by a new key",
		Long: `Replace the master key kept in <data-dir>/master.key by a new random one and
add the replaced key to <data-dir>/master.key.old (one key per line, newest
first), which orbit serve and reencrypt read as old keys. Neither key is
printed. Then restart orbit serve, run orbit master-key reencrypt, and delete
master.key.old.

Only for the key file: with --master-key / ORBIT_MASTER_KEY, rotate by
configuration (see orbit master-key --help).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Getenv("ORBIT_MASTER_KEY") != "" {
				return errors.New("ORBIT_MASTER_KEY is set, so the key file is not used: rotate by configuration (see orbit master-key --help)")
			}
			path := filepath.Join(dataDir, masterKeyFile)
			newID, oldID, err := secrets.RotateKeyFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "master key %s replaces %s, which was kept in %s\n"+
				"next: restart orbit serve, run `orbit master-key reencrypt --data-dir %s`, then delete %s\n",
				newID, oldID, secrets.OldKeysFile(path), dataDir, secrets.OldKeysFile(path))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./orbit-data", "directory of master.key")
	bindEnv(cmd)
	return cmd
}

func newMasterKeyReencryptCmd() *cobra.Command {
	var (
		f     dbFlags
		keys  masterKeyFlags
		batch int
	)
	cmd := &cobra.Command{
		Use:   "reencrypt",
		Short: "Seal every stored access-key secret under the current master key",
		Long: `Open every stored access-key secret and seal the ones not yet sealed under
the master key (--master-key or <data-dir>/master.key) anew under it, in
batches, printing progress. Give it the old keys (--old-master-keys or
<data-dir>/master.key.old) the secrets are sealed under.

It is safe to run while orbit serve replicas run (a secret is only replaced if
it still holds what was read) and safe to run again. When it reports every
secret sealed under the master key, the old keys can be dropped. It fails
if a secret opens under none of the given keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDB(cmd, func(db *gorm.DB, log *slog.Logger) error {
				box, err := keys.box(f.dataDir, false, log)
				if err != nil {
					return err
				}
				return reencrypt(cmd, db, box, batch, log)
			})
		},
	}
	keys.register(cmd)
	cmd.Flags().IntVar(&batch, "batch-size", 500, "secrets read and resealed per batch")
	f.register(cmd)
	return cmd
}

func reencrypt(cmd *cobra.Command, db *gorm.DB, box *secrets.Box, batch int, log *slog.Logger) error {
	out := cmd.OutOrStdout()
	svc := resources.NewAccessKeyService(resources.NewAccessKeyStore(db), instances.NewStore(db), resources.AccessKeyConfig{Box: box}, log)
	res, err := svc.ReencryptSecrets(cmd.Context(), batch, func(r resources.ReencryptResult) {
		fmt.Fprintf(out, "%d/%d checked, %d resealed\n", r.Checked, r.Total, r.Resealed)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "done: %d checked, %d resealed under master key %s\n", res.Checked, res.Resealed, box.PrimaryID())
	if res.Changed > 0 {
		fmt.Fprintf(out, "%d changed while being resealed and were left alone: run reencrypt again\n", res.Changed)
	}
	if n := len(res.Unreadable); n > 0 {
		shown := res.Unreadable[:min(n, 10)]
		return fmt.Errorf("%d secrets open under none of the given master keys (%s): pass the key they were sealed under with --old-master-keys; do not drop old keys yet",
			n, strings.Join(shown, ", "))
	}
	if res.Changed == 0 {
		fmt.Fprintln(out, "every secret is sealed under the master key: old keys can be dropped")
	}
	return nil
}
