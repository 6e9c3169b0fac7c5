package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names, as returned by Dialect and accepted by Versions.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// versionTable is goose's default; naming it here keeps Version's query and
// the providers in step.
const versionTable = "goose_db_version"

// embedded is computed once at start-up: the files are compiled in, so a bad
// file name is a build mistake that should stop every binary and test at once.
var embedded = mustScan()

type scan struct {
	versions map[string][]int64 // dialect → ascending versions
	latest   int64
	checksum string
}

func mustScan() scan {
	s := scan{versions: map[string][]int64{}}
	h := sha256.New()
	for _, dialect := range []string{Postgres, SQLite} {
		entries, err := fs.ReadDir(files, dialect)
		if err != nil {
			panic(fmt.Sprintf("migrations: read embedded %s: %v", dialect, err))
		}
		for _, e := range entries { // fs.ReadDir sorts by name, so the hash is stable.
			v, err := goose.NumericComponent(e.Name())
			if err != nil {
				panic(fmt.Sprintf("migrations: embedded %s/%s: %v", dialect, e.Name(), err))
			}
			s.versions[dialect] = append(s.versions[dialect], v)
			s.latest = max(s.latest, v)
			body, err := files.ReadFile(path.Join(dialect, e.Name()))
			if err != nil {
				panic(fmt.Sprintf("migrations: read embedded %s/%s: %v", dialect, e.Name(), err))
			}
			fmt.Fprintf(h, "%s/%s\x00%d\x00", dialect, e.Name(), len(body))
			h.Write(body)
		}
		slices.Sort(s.versions[dialect])
	}
	s.checksum = hex.EncodeToString(h.Sum(nil))
	return s
}

// Latest is the highest migration version embedded in this binary: the
// version Up leaves a database at.
func Latest() int64 { return embedded.latest }

// Versions lists the embedded migration versions of one dialect ("postgres"
// or "sqlite") in ascending order; nil for an unknown dialect.
func Versions(dialect string) []int64 { return slices.Clone(embedded.versions[dialect]) }

// Checksum is a hex SHA-256 over every embedded migration file of both
// dialects. It changes whenever a migration is added or edited, so test
// helpers use it to name cached template databases.
func Checksum() string { return embedded.checksum }

// Up applies every pending migration and returns the version the database is
// at afterwards. Concurrent calls, from goroutines or from other processes,
// are serialised (see the package doc); the loser finds nothing left to do.
func Up(ctx context.Context, db *gorm.DB) (int64, error) {
	err := withProvider(ctx, db, func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	v, err := Version(ctx, db)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// Down rolls the schema back to toVersion (0 drops everything Up created).
// It is meant for tests and for an operator undoing a bad release.
func Down(ctx context.Context, db *gorm.DB, toVersion int64) error {
	if toVersion < 0 {
		return fmt.Errorf("roll back migrations: target version %d is negative", toVersion)
	}
	err := withProvider(ctx, db, func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, toVersion)
		return err
	})
	if err != nil {
		return fmt.Errorf("roll back migrations to %d: %w", toVersion, err)
	}
	return nil
}

// Version is the schema version the database is at, 0 for a database no
// migration has touched. Unlike goose's own GetDBVersion it takes no lock and
// creates nothing, so it is cheap enough for a readiness check.
func Version(ctx context.Context, db *gorm.DB) (int64, error) {
	var exists bool
	switch d := Dialect(db); d {
	case Postgres:
		// to_regclass follows search_path, as goose does when it creates the table.
		err := db.WithContext(ctx).Raw("SELECT to_regclass('" + versionTable + "') IS NOT NULL").Scan(&exists).Error
		if err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
	case SQLite:
		var n int64
		err := db.WithContext(ctx).
			Raw("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", versionTable).
			Scan(&n).Error
		if err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		exists = n > 0
	default:
		return 0, fmt.Errorf("read schema version: unsupported dialect %q", d)
	}
	if !exists {
		return 0, nil
	}
	var v *int64
	if err := db.WithContext(ctx).Raw("SELECT max(version_id) FROM " + versionTable).Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// withProvider builds a goose provider for db's dialect and runs fn under the
// migration lock of that dialect.
func withProvider(ctx context.Context, db *gorm.DB, fn func(*goose.Provider) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("get sql.DB: %w", err)
	}
	opts := []goose.ProviderOption{
		// Only the embedded SQL counts; a Go migration registered globally by
		// some imported package must not sneak into Orbit's schema.
		goose.WithDisableGlobalRegistry(true),
	}
	var gooseDialect goose.Dialect
	switch d := Dialect(db); d {
	case Postgres:
		gooseDialect = goose.DialectPostgres
		// The advisory lock is per database, so replicas sharing one database
		// take turns; the loser polls once a second for up to 5 minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("create postgres migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gooseDialect = goose.DialectSQLite3
	default:
		return fmt.Errorf("unsupported dialect %q", d)
	}
	sub, err := fs.Sub(files, Dialect(db))
	if err != nil {
		return fmt.Errorf("open embedded %s migrations: %w", Dialect(db), err)
	}
	p, err := goose.NewProvider(gooseDialect, sqlDB, sub, opts...)
	if err != nil {
		return fmt.Errorf("create migration provider: %w", err)
	}
	// Deliberately no p.Close: it would close the caller's pool.

	if gooseDialect != goose.DialectSQLite3 {
		return fn(p)
	}
	// goose has no locker for SQLite, so serialise migrators of the same file
	// ourselves. goose re-reads the applied versions after we hold the lock,
	// so whoever comes second sees the first one's work and does nothing.
	file, err := sqliteFile(ctx, db)
	if err != nil {
		return err
	}
	unlock, err := lockSQLite(ctx, file)
	if err != nil {
		return err
	}
	return errors.Join(fn(p), unlock())
}

// sqliteFile is the absolute path of db's main database file, or "" for an
// in-memory database.
func sqliteFile(ctx context.Context, db *gorm.DB) (string, error) {
	var rows []struct {
		Seq  int
		Name string
		File string
	}
	if err := db.WithContext(ctx).Raw("PRAGMA database_list").Scan(&rows).Error; err != nil {
		return "", fmt.Errorf("find sqlite database file: %w", err)
	}
	for _, r := range rows {
		if r.Name == "main" {
			return r.File, nil
		}
	}
	return "", errors.New("find sqlite database file: no main database")
}
