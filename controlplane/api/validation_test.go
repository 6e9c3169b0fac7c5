package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestBadInputIsProblemJSONAndWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		env.signUp("taken@example.com", "Taken")
		c := env.client()
		valid := func(over map[string]any) map[string]any {
			m := map[string]any{"email": "new@example.com", "password": strongPassword, "name": "New", "accountName": "New Co"}
			for k, v := range over {
				m[k] = v
			}
			return m
		}
		tests := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"malformed json", `{"email": "a@b.c",`, 400, "", ""},
			{"not an object", `[1,2,3]`, 400, "validation_failed", ""},
			{"unknown field", valid(map[string]any{"isAdmin": true}), 400, "validation_failed", "isAdmin"},
			{"missing field", map[string]any{"email": "new@example.com", "password": strongPassword, "name": "New"}, 400, "validation_failed", "accountName"},
			{"wrong type", valid(map[string]any{"name": 42}), 400, "validation_failed", "name"},
			{"weak password", valid(map[string]any{"password": "password"}), 400, "validation_failed", "password"},
			{"common password", valid(map[string]any{"password": "password123"}), 400, "validation_failed", "password"},
			{"bad email", valid(map[string]any{"email": "not-an-email"}), 400, "validation_failed", "email"},
			{"empty name", valid(map[string]any{"name": ""}), 400, "validation_failed", "name"},
			{"duplicate email", valid(map[string]any{"email": "TAKEN@example.com"}), 409, "email_taken", ""},
			{"oversized body", valid(map[string]any{"name": strings.Repeat("x", 100<<10)}), 413, "body_too_large", ""},
		}
		for _, tc := range tests {
			res := c.do("POST", "/api/v1/auth/signup", tc.body)
			require.Equal(t, tc.status, res.status, "%s: %s", tc.name, res.body)
			p := res.problem(t)
			if tc.code != "" {
				require.Equal(t, tc.code, p.Code, tc.name)
			}
			require.NotEmpty(t, p.Detail, tc.name)
			if tc.field != "" {
				var fields []string
				for _, e := range p.Errors {
					fields = append(fields, e.Field)
				}
				require.Contains(t, fields, tc.field, "%s: %s", tc.name, res.body)
			}
		}
		// None of the refused sign-ups left an account or user behind.
		var accounts, users int64
		require.NoError(t, db.Table("accounts").Count(&accounts).Error)
		require.NoError(t, db.Table("users").Count(&users).Error)
		require.EqualValues(t, 1, accounts)
		require.EqualValues(t, 1, users)
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	c := env.client()
	res := c.do("GET", "/api/v1/nothing-here", nil)
	require.Equal(t, http.StatusNotFound, res.status)
	require.Equal(t, "not_found", res.problem(t).Code)
	res = c.do("PUT", "/api/v1/auth/login", nil)
	require.Equal(t, http.StatusMethodNotAllowed, res.status)
	res.problem(t)
}
