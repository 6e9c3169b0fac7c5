// Package dbtest gives tests real, migrated databases: Postgres(t), SQLite(t),
// or Each(t, fn) to run one test body against both dialects.
//
// PostgreSQL comes from ORBIT_TEST_DATABASE_URL when set (a postgres:// URL
// of a role allowed to CREATE DATABASE, e.g. what .ci/testpg.sh exports);
// otherwise the first Postgres(t) call of the test binary starts a throwaway
// cluster with Debian's initdb/pg_ctl. Packages using it should stop that
// cluster when their tests end:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
//
// Without that line the cluster still goes away when the test binary exits,
// a moment later, through a reaper process (see startCluster).
//
// The schema is built once per set of migration files as a template database
// named tpl_<checksum>, shared by every test binary using the same server;
// each test then gets its own copy (CREATE DATABASE … TEMPLATE), dropped in
// t.Cleanup. Tests may therefore run in parallel and never see each other's
// rows.
//
// May import: migrations.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations"
)

// EnvDatabaseURL names the variable that points tests at an existing server.
const EnvDatabaseURL = "ORBIT_TEST_DATABASE_URL"

// setupTimeout bounds starting a cluster, building the template or creating
// one test database; far above the usual milliseconds to seconds.
const setupTimeout = 2 * time.Minute

// templateLockKey is the pg_advisory_lock key under which a template is
// built: test binaries of different packages run in parallel against the
// same ORBIT_TEST_DATABASE_URL and must not build it twice at once.
const templateLockKey int64 = 0x6f726269745f7470 // "orbit_tp"

var (
	serverOnce sync.Once
	server     *pgServer
	serverErr  error

	stopOnce sync.Once
)

// pgServer is the PostgreSQL server this binary's tests use, with a pool on
// its admin database for CREATE/DROP DATABASE.
type pgServer struct {
	url      string   // admin database URL
	cluster  *cluster // nil when the server came from ORBIT_TEST_DATABASE_URL
	admin    *sql.DB
	strategy string // " STRATEGY FILE_COPY" on PostgreSQL ≥ 15, else ""

	tplOnce sync.Once
	tpl     string
	tplErr  error
}

func getServer() (*pgServer, error) {
	serverOnce.Do(func() { server, serverErr = connectServer() })
	return server, serverErr
}

func connectServer() (_ *pgServer, retErr error) {
	s := &pgServer{url: os.Getenv(EnvDatabaseURL)}
	if s.url == "" {
		c, err := startCluster()
		if err != nil {
			return nil, fmt.Errorf("start throwaway postgres: %w", err)
		}
		s.cluster, s.url = c, c.url
		defer func() {
			if retErr != nil {
				retErr = errors.Join(retErr, c.stop())
			}
		}()
	}
	admin, err := sql.Open("pgx", s.url)
	if err != nil {
		return nil, fmt.Errorf("open admin pool (check %s): %w", EnvDatabaseURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var version int
	if err := admin.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		admin.Close()
		return nil, fmt.Errorf("connect to postgres admin database: %w", err)
	}
	// FILE_COPY copies the template's files instead of WAL-logging every
	// block (the PostgreSQL 15 default), which is faster for small databases.
	if version >= 150000 {
		s.strategy = " STRATEGY FILE_COPY"
	}
	s.admin = admin
	return s, nil
}

// template returns the name of a fully migrated template database, building
// it if no test binary has yet.
func (s *pgServer) template() (string, error) {
	s.tplOnce.Do(func() { s.tpl, s.tplErr = s.buildTemplate() })
	return s.tpl, s.tplErr
}

func (s *pgServer) buildTemplate() (_ string, retErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	sum := migrations.Checksum()[:16]
	name, tmp := "tpl_"+sum, "tmp_"+sum

	// A session advisory lock needs one connection throughout.
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("build template: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("build template: lock: %w", err)
	}
	defer func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey)
		if err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("build template: unlock: %w", err))
		}
	}()

	var exists bool
	err = conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return "", fmt.Errorf("build template: %w", err)
	}
	if exists {
		return name, nil
	}
	// Build under a temporary name and rename at the end, so a binary that
	// died half-way never leaves a half-migrated template behind: its tmp_
	// database is simply dropped by the next builder.
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + tmp + " WITH (FORCE)",
		"CREATE DATABASE " + tmp,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("build template: %s: %w", q, err)
		}
	}
	if err := migrate(ctx, s.url, tmp); err != nil {
		return "", fmt.Errorf("build template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("build template: rename: %w", err)
	}
	return name, nil
}

func migrate(ctx context.Context, baseURL, dbName string) error {
	u, err := withDatabase(baseURL, dbName)
	if err != nil {
		return err
	}
	db, err := migrations.Open(ctx, migrations.Config{DatabaseURL: u}, nil)
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, db)
	return errors.Join(err, closeDB(db))
}

// createDatabase makes a database for t from template (empty for
// template0) and drops it when t ends. It returns the database's URL.
func createDatabase(t testing.TB, s *pgServer, prefix, template string) string {
	t.Helper()
	name := prefix + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	q := "CREATE DATABASE " + name + " TEMPLATE " + template + s.strategy
	if _, err := s.admin.ExecContext(ctx, q); err != nil {
		t.Fatalf("dbtest: %s: %v", q, err)
	}
	// Registered before the caller's cleanups, so it runs after them: pools
	// the test opened are closed by then. FORCE covers the ones that are not.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(s.url, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return u
}

// Postgres returns a pool on a fresh PostgreSQL database of t's own, already
// migrated to migrations.Latest(). The pool is closed and the database
// dropped when t ends.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	s, err := getServer()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	tpl, err := s.template()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	u := createDatabase(t, s, "t_", tpl)
	return open(t, migrations.Config{DatabaseURL: u})
}

// PostgresURL returns the URL of a fresh, empty PostgreSQL database of t's
// own (no migrations applied), for tests of migrations themselves. The
// database is dropped when t ends, forcibly closing connections still open.
func PostgresURL(t testing.TB) string {
	t.Helper()
	s, err := getServer()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return createDatabase(t, s, "e_", "template0")
}

// SQLite returns a pool on a migrated SQLite database in t.TempDir(), opened
// the way `orbit serve` opens it. The pool is closed when t ends.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	return open(t, migrations.Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "orbit.db")})
}

func open(t testing.TB, cfg migrations.Config) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := migrations.Open(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := closeDB(db); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	// A no-op for a database cloned from the template; it migrates a fresh
	// SQLite file.
	if _, err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return db
}

// Each runs fn twice, as subtests "postgres" and "sqlite", each with its own
// freshly migrated database. Store implementations use it so that one suite
// covers both dialects.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run(migrations.Postgres, func(t *testing.T) { fn(t, Postgres(t)) })
	t.Run(migrations.SQLite, func(t *testing.T) { fn(t, SQLite(t)) })
}

// Main runs the tests and then stops the throwaway PostgreSQL cluster, if
// one was started, before the binary exits. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if err := stop(); err != nil {
		// The exit code stays the tests' own: the reaper is a fallback.
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
	}
	return code
}

func stop() error {
	var err error
	stopOnce.Do(func() {
		if server == nil {
			return
		}
		err = server.admin.Close()
		if server.cluster != nil {
			err = errors.Join(err, server.cluster.stop())
		}
	})
	return err
}

func closeDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
