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

func ptr[T any](v T) *T { return &v }

// TestRoleEnforcement walks one account with a user of every role through
// what each may and may not do.
func TestRoleEnforcement(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, _ := e.signUp(t, "owner@example.com")
		admin := e.addUser(t, owner, "admin@example.com", iam.RoleAdmin)
		dev := e.addUser(t, owner, "dev@example.com", iam.RoleDeveloper)
		viewer := e.addUser(t, owner, "viewer@example.com", iam.RoleViewer)
		actors := map[iam.Role]iam.Principal{iam.RoleOwner: owner, iam.RoleAdmin: admin, iam.RoleDeveloper: dev, iam.RoleViewer: viewer}

		n := 0
		newEmail := func() string { n++; return "new" + strings.Repeat("x", n) + "@example.com" }
		createUser := func(p iam.Principal, role iam.Role) error {
			_, err := e.svc.CreateUser(ctx(t), p, iam.CreateUserInput{Email: newEmail(), Name: "N", Password: goodPassword, Role: role})
			return err
		}
		for _, tc := range []struct {
			name  string
			actor iam.Role
			do    func(p iam.Principal) error
			want  error // nil: allowed
		}{
			{"viewer reads users", iam.RoleViewer, func(p iam.Principal) error { _, err := e.svc.ListUsers(ctx(t), p, iam.ListOptions{}); return err }, nil},
			{"viewer reads me", iam.RoleViewer, func(p iam.Principal) error { _, _, err := e.svc.Me(ctx(t), p); return err }, nil},
			{"viewer cannot list tokens", iam.RoleViewer, func(p iam.Principal) error { _, err := e.svc.ListTokens(ctx(t), p, iam.ListOptions{}); return err }, iam.ErrForbidden},
			{"viewer cannot create tokens", iam.RoleViewer, func(p iam.Principal) error {
				_, _, err := e.svc.CreateToken(ctx(t), p, iam.CreateTokenInput{Name: "ci"})
				return err
			}, iam.ErrForbidden},
			{"viewer cannot create users", iam.RoleViewer, func(p iam.Principal) error { return createUser(p, iam.RoleViewer) }, iam.ErrForbidden},
			{"developer creates tokens", iam.RoleDeveloper, func(p iam.Principal) error {
				_, _, err := e.svc.CreateToken(ctx(t), p, iam.CreateTokenInput{Name: "ci"})
				return err
			}, nil},
			{"developer cannot create users", iam.RoleDeveloper, func(p iam.Principal) error { return createUser(p, iam.RoleViewer) }, iam.ErrForbidden},
			{"developer cannot update users", iam.RoleDeveloper, func(p iam.Principal) error {
				_, err := e.svc.UpdateUser(ctx(t), p, viewer.UserID, iam.UpdateUserInput{Name: ptr("V")})
				return err
			}, iam.ErrForbidden},
			{"developer cannot delete users", iam.RoleDeveloper, func(p iam.Principal) error { return e.svc.DeleteUser(ctx(t), p, viewer.UserID) }, iam.ErrForbidden},
			{"admin creates admin", iam.RoleAdmin, func(p iam.Principal) error { return createUser(p, iam.RoleAdmin) }, nil},
			{"admin creates viewer", iam.RoleAdmin, func(p iam.Principal) error { return createUser(p, iam.RoleViewer) }, nil},
			{"admin cannot create owner", iam.RoleAdmin, func(p iam.Principal) error { return createUser(p, iam.RoleOwner) }, iam.ErrForbidden},
			{"admin cannot promote to owner", iam.RoleAdmin, func(p iam.Principal) error {
				_, err := e.svc.UpdateUser(ctx(t), p, dev.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleOwner)})
				return err
			}, iam.ErrForbidden},
			{"admin cannot rename owner", iam.RoleAdmin, func(p iam.Principal) error {
				_, err := e.svc.UpdateUser(ctx(t), p, owner.UserID, iam.UpdateUserInput{Name: ptr("Boss")})
				return err
			}, iam.ErrForbidden},
			{"admin cannot demote owner", iam.RoleAdmin, func(p iam.Principal) error {
				_, err := e.svc.UpdateUser(ctx(t), p, owner.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleViewer)})
				return err
			}, iam.ErrForbidden},
			{"admin cannot delete owner", iam.RoleAdmin, func(p iam.Principal) error { return e.svc.DeleteUser(ctx(t), p, owner.UserID) }, iam.ErrForbidden},
			{"admin changes developer", iam.RoleAdmin, func(p iam.Principal) error {
				_, err := e.svc.UpdateUser(ctx(t), p, dev.UserID, iam.UpdateUserInput{Name: ptr("Dev"), Role: ptr(iam.RoleDeveloper)})
				return err
			}, nil},
			{"owner creates owner", iam.RoleOwner, func(p iam.Principal) error { return createUser(p, iam.RoleOwner) }, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.do(actors[tc.actor])
				if tc.want == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tc.want)
				}
			})
		}
	})
}

