package migrations_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/orbitmq/orbit/migrations"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// dialects gives each test a fresh, unmigrated database per dialect.
var dialects = []struct {
	name  string
	fresh func(t *testing.T) migrations.Config
}{
	{migrations.Postgres, func(t *testing.T) migrations.Config {
		return migrations.Config{DatabaseURL: dbtest.PostgresURL(t)}
	}},
	{migrations.SQLite, func(t *testing.T) migrations.Config {
		return migrations.Config{DataDir: t.TempDir()}
	}},
}

func open(t *testing.T, cfg migrations.Config) *gorm.DB {
	t.Helper()
	db, err := migrations.Open(t.Context(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		sqlDB, err := db.DB()
		require.NoError(t, err)
		require.NoError(t, sqlDB.Close())
	})
	return db
}

func TestVersionsMatchAcrossDialects(t *testing.T) {
	pg, lite := migrations.Versions(migrations.Postgres), migrations.Versions(migrations.SQLite)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, lite, "postgres/ and sqlite/ must hold the same migration numbers")
	// Numbers run 1, 2, 3… without gaps, so two branches that both add
	// migration N clash visibly instead of one being skipped.
	for i, v := range pg {
		require.Equal(t, int64(i+1), v, "migration versions must be consecutive from 1")
	}
	require.Equal(t, pg[len(pg)-1], migrations.Latest())
	require.Nil(t, migrations.Versions("mysql"))
	require.Len(t, migrations.Checksum(), 64)
}

func TestUpAppliesAll(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, d.fresh(t))
			require.Equal(t, d.name, migrations.Dialect(db))

			v, err := migrations.Version(t.Context(), db)
			require.NoError(t, err)
			require.Zero(t, v, "a fresh database is at version 0")

			v, err = migrations.Up(t.Context(), db)
			require.NoError(t, err)
			require.Equal(t, migrations.Latest(), v)
			v, err = migrations.Version(t.Context(), db)
			require.NoError(t, err)
			require.Equal(t, migrations.Latest(), v)
			require.Subset(t, tables(t, db), []string{"accounts", "users", "api_tokens"})
		})
	}
}

func TestUpIsNoOpWhenCurrent(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, d.fresh(t))
			_, err := migrations.Up(t.Context(), db)
			require.NoError(t, err)
			before := appliedVersions(t, db)

			v, err := migrations.Up(t.Context(), db)
			require.NoError(t, err)
			require.Equal(t, migrations.Latest(), v)
			require.Equal(t, before, appliedVersions(t, db), "a second Up must not record anything")
		})
	}
}

// Replicas starting together all run Up; exactly one must do the work and
// the others must succeed without applying anything twice.
func TestUpConcurrent(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			cfg := d.fresh(t)
			const n = 3
			dbs := make([]*gorm.DB, n) // separate pools, like separate processes
			for i := range dbs {
				dbs[i] = open(t, cfg)
			}
			var wg sync.WaitGroup
			versions := make([]int64, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range dbs {
				wg.Go(func() {
					<-start
					versions[i], errs[i] = migrations.Up(t.Context(), dbs[i])
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				require.NoError(t, errs[i], "Up #%d", i)
				require.Equal(t, migrations.Latest(), versions[i], "Up #%d", i)
			}
			want := append([]int64{0}, migrations.Versions(d.name)...)
			require.Equal(t, want, appliedVersions(t, dbs[0]), "each migration recorded exactly once")
			require.Subset(t, tables(t, dbs[0]), []string{"accounts", "users", "idempotency_keys"})
		})
	}
}

// Walks down one migration at a time, so every Down section runs and must
// leave the schema the previous Up produced, then comes back up.
func TestUpDownUp(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := open(t, d.fresh(t))
			_, err := migrations.Up(ctx, db)
			require.NoError(t, err)
			full := tables(t, db)

			for v := migrations.Latest() - 1; v >= 0; v-- {
				require.NoError(t, migrations.Down(ctx, db, v))
				got, err := migrations.Version(ctx, db)
				require.NoError(t, err)
				require.Equal(t, v, got)
			}
			require.Equal(t, []string{"goose_db_version"}, tables(t, db), "Down to 0 drops every table")

			v, err := migrations.Up(ctx, db)
			require.NoError(t, err)
			require.Equal(t, migrations.Latest(), v)
			require.Equal(t, full, tables(t, db))

			require.Error(t, migrations.Down(ctx, db, -1))
		})
	}
}

// The two dialects are written by hand; this catches one of them gaining a
// table or column the other lacks.
func TestSchemaSameInBothDialects(t *testing.T) {
	pg := dbtest.Postgres(t)
	lite := dbtest.SQLite(t)
	require.Equal(t, columns(t, pg), columns(t, lite))
}

func TestSchemaAccountsUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		now := time.Now().UTC()
		insertUser := func(id, accountID, email string) error {
			return db.Exec(`INSERT INTO users (id, account_id, email, name, role, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, 'Ada', 'owner', 'hash', ?, ?)`, id, accountID, email, now, now).Error
		}
		require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)", "acc-1", "Acme", now).Error)
		require.NoError(t, insertUser("u-1", "acc-1", "ada@example.com"))

		var got struct {
			Email     string
			AccountID string
			CreatedAt time.Time
		}
		require.NoError(t, db.Raw("SELECT email, account_id, created_at FROM users WHERE id = ?", "u-1").Scan(&got).Error)
		require.Equal(t, "ada@example.com", got.Email)
		require.Equal(t, "acc-1", got.AccountID)
		require.WithinDuration(t, now, got.CreatedAt, time.Millisecond)

		err := insertUser("u-2", "acc-1", "ada@example.com")
		require.Error(t, err, "users.email is unique")
		requireConstraint(t, err, migrations.Dialect(db), "23505", sqlite3.SQLITE_CONSTRAINT_UNIQUE)

		// SQLite enforces foreign keys only with the pragma Open sets.
		err = insertUser("u-3", "no-such-account", "bob@example.com")
		require.Error(t, err, "users.account_id references accounts")
		requireConstraint(t, err, migrations.Dialect(db), "23503", sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
	})
}

