package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/api"
	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	t    *testing.T
	url  string
	db   *gorm.DB
	iam  *iam.Service
	logs *syncBuffer
}

// newEnv starts the real API over db on a loopback test server, logging at
// Debug into a buffer the test can search for leaked secrets.
func newEnv(t *testing.T, db *gorm.DB) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := iam.DefaultConfig()
	cfg.PasswordParams = iam.TestPasswordParams
	svc := iam.NewService(iamdb.New(db), cfg, log)
	require.NoError(t, svc.EnsureSigningKey(t.Context()))
	srv := api.New(api.Config{Version: "test"}, api.Deps{
		DB: db, IAM: svc, Audit: audit.NewStore(db), Idempotency: idempotency.NewStore(db),
		Instances: instances.NewService(instances.NewStore(db), instances.DefaultConfig(), log), Log: log,
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testEnv{t: t, url: ts.URL, db: db, iam: svc, logs: logs}
}

// client is one browser or script: its own cookie jar and bearer token.
type client struct {
	env   *testEnv
	http  *http.Client
	token string
	ua    string
}

func (e *testEnv) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &client{env: e, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, ua: "orbit-test"}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// problem decodes a problem+json body and checks its content type.
func (r response) problem(t *testing.T) api.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), "body: %s", r.body)
	var p api.Problem
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, r.status, p.Status)
	require.NotEmpty(t, p.Code)
	require.NotEmpty(t, p.RequestID)
	return p
}

func (c *client) do(method, path string, body any, headers ...string) response {
	c.env.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.env.t, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.env.url+path, rdr)
	require.NoError(c.env.t, err)
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.ua)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	require.NoError(c.env.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.env.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

const strongPassword = "correct-horse-battery-9"

// signUp creates an account and returns a logged-in client plus the session body.
func (e *testEnv) signUp(email, accountName string) (*client, map[string]any) {
	e.t.Helper()
	c := e.client()
	res := c.do("POST", "/api/v1/auth/signup", map[string]any{"email": email, "password": strongPassword, "name": "Test " + email, "accountName": accountName})
	require.Equal(e.t, http.StatusCreated, res.status, "body: %s", res.body)
	body := res.json(e.t)
	c.token = body["accessToken"].(string)
	return c, body
}

// addUser has admin create a user with role and returns that user logged in.
func (e *testEnv) addUser(admin *client, email, role string) (*client, string) {
	e.t.Helper()
	res := admin.do("POST", "/api/v1/users", map[string]any{"email": email, "name": "User " + role, "role": role, "password": strongPassword})
	require.Equal(e.t, http.StatusCreated, res.status, "body: %s", res.body)
	id := res.json(e.t)["id"].(string)
	c := e.client()
	login := c.do("POST", "/api/v1/auth/login", map[string]any{"email": email, "password": strongPassword})
	require.Equal(e.t, http.StatusOK, login.status, "body: %s", login.body)
	c.token = login.json(e.t)["accessToken"].(string)
	return c, id
}

func nested(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	return v
}