func TestUserCRUD(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, _ := e.signUp(t, "owner@example.com")

		u, err := e.svc.CreateUser(ctx(t), owner, iam.CreateUserInput{Email: " Dev@Example.com", Name: " Dev ", Password: goodPassword, Role: iam.RoleDeveloper})
		require.NoError(t, err)
		require.Equal(t, "dev@example.com", u.Email)
		require.Equal(t, "Dev", u.Name)
		require.Equal(t, owner.AccountID, u.AccountID)

		got, err := e.svc.GetUser(ctx(t), owner, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)

		_, err = e.svc.CreateUser(ctx(t), owner, iam.CreateUserInput{Email: "DEV@example.com", Name: "Again", Password: goodPassword, Role: iam.RoleViewer})
		require.ErrorIs(t, err, iam.ErrEmailTaken)
		// Email uniqueness is global: another account cannot take it either.
		_, _, _, err = e.svc.SignUp(ctx(t), iam.SignUpInput{Email: "dev@EXAMPLE.com", Password: goodPassword, Name: "X", AccountName: "Y"}, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrEmailTaken)

		for _, tc := range []struct {
			name  string
			in    iam.CreateUserInput
			field string
		}{
			{"bad email", iam.CreateUserInput{Email: "nope", Name: "N", Password: goodPassword, Role: iam.RoleViewer}, "email"},
			{"no name", iam.CreateUserInput{Email: "n@example.com", Name: "", Password: goodPassword, Role: iam.RoleViewer}, "name"},
			{"weak password", iam.CreateUserInput{Email: "n@example.com", Name: "N", Password: "qwertyuiop", Role: iam.RoleViewer}, "password"},
			{"no role", iam.CreateUserInput{Email: "n@example.com", Name: "N", Password: goodPassword}, "role"},
			{"bad role", iam.CreateUserInput{Email: "n@example.com", Name: "N", Password: goodPassword, Role: "root"}, "role"},
		} {
			_, err := e.svc.CreateUser(ctx(t), owner, tc.in)
			requireValidation(t, err, tc.field)
		}
		_, err = e.svc.UpdateUser(ctx(t), owner, u.ID, iam.UpdateUserInput{Name: ptr(" ")})
		requireValidation(t, err, "name")
		_, err = e.svc.UpdateUser(ctx(t), owner, u.ID, iam.UpdateUserInput{Role: ptr(iam.Role("boss"))})
		requireValidation(t, err, "role")

		e.clock.Advance(time.Second)
		up, err := e.svc.UpdateUser(ctx(t), owner, u.ID, iam.UpdateUserInput{Role: ptr(iam.RoleAdmin)})
		require.NoError(t, err)
		require.Equal(t, iam.RoleAdmin, up.Role)
		require.Equal(t, "Dev", up.Name, "unset fields keep their value")
		require.True(t, up.UpdatedAt.After(u.UpdatedAt))
		got, err = e.svc.GetUser(ctx(t), owner, u.ID)
		require.NoError(t, err)
		require.Equal(t, up, got)

		// Paging by ID.
		var ids []string
		for i := range 3 {
			v, err := e.svc.CreateUser(ctx(t), owner, iam.CreateUserInput{Email: "v" + string(rune('0'+i)) + "@example.com", Name: "V", Password: goodPassword, Role: iam.RoleViewer})
			require.NoError(t, err)
			ids = append(ids, v.ID)
		}
		all, err := e.svc.ListUsers(ctx(t), owner, iam.ListOptions{})
		require.NoError(t, err)
		require.Len(t, all, 5)
		page, err := e.svc.ListUsers(ctx(t), owner, iam.ListOptions{AfterID: all[1].ID, Limit: 2})
		require.NoError(t, err)
		require.Equal(t, all[2:4], page)

		require.NoError(t, e.svc.DeleteUser(ctx(t), owner, u.ID))
		_, err = e.svc.GetUser(ctx(t), owner, u.ID)
		require.ErrorIs(t, err, iam.ErrNotFound)
		require.ErrorIs(t, e.svc.DeleteUser(ctx(t), owner, u.ID), iam.ErrNotFound)
	})
}

