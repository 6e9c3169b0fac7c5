package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

func refreshCookieOf(t *testing.T, res response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "orbit_refresh" {
			return c
		}
	}
	t.Fatalf("no orbit_refresh cookie in %v", res.header.Values("Set-Cookie"))
	return nil
}

func TestSessionLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		browser := env.client()
		res := browser.do("POST", "/api/v1/auth/signup", map[string]any{
			"email": "Ada@Example.com", "password": strongPassword, "name": "Ada", "accountName": "Analytical Engines",
		})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		body := res.json(t)
		require.Equal(t, "ada@example.com", nested(body, "user", "email"))
		require.Equal(t, "owner", nested(body, "user", "role"))
		require.Equal(t, "Analytical Engines", nested(body, "account", "name"))
		require.NotContains(t, string(res.body), "refresh", "the refresh token travels only in the cookie")
		cookie := refreshCookieOf(t, res)
		require.True(t, cookie.HttpOnly)
		require.Equal(t, "/api/v1/auth", cookie.Path)
		require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)

		browser.token = body["accessToken"].(string)
		me := browser.do("GET", "/api/v1/me", nil)
		require.Equal(t, http.StatusOK, me.status)
		require.Equal(t, "ada@example.com", nested(me.json(t), "user", "email"))

		// Refresh rotates the cookie and hands out a working access token.
		ref := browser.do("POST", "/api/v1/auth/refresh", nil)
		require.Equal(t, http.StatusOK, ref.status, "body: %s", ref.body)
		rotated := refreshCookieOf(t, ref)
		require.NotEqual(t, cookie.Value, rotated.Value)
		browser.token = ref.json(t)["accessToken"].(string)
		require.Equal(t, http.StatusOK, browser.do("GET", "/api/v1/me", nil).status)

		// Log in again from a second browser, then log that one out.
		other := env.client()
		login := other.do("POST", "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": strongPassword})
		require.Equal(t, http.StatusOK, login.status)
		other.token = login.json(t)["accessToken"].(string)
		out := other.do("POST", "/api/v1/auth/logout", nil)
		require.Equal(t, http.StatusNoContent, out.status, "body: %s", out.body)
		gone := other.do("POST", "/api/v1/auth/refresh", nil)
		require.Equal(t, http.StatusUnauthorized, gone.status)
		gone.problem(t)

		// The first browser's session is unaffected by the other's logout.
		require.Equal(t, http.StatusOK, browser.do("POST", "/api/v1/auth/refresh", nil).status)
	})
}

func TestRefreshTokenReuseRevokesSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		_, _ = env.signUp("reuse@example.com", "Reuse")
		// Log in with a jar-less replay of cookies to control which token is sent.
		c := env.client()
		login := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "reuse@example.com", "password": strongPassword})
		require.Equal(t, http.StatusOK, login.status)
		first := refreshCookieOf(t, login).Value

		send := func(token string) response {
			fresh := env.client()
			return fresh.do("POST", "/api/v1/auth/refresh", nil, "Cookie", "orbit_refresh="+token)
		}
		ok := send(first)
		require.Equal(t, http.StatusOK, ok.status)
		second := refreshCookieOf(t, ok).Value

		// The stolen first token is replayed: refused, and the whole family revoked.
		replay := send(first)
		require.Equal(t, http.StatusUnauthorized, replay.status)
		require.Equal(t, "session_revoked", replay.problem(t).Code)
		require.Equal(t, http.StatusUnauthorized, send(second).status, "the newer token of the family must die too")
	})
}

func TestLoginErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		env.signUp("login@example.com", "Login")
		c := env.client()

		wrong := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "login@example.com", "password": "not-the-password-1"})
		require.Equal(t, http.StatusUnauthorized, wrong.status)
		require.Equal(t, "invalid_credentials", wrong.problem(t).Code)
		unknown := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": strongPassword})
		require.Equal(t, http.StatusUnauthorized, unknown.status)
		require.Equal(t, wrong.problem(t).Detail, unknown.problem(t).Detail, "must not reveal which emails exist")

		// Repeated failures throttle the account, even for the right password.
		var last response
		for range 6 {
			last = c.do("POST", "/api/v1/auth/login", map[string]any{"email": "login@example.com", "password": "not-the-password-1"})
		}
		require.Equal(t, http.StatusTooManyRequests, last.status)
		require.Equal(t, "too_many_attempts", last.problem(t).Code)
		require.NotEmpty(t, last.header.Get("Retry-After"))
		right := c.do("POST", "/api/v1/auth/login", map[string]any{"email": "login@example.com", "password": strongPassword})
		require.Equal(t, http.StatusTooManyRequests, right.status)
	})
}

func TestAuthenticationRequired(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	c := env.client()
	for _, tc := range []struct{ method, path, token string }{
		{"GET", "/api/v1/me", ""},
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/tokens", ""},
		{"GET", "/api/v1/auditEvents", ""},
		{"GET", "/api/v1/me", "garbage"},
		{"GET", "/api/v1/me", "orbit_notarealtoken"},
		{"GET", "/api/v1/me", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
	} {
		c.token = tc.token
		res := c.do(tc.method, tc.path, nil)
		require.Equal(t, http.StatusUnauthorized, res.status, "%s %s with %q", tc.method, tc.path, tc.token)
		require.Equal(t, "unauthenticated", res.problem(t).Code)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	c, body := env.signUp("secret@example.com", "Secrets")
	access := body["accessToken"].(string)
	res := c.do("POST", "/api/v1/tokens", map[string]any{"name": "ci"})
	require.Equal(t, http.StatusCreated, res.status)
	secret := res.json(t)["secret"].(string)
	login := env.client().do("POST", "/api/v1/auth/login", map[string]any{"email": "secret@example.com", "password": strongPassword})
	refresh := refreshCookieOf(t, login).Value
	env.client().do("POST", "/api/v1/auth/login", map[string]any{"email": "secret@example.com", "password": "wrong-password-77"})

	logs := env.logs.String()
	require.NotEmpty(t, logs)
	for name, s := range map[string]string{"password": strongPassword, "access token": access, "api token": secret, "refresh token": refresh, "wrong password": "wrong-password-77"} {
		require.False(t, strings.Contains(logs, s), "%s leaked into logs", name)
	}
}
