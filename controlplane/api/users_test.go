package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestRoleEnforcement(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("owner@roles.test", "Roles")
		admin, _ := env.addUser(owner, "admin@roles.test", "admin")
		dev, devID := env.addUser(owner, "dev@roles.test", "developer")
		viewer, viewerID := env.addUser(owner, "viewer@roles.test", "viewer")

		newUser := func(role string) map[string]any {
			return map[string]any{"email": fmt.Sprintf("new-%s@roles.test", role), "name": "New", "role": role, "password": strongPassword}
		}
		tests := []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			want   int
		}{
			{"viewer reads users", viewer, "GET", "/api/v1/users", nil, 200},
			{"viewer cannot create users", viewer, "POST", "/api/v1/users", newUser("viewer"), 403},
			{"viewer cannot create tokens", viewer, "POST", "/api/v1/tokens", map[string]any{"name": "x"}, 403},
			{"viewer cannot rename others", viewer, "PATCH", "/api/v1/users/" + devID, map[string]any{"name": "x"}, 403},
			{"viewer cannot delete", viewer, "DELETE", "/api/v1/users/" + devID, nil, 403},
			{"viewer cannot read audit", viewer, "GET", "/api/v1/auditEvents", nil, 403},
			{"developer creates tokens", dev, "POST", "/api/v1/tokens", map[string]any{"name": "dev"}, 201},
			{"developer cannot mint admin token", dev, "POST", "/api/v1/tokens", map[string]any{"name": "up", "role": "admin"}, 403},
			{"developer cannot create users", dev, "POST", "/api/v1/users", newUser("developer"), 403},
			{"developer cannot read audit", dev, "GET", "/api/v1/auditEvents", nil, 403},
			{"admin cannot create owner", admin, "POST", "/api/v1/users", newUser("owner"), 403},
			{"admin creates developer", admin, "POST", "/api/v1/users", newUser("developer"), 201},
			{"admin changes viewer role", admin, "PATCH", "/api/v1/users/" + viewerID, map[string]any{"role": "developer"}, 200},
			{"admin reads audit", admin, "GET", "/api/v1/auditEvents", nil, 200},
		}
		for _, tc := range tests {
			res := tc.c.do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.want, res.status, "%s: %s", tc.name, res.body)
			if tc.want == 403 {
				require.Equal(t, "forbidden", res.problem(t).Code, tc.name)
			}
		}
	})
}

func TestLastOwnerIsProtected(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	owner, body := env.signUp("solo@owner.test", "Solo")
	ownerID := nested(body, "user", "id").(string)
	res := owner.do("PATCH", "/api/v1/users/"+ownerID, map[string]any{"role": "admin"})
	require.Equal(t, http.StatusConflict, res.status)
	require.Equal(t, "last_owner", res.problem(t).Code)
	res = owner.do("DELETE", "/api/v1/users/"+ownerID, nil)
	require.Equal(t, http.StatusConflict, res.status)
}

func TestCrossAccountIsolation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		alice, _ := env.signUp("alice@a.test", "Account A")
		bob, bobBody := env.signUp("bob@b.test", "Account B")
		bobID := nested(bobBody, "user", "id").(string)
		_, bobDevID := env.addUser(bob, "dev@b.test", "developer")
		tok := bob.do("POST", "/api/v1/tokens", map[string]any{"name": "b-token"})
		require.Equal(t, http.StatusCreated, tok.status)
		bobTokenID := nested(tok.json(t), "token", "id").(string)

		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/users/" + bobID, nil},
			{"PATCH", "/api/v1/users/" + bobDevID, map[string]any{"role": "viewer"}},
			{"DELETE", "/api/v1/users/" + bobDevID, nil},
			{"DELETE", "/api/v1/tokens/" + bobTokenID, nil},
		} {
			res := alice.do(tc.method, tc.path, tc.body)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", tc.method, tc.path, res.body)
			require.Equal(t, "not_found", res.problem(t).Code)
		}
		// Bob's resources are untouched and Alice's lists hold only her own.
		require.Equal(t, http.StatusOK, bob.do("GET", "/api/v1/users/"+bobDevID, nil).status)
		users := alice.do("GET", "/api/v1/users", nil).json(t)["items"].([]any)
		require.Len(t, users, 1)
		require.Equal(t, "alice@a.test", users[0].(map[string]any)["email"])
		events := alice.do("GET", "/api/v1/auditEvents?pageSize=200", nil).json(t)["items"].([]any)
		require.NotEmpty(t, events)
		for _, e := range events {
			require.Equal(t, "alice@a.test", e.(map[string]any)["actorEmail"])
		}
		// Bob's token works for Bob and only in Bob's account.
		tc := env.client()
		tc.token = tok.json(t)["secret"].(string)
		require.Equal(t, "bob@b.test", nested(tc.do("GET", "/api/v1/me", nil).json(t), "user", "email"))
	})
}

func TestUserPagination(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	owner, _ := env.signUp("pager@p.test", "Pager")
	for i := range 4 {
		res := owner.do("POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("u%d@p.test", i), "name": "U", "role": "viewer", "password": strongPassword})
		require.Equal(t, http.StatusCreated, res.status)
	}
	seen := map[string]bool{}
	path, pages := "/api/v1/users?pageSize=2", 0
	for {
		body := owner.do("GET", path, nil).json(t)
		pages++
		for _, u := range body["items"].([]any) {
			email := u.(map[string]any)["email"].(string)
			require.False(t, seen[email], "user %s on two pages", email)
			seen[email] = true
		}
		next, _ := body["nextPageToken"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/users?pageSize=2&pageToken=" + next
	}
	require.Equal(t, 3, pages)
	require.Len(t, seen, 5)

	for _, bad := range []string{"?pageToken=%21%21", "?pageSize=0", "?pageSize=1000"} {
		res := owner.do("GET", "/api/v1/users"+bad, nil)
		require.Equal(t, http.StatusBadRequest, res.status, bad)
		p := res.problem(t)
		require.Equal(t, "validation_failed", p.Code)
		require.NotEmpty(t, p.Errors)
	}
}