func TestLastOwnerProtection(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, ownerSess := e.signUp(t, "owner@example.com")

		_, err := e.svc.UpdateUser(ctx(t), owner, owner.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleAdmin)})
		require.ErrorIs(t, err, iam.ErrLastOwner)
		require.ErrorIs(t, e.svc.DeleteUser(ctx(t), owner, owner.UserID), iam.ErrLastOwner)
		// Renaming the last owner is fine.
		_, err = e.svc.UpdateUser(ctx(t), owner, owner.UserID, iam.UpdateUserInput{Name: ptr("Still Owner")})
		require.NoError(t, err)

		// With a second owner, the first may step down, and then the second
		// is the last one.
		second := e.addUser(t, owner, "second@example.com", iam.RoleOwner)
		_, err = e.svc.UpdateUser(ctx(t), owner, owner.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleAdmin)})
		require.NoError(t, err)
		_, err = e.svc.UpdateUser(ctx(t), second, second.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleDeveloper)})
		require.ErrorIs(t, err, iam.ErrLastOwner)
		require.ErrorIs(t, e.svc.DeleteUser(ctx(t), second, second.UserID), iam.ErrLastOwner)

		// The demoted first owner is an admin now, and their existing access
		// token says so: they can no longer touch the remaining owner.
		p, err := e.svc.Authenticate(ctx(t), ownerSess.AccessToken)
		require.NoError(t, err)
		require.Equal(t, iam.RoleAdmin, p.Role)
		require.ErrorIs(t, e.svc.DeleteUser(ctx(t), p, second.UserID), iam.ErrForbidden)
		// A user may delete themselves when not the last owner.
		require.NoError(t, e.svc.DeleteUser(ctx(t), p, p.UserID))
	})
}

func mustLogin(t *testing.T, e *env, email string) string {
	t.Helper()
	_, sess, err := e.svc.Login(ctx(t), email, goodPassword, iam.ClientMeta{})
	require.NoError(t, err)
	return sess.AccessToken
}

func TestAuthenticateReflectsDatabase(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		owner, _ := e.signUp(t, "owner@example.com")
		_, err := e.svc.CreateUser(ctx(t), owner, iam.CreateUserInput{Email: "dev@example.com", Name: "D", Password: goodPassword, Role: iam.RoleAdmin})
		require.NoError(t, err)
		access := mustLogin(t, e, "dev@example.com")
		p, err := e.svc.Authenticate(ctx(t), access)
		require.NoError(t, err)
		require.Equal(t, iam.RoleAdmin, p.Role)

		_, err = e.svc.UpdateUser(ctx(t), owner, p.UserID, iam.UpdateUserInput{Role: ptr(iam.RoleViewer)})
		require.NoError(t, err)
		p, err = e.svc.Authenticate(ctx(t), access)
		require.NoError(t, err)
		require.Equal(t, iam.RoleViewer, p.Role, "the same JWT now carries the demoted role")

		require.NoError(t, e.svc.DeleteUser(ctx(t), owner, p.UserID))
		_, err = e.svc.Authenticate(ctx(t), access)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
	})
}
