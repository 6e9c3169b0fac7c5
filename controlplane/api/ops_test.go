package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestAuditEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, body := env.signUp("audit@example.com", "Audit")
		ownerID := nested(body, "user", "id").(string)
		owner.ua = "audit-test-agent/1.0"
		env.addUser(owner, "dev@audit.test", "developer")
		tok := owner.do("POST", "/api/v1/tokens", map[string]any{"name": "t"}, "X-Request-Id", "req-audit-42")
		require.Equal(t, http.StatusCreated, tok.status)
		tokenID := nested(tok.json(t), "token", "id").(string)
		owner.do("DELETE", "/api/v1/tokens/"+tokenID, nil)

		list := owner.do("GET", "/api/v1/auditEvents", nil)
		require.Equal(t, http.StatusOK, list.status)
		events := list.json(t)["items"].([]any)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		// Newest first; the sign-up, the user creation, the developer's login and the token calls are all there.
		require.Equal(t, "deleteToken", actions[0])
		require.Contains(t, actions, "signUp")
		require.Contains(t, actions, "createUser")
		require.Contains(t, actions, "login")
		require.Contains(t, actions, "createToken")

		byReq := owner.do("GET", "/api/v1/auditEvents?action=createToken", nil).json(t)["items"].([]any)
		require.Len(t, byReq, 1)
		ev := byReq[0].(map[string]any)
		require.Equal(t, ownerID, ev["actorId"])
		require.Equal(t, "audit@example.com", ev["actorEmail"])
		require.Equal(t, "tokens/"+tokenID, ev["resource"])
		require.Equal(t, "success", ev["result"])
		require.EqualValues(t, 201, ev["statusCode"])
		require.Equal(t, "127.0.0.1", ev["sourceIp"])
		require.Equal(t, "audit-test-agent/1.0", ev["userAgent"])
		require.Equal(t, "req-audit-42", ev["requestId"])

		// Filters: actor, resource prefix, time window.
		devEvents := owner.do("GET", "/api/v1/auditEvents?actor=dev@audit.test", nil).json(t)["items"].([]any)
		require.Len(t, devEvents, 1)
		require.Equal(t, "login", devEvents[0].(map[string]any)["action"])
		tokenEvents := owner.do("GET", "/api/v1/auditEvents?resource=tokens/", nil).json(t)["items"].([]any)
		require.Len(t, tokenEvents, 2)
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		require.Empty(t, owner.do("GET", "/api/v1/auditEvents?start="+future, nil).json(t)["items"])
		require.Len(t, owner.do("GET", "/api/v1/auditEvents?end="+future+"&pageSize=200", nil).json(t)["items"], len(events))

		// Paging walks every event exactly once.
		seen := map[string]bool{}
		path := "/api/v1/auditEvents?pageSize=2"
		for path != "" {
			page := owner.do("GET", path, nil).json(t)
			for _, e := range page["items"].([]any) {
				id := e.(map[string]any)["id"].(string)
				require.False(t, seen[id])
				seen[id] = true
			}
			path = ""
			if next, _ := page["nextPageToken"].(string); next != "" {
				path = "/api/v1/auditEvents?pageSize=2&pageToken=" + next
			}
		}
		require.Len(t, seen, len(events))
	})
}

func TestFailedMutationsAreAudited(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	owner, _ := env.signUp("fail@example.com", "Fail")
	viewer, _ := env.addUser(owner, "viewer@fail.test", "viewer")
	require.Equal(t, http.StatusForbidden, viewer.do("POST", "/api/v1/tokens", map[string]any{"name": "nope"}).status)
	events := owner.do("GET", "/api/v1/auditEvents?actor=viewer@fail.test&action=createToken", nil).json(t)["items"].([]any)
	require.Len(t, events, 1)
	require.Equal(t, "failure", events[0].(map[string]any)["result"])
	require.EqualValues(t, 403, events[0].(map[string]any)["statusCode"])
}

func TestHealthReadinessMetricsAndRequestIDs(t *testing.T) {
	db := dbtest.SQLite(t)
	env := newEnv(t, db)
	c := env.client()
	require.Equal(t, http.StatusOK, c.do("GET", "/healthz", nil).status)
	require.Equal(t, http.StatusOK, c.do("GET", "/readyz", nil).status)

	res := c.do("GET", "/api/v1/me", nil, "X-Request-Id", "abc-123")
	require.Equal(t, "abc-123", res.header.Get("X-Request-Id"))
	require.Equal(t, "abc-123", res.problem(t).RequestID)
	forged := c.do("GET", "/healthz", nil, "X-Request-Id", "bad id with spaces!")
	require.NotContains(t, forged.header.Get("X-Request-Id"), " ")
	require.NotEmpty(t, forged.header.Get("X-Request-Id"))

	doc := c.do("GET", "/api/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, doc.status)
	require.Equal(t, "Orbit API", nested(doc.json(t), "info", "title"))

	metrics := string(c.do("GET", "/metrics", nil).body)
	require.Contains(t, metrics, `orbit_http_requests_total{code="401",method="GET",route="/api/v1/me"} 1`)
	require.Contains(t, metrics, "orbit_http_request_duration_seconds_bucket")

	sqlDB, err := db.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close())
	ready := c.do("GET", "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, ready.status)
	require.Equal(t, "database_unavailable", ready.problem(t).Code)
	require.True(t, strings.HasPrefix(c.do("GET", "/healthz", nil).header.Get("Content-Type"), "application/json"))
}
