package migrations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Config says where the control-plane database lives.
type Config struct {
	// DatabaseURL selects the database. postgres:// or postgresql:// URLs
	// (pgx syntax, e.g. postgres://orbit:pw@db:5432/orbit?sslmode=require or
	// postgres://orbit@/orbit?host=/run/postgresql for a unix socket) use
	// PostgreSQL. "sqlite:PATH" uses the SQLite file at PATH
	// (sqlite:///var/lib/orbit/orbit.db, sqlite:orbit.db, sqlite::memory:).
	// Empty means SQLite at DataDir/orbit.db, the zero-configuration default.
	DatabaseURL string
	// DataDir holds orbit.db when DatabaseURL is empty. It is created with
	// mode 0700 because the database holds password hashes and sealed keys.
	DataDir string
}

// Validate reports a configuration Open cannot use, without touching the
// database, so `orbit serve` can reject bad flags before doing anything.
func (c Config) Validate() error {
	lower := strings.ToLower(c.DatabaseURL)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			// Not %w: url.Error quotes the URL, password included.
			return fmt.Errorf("database URL %s does not parse", RedactURL(c.DatabaseURL))
		}
	case strings.HasPrefix(lower, "sqlite:"):
		path := sqlitePath(c.DatabaseURL)
		if path == "" {
			return errors.New("database URL sqlite: names no file")
		}
		if strings.Contains(path, "?") {
			// The driver would take everything after '?' as its own parameters.
			return fmt.Errorf("sqlite path %q must not contain '?'", path)
		}
	case c.DatabaseURL != "":
		return fmt.Errorf("database URL %s: unsupported scheme, want postgres://, postgresql:// or sqlite:", RedactURL(c.DatabaseURL))
	case c.DataDir == "":
		return errors.New("neither a database URL nor a data directory is configured")
	}
	return nil
}

// sqlitePath accepts sqlite:PATH as well as the URL-looking sqlite:///abs/path.
func sqlitePath(databaseURL string) string {
	return strings.TrimPrefix(databaseURL[len("sqlite:"):], "//")
}

// SQLite pragmas for every connection. busy_timeout comes first so that the
// journal_mode switch, which needs a lock, already waits instead of failing
// when another process holds the file. _txlock=immediate takes the write lock
// at BEGIN: a deferred transaction that reads and then writes can fail with
// SQLITE_BUSY without waiting when another connection committed in between.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// Open connects to the database cfg names, checks it answers, and returns a
// gorm handle. It does not migrate: call Up for that. log receives SQL at
// Debug level, without argument values; nil discards it.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*gorm.DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	gcfg := &gorm.Config{
		Logger: sqlLogger{log: log},
		// We ping ourselves, with ctx, so a dead server cannot hang start-up.
		DisableAutomaticPing: true,
		// Timestamps gorm fills in (CreatedAt, UpdatedAt) are UTC like every
		// other timestamp we store (SQLite keeps the offset it is given), and
		// in microseconds, PostgreSQL's precision, so both dialects read back
		// exactly what was written.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	switch u := cfg.DatabaseURL; {
	case u == "":
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		return openSQLite(ctx, filepath.Join(cfg.DataDir, "orbit.db"), gcfg)
	case strings.HasPrefix(strings.ToLower(u), "sqlite:"):
		return openSQLite(ctx, sqlitePath(u), gcfg)
	default:
		return openPostgres(ctx, u, gcfg)
	}
}

// Dialect reports which database db talks to: "postgres" or "sqlite".
func Dialect(db *gorm.DB) string {
	return db.Dialector.Name()
}

func openPostgres(ctx context.Context, rawURL string, gcfg *gorm.Config) (*gorm.DB, error) {
	// The URL, and so the password, can end up inside driver errors (url.Parse
	// quotes its input, for one). Every error below goes through scrub.
	secrets := urlSecrets(rawURL)
	where := RedactURL(rawURL)
	db, err := gorm.Open(postgres.Open(rawURL), gcfg)
	if err != nil {
		return nil, scrub(fmt.Errorf("open postgres %s: %w", where, err), secrets)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open postgres: get sql.DB: %w", err)
	}
	// Several replicas share one server, so each keeps a bounded pool; idle
	// connections are recycled so a restarted PgBouncer or failover is noticed.
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(5)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, scrub(fmt.Errorf("connect to postgres %s: %w", where, err), secrets)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string, gcfg *gorm.Config) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(path+"?"+sqliteParams), gcfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open sqlite: get sql.DB: %w", err)
	}
	// One connection: SQLite has one writer anyway, and a single connection
	// means this process never gets SQLITE_BUSY from itself. It also keeps an
	// in-memory database alive, since each connection would get its own.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// RedactURL returns rawURL with its password (in the user part or in any
// query parameter whose name contains "password") replaced by "xxxxx", fit
// for logs and error messages. Strings that do not parse are redacted with
// patterns, erring on the side of hiding too much.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		s := brokenUserinfo.ReplaceAllString(rawURL, "${1}xxxxx@")
		return passwordParam.ReplaceAllString(s, "${1}xxxxx")
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); len(q) > 0 {
		changed := false
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

var (
	// scheme://user:PASSWORD@ with the password running to the last '@'.
	brokenUserinfo = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:).*@`)
	// password=VALUE and sslpassword=VALUE, in a query or key=value string.
	passwordParam = regexp.MustCompile(`(?i)(password=)[^&\s]*`)
)

// urlSecrets lists every spelling of the passwords in rawURL that an error
// message might echo: raw and percent-decoded.
func urlSecrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if d, err := url.QueryUnescape(s); err == nil && d != s && d != "" {
				out = append(out, d)
			}
		}
	}
	if m := brokenUserinfo.FindString(rawURL); m != "" {
		userinfo := m[strings.Index(m, "://")+3 : len(m)-1]
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			add(pw)
		}
	}
	for _, m := range passwordParam.FindAllString(rawURL, -1) {
		_, pw, _ := strings.Cut(m, "=")
		add(pw)
	}
	return out
}

// scrub hides secrets in err's message while keeping err inspectable with
// errors.Is and errors.As.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	leaks := false
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			leaks = true
			break
		}
	}
	if !leaks {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}

type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// sqlLogger sends gorm's statement log to slog at Debug. It never logs
// argument values: they include password hashes, token hashes and sealed
// keys. Errors are not logged here because gorm returns them to the caller,
// who decides (log or return, never both).
type sqlLogger struct{ log *slog.Logger }

var (
	_ logger.Interface  = sqlLogger{}
	_ gorm.ParamsFilter = sqlLogger{}
)

// LogMode is a no-op: the slog handler's level decides what is shown.
func (l sqlLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l sqlLogger) Info(ctx context.Context, msg string, data ...any) {
	l.log.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, data...))
}

func (l sqlLogger) Warn(ctx context.Context, msg string, data ...any) {
	l.log.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, data...))
}

func (l sqlLogger) Error(ctx context.Context, msg string, data ...any) {
	l.log.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, data...))
}

func (l sqlLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if !l.log.Enabled(ctx, slog.LevelDebug) {
		return // Building the SQL string costs; skip it when nobody reads it.
	}
	sql, rows := fc()
	attrs := []slog.Attr{
		slog.String("sql", sql),
		slog.Duration("duration", time.Since(begin)),
	}
	if rows >= 0 {
		attrs = append(attrs, slog.Int64("rows", rows))
	}
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, "sql", attrs...)
}

// ParamsFilter drops the arguments before gorm renders a statement for Trace,
// so the logged SQL keeps its placeholders.
func (l sqlLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
