package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/migrations"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// runAsOrbitEnv makes the test binary behave as the orbit command, so tests
// can run it (and the child processes it starts itself) as real processes.
const runAsOrbitEnv = "ORBIT_TEST_RUN_AS_ORBIT"

func TestMain(m *testing.M) {
	if os.Getenv(runAsOrbitEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(dbtest.Main(m))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// run executes orbit with args and returns what it printed.
func run(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, t.Context(), "version")
	require.NoError(t, err)
	require.Equal(t, "orbit dev\n", out)
}

func TestServeHelpDocumentsEnvironment(t *testing.T) {
	out, err := run(t, t.Context(), "serve", "--help")
	require.NoError(t, err)
	for _, name := range []string{"--listen", "--data-dir", "--database-url", "--log-level", "--trusted-proxies",
		"ORBIT_LISTEN", "ORBIT_DATA_DIR", "ORBIT_DATABASE_URL", "ORBIT_LOG_LEVEL", "ORBIT_SECURE_COOKIES"} {
		require.Contains(t, out, name)
	}
}

func TestEnvironmentSetsFlagsAndFlagsWin(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"bad level from env", map[string]string{"ORBIT_LOG_LEVEL": "loud"}, nil, "--log-level \"loud\""},
		{"flag beats env", map[string]string{"ORBIT_LOG_LEVEL": "loud"}, []string{"--log-level", "info", "--log-format", "xml"}, "--log-format \"xml\""},
		{"bad duration from env", map[string]string{"ORBIT_ACCESS_TOKEN_TTL": "soon"}, nil, "environment ORBIT_ACCESS_TOKEN_TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			t.Setenv("ORBIT_DATA_DIR", t.TempDir())
			_, err := run(t, t.Context(), append([]string{"serve"}, tc.args...)...)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

var consoleLine = regexp.MustCompile(`Console: (http://127\.0\.0\.1:\d+/)`)

// serve starts `orbit serve` in-process and returns the console URL and a stop function.
func serve(t *testing.T, args ...string) (string, *lockedBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lockedBuffer{}
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	cmd.SetOut(out)
	cmd.SetErr(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var url string
	require.Eventually(t, func() bool {
		if m := consoleLine.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			return true
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, out.String())
		default:
		}
		return false
	}, 60*time.Second, 20*time.Millisecond)
	stop := func() error {
		cancel()
		return <-done
	}
	return url, out, stop
}

func TestServeEmbeddedDefaultsPrintsConsoleURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("ORBIT_DATA_DIR", dir) // from the environment, like a user would
	url, out, stop := serve(t)
	require.Contains(t, out.String(), "No accounts yet")
	res, err := http.Get(url + "readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, err = http.Get(url + "access/tokens") // a console deep link
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	require.NoError(t, stop(), "graceful shutdown")
	require.FileExists(t, filepath.Join(dir, "orbit.db"))

	// A second start finds the schema in place and an account makes the hint go away.
	db, err := migrations.Open(t.Context(), migrations.Config{DataDir: dir}, nil)
	require.NoError(t, err)
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES ('a1', 'x', ?)", time.Now().UTC()).Error)
	sqlDB, _ := db.DB()
	sqlDB.Close()
	_, out, stop = serve(t, "--data-dir", dir)
	require.NotContains(t, out.String(), "No accounts yet")
	require.NoError(t, stop())
}

func TestServeOnPostgres(t *testing.T) {
	url, _, stop := serve(t, "--data-dir", t.TempDir(), "--database-url", dbtest.PostgresURL(t))
	res, err := http.Post(url+"api/v1/auth/signup", "application/json", strings.NewReader(`{"email":"pg@example.com","password":"correct-horse-battery-9","name":"Pg","accountName":"Pg"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	require.NoError(t, stop())
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		out, err := run(t, t.Context(), "migrate", "--data-dir", dir)
		require.NoError(t, err)
		require.Contains(t, out, "sqlite database at schema version")
	}
	out, err := run(t, t.Context(), "migrate", "--database-url", dbtest.PostgresURL(t))
	require.NoError(t, err)
	require.Contains(t, out, "postgres database at schema version")
}

func TestServeRefusesUnreachableDatabase(t *testing.T) {
	_, err := run(t, t.Context(), "serve", "--listen", "127.0.0.1:0", "--database-url", "postgres://orbit:hunter2@127.0.0.1:1/orbit?connect_timeout=2")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2", "the database password must not be printed")
}

func TestSigningKeyRotateKeepsSessionsValid(t *testing.T) {
	dir := t.TempDir()
	url, _, stop := serve(t, "--data-dir", dir)
	res, err := http.Post(url+"api/v1/auth/signup", "application/json", strings.NewReader(`{"email":"rot@example.com","password":"correct-horse-battery-9","name":"R","accountName":"R"}`))
	require.NoError(t, err)
	var body struct{ AccessToken string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	res.Body.Close()
	require.NoError(t, stop())

	out, err := run(t, t.Context(), "signing-key", "rotate", "--data-dir", dir)
	require.NoError(t, err)
	require.Regexp(t, `new signing key \S+ is active`, out)

	url, _, stop = serve(t, "--data-dir", dir)
	defer func() { require.NoError(t, stop()) }()
	req, _ := http.NewRequest("GET", url+"api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+body.AccessToken)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "a token of the previous key still works")
}