func requireConstraint(t *testing.T, err error, dialect, pgCode string, sqliteCode int) {
	t.Helper()
	switch dialect {
	case migrations.Postgres:
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Equal(t, pgCode, pgErr.Code, pgErr.Message)
	case migrations.SQLite:
		var liteErr *gosqlite.Error
		require.ErrorAs(t, err, &liteErr)
		require.Equal(t, sqliteCode, liteErr.Code(), liteErr.Error())
	}
}

func TestOpenRedactsPassword(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		// Port 1 is closed on any sane machine: connection refused at once.
		{"closed port", "postgres://orbit:s3cret@127.0.0.1:1/orbit?connect_timeout=5"},
		{"postgresql scheme", "postgresql://orbit:s3cret@127.0.0.1:1/orbit?connect_timeout=5"},
		{"password parameter", "postgres://orbit@127.0.0.1:1/orbit?password=s3cret&connect_timeout=5"},
		{"unparseable port", "postgres://orbit:s3cret@127.0.0.1:port/orbit"},
		{"password with slash", "postgres://orbit:s3/cret@127.0.0.1:1/orbit"},
		{"unknown scheme", "mysql://orbit:s3cret@127.0.0.1:1/orbit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			db, err := migrations.Open(ctx, migrations.Config{DatabaseURL: tt.url}, nil)
			require.Error(t, err)
			require.Nil(t, db)
			require.NotContains(t, err.Error(), "s3cret")
			require.NotContains(t, err.Error(), "cret@")
			require.NotContains(t, fmt.Sprintf("%+v", err), "s3cret")
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://orbit:s3cret@db:5432/orbit?sslmode=require", "postgres://orbit:xxxxx@db:5432/orbit?sslmode=require"},
		{"postgres://orbit@db/orbit", "postgres://orbit@db/orbit"},
		{"postgres://orbit@db/orbit?password=s3cret", "postgres://orbit@db/orbit?password=xxxxx"},
		{"postgres://orbit:s3cret@db:port/orbit", "postgres://orbit:xxxxx@db:port/orbit"},
		{"sqlite:/var/lib/orbit/orbit.db", "sqlite:/var/lib/orbit/orbit.db"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, migrations.RedactURL(tt.in))
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Run("data dir default", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "nested", "data")
		db := open(t, migrations.Config{DataDir: dir})
		require.Equal(t, migrations.SQLite, migrations.Dialect(db))
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
		require.FileExists(t, filepath.Join(dir, "orbit.db"))

		var mode string
		require.NoError(t, db.Raw("PRAGMA journal_mode").Scan(&mode).Error)
		require.Equal(t, "wal", mode)
	})
	t.Run("url forms", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		for _, u := range []string{
			"sqlite:" + filepath.Join(dir, "a.db"),
			"sqlite://" + filepath.Join(dir, "b.db"), // sqlite:///abs/path
		} {
			db := open(t, migrations.Config{DatabaseURL: u})
			_, err := migrations.Up(t.Context(), db)
			require.NoError(t, err)
		}
		require.FileExists(t, filepath.Join(dir, "a.db"))
		require.FileExists(t, filepath.Join(dir, "b.db"))
	})
	t.Run("in memory", func(t *testing.T) {
		t.Parallel()
		db := open(t, migrations.Config{DatabaseURL: "sqlite::memory:"})
		v, err := migrations.Up(t.Context(), db)
		require.NoError(t, err)
		require.Equal(t, migrations.Latest(), v)
	})
	t.Run("bad config", func(t *testing.T) {
		t.Parallel()
		for _, cfg := range []migrations.Config{
			{},
			{DatabaseURL: "sqlite:"},
			{DatabaseURL: "sqlite:/tmp/x.db?mode=ro"},
			{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "x.db")},
		} {
			_, err := migrations.Open(t.Context(), cfg, nil)
			require.Error(t, err, "%+v", cfg)
		}
	})
}

// tables lists the user tables of db, sorted.
func tables(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var names []string
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	if migrations.Dialect(db) == migrations.Postgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
	}
	require.NoError(t, db.Raw(q).Scan(&names).Error)
	return names
}

// columns maps each table of db to its sorted column names.
func columns(t *testing.T, db *gorm.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range tables(t, db) {
		var cols []string
		q := "SELECT name FROM pragma_table_info(?)"
		if migrations.Dialect(db) == migrations.Postgres {
			q = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
		}
		require.NoError(t, db.Raw(q, table).Scan(&cols).Error)
		slices.Sort(cols)
		out[table] = cols
	}
	return out
}

// appliedVersions is goose's history, oldest first.
func appliedVersions(t *testing.T, db *gorm.DB) []int64 {
	t.Helper()
	var vs []int64
	require.NoError(t, db.Raw("SELECT version_id FROM goose_db_version ORDER BY id").Scan(&vs).Error)
	return vs
}
