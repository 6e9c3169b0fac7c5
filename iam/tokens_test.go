package iam_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestAPITokenLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, _ := e.signUp(t, "owner@example.com")
		dev := e.addUser(t, owner, "dev@example.com", iam.RoleDeveloper)

		tok, secret, err := e.svc.CreateToken(ctx(t), dev, iam.CreateTokenInput{Name: " ci "})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "orbit_"))
		require.Equal(t, secret[:12], tok.Prefix)
		require.Equal(t, "ci", tok.Name)
		require.Equal(t, iam.RoleDeveloper, tok.Role, "empty role: the caller's")
		require.Equal(t, dev.UserID, tok.UserID)
		require.Nil(t, tok.LastUsedAt)

		// The secret is not stored anywhere in clear.
		var n int64
		require.NoError(t, db.Table("api_tokens").Where("prefix = ? OR name = ?", secret, secret).Count(&n).Error)
		require.Zero(t, n)

		p, err := e.svc.Authenticate(ctx(t), secret)
		require.NoError(t, err)
		require.Equal(t, iam.Principal{Kind: iam.PrincipalAPIToken, UserID: dev.UserID, AccountID: dev.AccountID, Email: "dev@example.com", Role: iam.RoleDeveloper, TokenID: tok.ID}, p)

		list, err := e.svc.ListTokens(ctx(t), dev, iam.ListOptions{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NotNil(t, list[0].LastUsedAt)
		firstUse := *list[0].LastUsedAt
		require.True(t, firstUse.Equal(e.clock.Now().Truncate(time.Microsecond)), "%v", firstUse)

		// last_used_at moves at most once a minute.
		e.clock.Advance(30 * time.Second)
		_, err = e.svc.Authenticate(ctx(t), secret)
		require.NoError(t, err)
		list, err = e.svc.ListTokens(ctx(t), dev, iam.ListOptions{})
		require.NoError(t, err)
		require.True(t, list[0].LastUsedAt.Equal(firstUse))
		e.clock.Advance(31 * time.Second)
		_, err = e.svc.Authenticate(ctx(t), secret)
		require.NoError(t, err)
		list, err = e.svc.ListTokens(ctx(t), dev, iam.ListOptions{})
		require.NoError(t, err)
		require.True(t, list[0].LastUsedAt.After(firstUse))

		// Owners see only their own tokens in the list.
		ownList, err := e.svc.ListTokens(ctx(t), owner, iam.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, ownList)

		require.NoError(t, e.svc.RevokeToken(ctx(t), dev, tok.ID))
		_, err = e.svc.Authenticate(ctx(t), secret)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		list, err = e.svc.ListTokens(ctx(t), dev, iam.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, list)
		require.ErrorIs(t, e.svc.RevokeToken(ctx(t), dev, tok.ID), iam.ErrNotFound)
	})
}

func TestAPITokenRules(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, _ := e.signUp(t, "owner@example.com")
		admin := e.addUser(t, owner, "admin@example.com", iam.RoleAdmin)
		dev := e.addUser(t, owner, "dev@example.com", iam.RoleDeveloper)
		dev2 := e.addUser(t, owner, "dev2@example.com", iam.RoleDeveloper)

		past := e.clock.Now().Add(-time.Second)
		for _, tc := range []struct {
			name  string
			in    iam.CreateTokenInput
			field string
			err   error
		}{
			{"no name", iam.CreateTokenInput{Name: "  "}, "name", nil},
			{"long name", iam.CreateTokenInput{Name: strings.Repeat("t", 101)}, "name", nil},
			{"expired", iam.CreateTokenInput{Name: "t", ExpiresAt: &past}, "expiresAt", nil},
			{"expires now", iam.CreateTokenInput{Name: "t", ExpiresAt: ptr(e.clock.Now())}, "expiresAt", nil},
			{"bad role", iam.CreateTokenInput{Name: "t", Role: "root"}, "role", nil},
			{"role above caller", iam.CreateTokenInput{Name: "t", Role: iam.RoleAdmin}, "", iam.ErrForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := e.svc.CreateToken(ctx(t), dev, tc.in)
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err)
				} else {
					requireValidation(t, err, tc.field)
				}
			})
		}

		// A token with an expiry stops working then.
		exp := e.clock.Now().Add(time.Hour)
		_, expiring, err := e.svc.CreateToken(ctx(t), dev, iam.CreateTokenInput{Name: "short", ExpiresAt: &exp, Role: iam.RoleViewer})
		require.NoError(t, err)
		p, err := e.svc.Authenticate(ctx(t), expiring)
		require.NoError(t, err)
		require.Equal(t, iam.RoleViewer, p.Role)
		// A viewer-role token cannot mint tokens, even for a developer.
		_, _, err = e.svc.CreateToken(ctx(t), p, iam.CreateTokenInput{Name: "escalate"})
		require.ErrorIs(t, err, iam.ErrForbidden)

		// The token's role is lowered to the user's current role.
		adminTok, adminSecret, err := e.svc.CreateToken(ctx(t), admin, iam.CreateTokenInput{Name: "ops"})
		require.NoError(t, err)
		require.Equal(t, iam.RoleAdmin, adminTok.Role)
		_, err = e.svc.UpdateUser(ctx(t), owner, admin.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleDeveloper)})
		require.NoError(t, err)
		p, err = e.svc.Authenticate(ctx(t), adminSecret)
		require.NoError(t, err)
		require.Equal(t, iam.RoleDeveloper, p.Role)
		// ... and never raised back above the token's own role.
		_, err = e.svc.UpdateUser(ctx(t), owner, admin.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleOwner)})
		require.NoError(t, err)
		p, err = e.svc.Authenticate(ctx(t), adminSecret)
		require.NoError(t, err)
		require.Equal(t, iam.RoleAdmin, p.Role)

		// Revoking: only your own, unless you have users:write.
		dev2Tok, dev2Secret, err := e.svc.CreateToken(ctx(t), dev2, iam.CreateTokenInput{Name: "d2"})
		require.NoError(t, err)
		require.ErrorIs(t, e.svc.RevokeToken(ctx(t), dev, dev2Tok.ID), iam.ErrNotFound)
		_, err = e.svc.Authenticate(ctx(t), dev2Secret)
		require.NoError(t, err)
		ownerNow, err := e.svc.Authenticate(ctx(t), mustLogin(t, e, "owner@example.com"))
		require.NoError(t, err)
		require.NoError(t, e.svc.RevokeToken(ctx(t), ownerNow, dev2Tok.ID))
		_, err = e.svc.Authenticate(ctx(t), dev2Secret)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)

		e.clock.Advance(time.Hour)
		_, err = e.svc.Authenticate(ctx(t), expiring)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)

		// Deleting a user kills their tokens.
		_, devSecret, err := e.svc.CreateToken(ctx(t), dev, iam.CreateTokenInput{Name: "gone"})
		require.NoError(t, err)
		require.NoError(t, e.svc.DeleteUser(ctx(t), ownerNow, dev.UserID))
		_, err = e.svc.Authenticate(ctx(t), devSecret)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
	})
}

// TestCrossAccountIsolation: another account's users and tokens do not
// exist for you, whatever your role.
func TestCrossAccountIsolation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ownerA, _ := e.signUp(t, "a@example.com")
		adminA := e.addUser(t, ownerA, "admin-a@example.com", iam.RoleAdmin)
		ownerB, _ := e.signUp(t, "b@example.com")
		userB := e.addUser(t, ownerB, "dev-b@example.com", iam.RoleDeveloper)
		tokB, secretB, err := e.svc.CreateToken(ctx(t), userB, iam.CreateTokenInput{Name: "b"})
		require.NoError(t, err)

		for _, p := range []iam.Principal{ownerA, adminA} {
			_, err := e.svc.GetUser(ctx(t), p, userB.UserID)
			require.ErrorIs(t, err, iam.ErrNotFound)
			_, err = e.svc.UpdateUser(ctx(t), p, userB.UserID, iam.UpdateUserInput{Name: ptr("pwned")})
			require.ErrorIs(t, err, iam.ErrNotFound)
			require.ErrorIs(t, e.svc.DeleteUser(ctx(t), p, userB.UserID), iam.ErrNotFound)
			require.ErrorIs(t, e.svc.DeleteUser(ctx(t), p, ownerB.UserID), iam.ErrNotFound)
			require.ErrorIs(t, e.svc.RevokeToken(ctx(t), p, tokB.ID), iam.ErrNotFound)
			users, err := e.svc.ListUsers(ctx(t), p, iam.ListOptions{})
			require.NoError(t, err)
			require.Len(t, users, 2)
			for _, u := range users {
				require.Equal(t, ownerA.AccountID, u.AccountID)
			}
		}
		// B is untouched.
		got, err := e.svc.GetUser(ctx(t), ownerB, userB.UserID)
		require.NoError(t, err)
		require.Equal(t, "developer", got.Name)
		_, err = e.svc.Authenticate(ctx(t), secretB)
		require.NoError(t, err)
	})
}
