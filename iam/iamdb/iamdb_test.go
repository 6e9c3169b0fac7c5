package iamdb_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/iam/token"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var t0 = time.Date(2026, 2, 3, 4, 5, 6, 789000, time.UTC)

func id(t *testing.T) string {
	t.Helper()
	u, err := uuid.NewV7()
	require.NoError(t, err)
	return u.String()
}

type fixture struct {
	store   *iamdb.Store
	account iam.Account
	owner   iam.UserRecord
	rt      iam.RefreshToken
	secret  string
}

// newAccount creates an account with an owner and a refresh token.
func newAccount(t *testing.T, s *iamdb.Store, email string) fixture {
	t.Helper()
	f := fixture{store: s}
	f.account = iam.Account{ID: id(t), Name: "Acme", CreatedAt: t0}
	f.owner = user(t, f.account.ID, email, iam.RoleOwner)
	f.rt, f.secret = refresh(t, f.owner.User, "")
	require.NoError(t, s.CreateAccount(t.Context(), f.account, f.owner, f.rt))
	return f
}

func user(t *testing.T, accountID, email string, role iam.Role) iam.UserRecord {
	return iam.UserRecord{
		User:         iam.User{ID: id(t), AccountID: accountID, Email: email, Name: "N", Role: role, CreatedAt: t0, UpdatedAt: t0},
		PasswordHash: "$argon2id$placeholder",
	}
}

func refresh(t *testing.T, u iam.User, family string) (iam.RefreshToken, string) {
	secret, hash, err := token.NewRefreshToken()
	require.NoError(t, err)
	rid := id(t)
	if family == "" {
		family = rid
	}
	return iam.RefreshToken{ID: rid, FamilyID: family, UserID: u.ID, AccountID: u.AccountID, Hash: hash, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, secret
}

func count(t *testing.T, db *gorm.DB, table string) int64 {
	var n int64
	require.NoError(t, db.Table(table).Count(&n).Error)
	return n
}

func TestCreateAccountIsAtomic(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		f := newAccount(t, s, "ana@example.com")

		// The same email in a second sign-up: nothing of it may remain.
		acct := iam.Account{ID: id(t), Name: "Other", CreatedAt: t0}
		u := user(t, acct.ID, "ana@example.com", iam.RoleOwner)
		rt, _ := refresh(t, u.User, "")
		err := s.CreateAccount(t.Context(), acct, u, rt)
		require.ErrorIs(t, err, iam.ErrEmailTaken)
		require.EqualValues(t, 1, count(t, db, "accounts"))
		require.EqualValues(t, 1, count(t, db, "users"))
		require.EqualValues(t, 1, count(t, db, "refresh_tokens"))

		// Plain CreateUser maps the violation too.
		err = s.CreateUser(t.Context(), user(t, f.account.ID, "ana@example.com", iam.RoleViewer))
		require.ErrorIs(t, err, iam.ErrEmailTaken)
	})
}

func TestTimesAreUTC(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		zone := time.FixedZone("UTC+5", 5*3600)
		acct := iam.Account{ID: id(t), Name: "Zoned", CreatedAt: t0.In(zone)}
		u := user(t, acct.ID, "z@example.com", iam.RoleOwner)
		u.CreatedAt = t0.In(zone)
		rt, _ := refresh(t, u.User, "")
		require.NoError(t, s.CreateAccount(t.Context(), acct, u, rt))

		got, err := s.GetAccount(t.Context(), acct.ID)
		require.NoError(t, err)
		require.Equal(t, time.UTC, got.CreatedAt.Location())
		require.True(t, got.CreatedAt.Equal(t0), "%v", got.CreatedAt)
		gu, err := s.GetUser(t.Context(), acct.ID, u.ID)
		require.NoError(t, err)
		require.Equal(t, t0, gu.CreatedAt, "microsecond times round-trip exactly")
	})
}

func TestTenantScoping(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		ctx := t.Context()
		a := newAccount(t, s, "a@example.com")
		b := newAccount(t, s, "b@example.com")
		hash := token.Hash("x")
		tok := iam.APITokenRecord{APIToken: iam.APIToken{ID: id(t), AccountID: b.account.ID, UserID: b.owner.ID, Name: "t", Prefix: "orbit_abcdef", Role: iam.RoleOwner, CreatedAt: t0}, Hash: hash}
		require.NoError(t, s.CreateAPIToken(ctx, tok))

		_, err := s.GetUser(ctx, a.account.ID, b.owner.ID)
		require.ErrorIs(t, err, iam.ErrNotFound)
		_, err = s.UpdateUser(ctx, a.account.ID, b.owner.ID, func(*iam.User) error { return nil })
		require.ErrorIs(t, err, iam.ErrNotFound)
		require.ErrorIs(t, s.DeleteUser(ctx, a.account.ID, b.owner.ID, func(iam.User) error { return nil }), iam.ErrNotFound)
		require.ErrorIs(t, s.SetPasswordHash(ctx, a.account.ID, b.owner.ID, "h"), iam.ErrNotFound)
		_, err = s.GetAPIToken(ctx, a.account.ID, tok.ID)
		require.ErrorIs(t, err, iam.ErrNotFound)
		require.ErrorIs(t, s.RevokeAPIToken(ctx, a.account.ID, tok.ID, t0), iam.ErrNotFound)
		list, err := s.ListAPITokens(ctx, a.account.ID, b.owner.ID, iam.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, list)
		users, err := s.ListUsers(ctx, a.account.ID, iam.ListOptions{})
		require.NoError(t, err)
		require.Len(t, users, 1)
		require.Equal(t, a.owner.ID, users[0].ID)

		// B's rows are all still there and unrevoked.
		got, err := s.GetAPIToken(ctx, b.account.ID, tok.ID)
		require.NoError(t, err)
		require.Nil(t, got.RevokedAt)
	})
}

// TestConcurrentOwnerDemotion: two owners demote each other at once; the
// account lock makes one wait for the other, which then sees no other owner.
func TestConcurrentOwnerDemotion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		for range 5 {
			f := newAccount(t, s, id(t)+"@example.com")
			second := user(t, f.account.ID, id(t)+"@example.com", iam.RoleOwner)
			require.NoError(t, s.CreateUser(t.Context(), second))

			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, target := range []string{f.owner.ID, second.ID} {
				wg.Go(func() {
					_, errs[i] = s.UpdateUser(t.Context(), f.account.ID, target, func(u *iam.User) error {
						u.Role = iam.RoleAdmin
						return nil
					})
				})
			}
			wg.Wait()
			ok, last := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, iam.ErrLastOwner):
					last++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 1, ok)
			require.Equal(t, 1, last)
			var owners int64
			require.NoError(t, db.Table("users").Where("account_id = ? AND role = 'owner'", f.account.ID).Count(&owners).Error)
			require.EqualValues(t, 1, owners)
		}
	})
}

func TestRotateRefreshToken(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		ctx := context.Background()
		f := newAccount(t, s, "a@example.com")
		now := t0.Add(time.Minute)

		next, nextSecret := refresh(t, iam.User{}, "x")
		got, err := s.RotateRefreshToken(ctx, token.Hash(f.secret), now, next)
		require.NoError(t, err)
		require.Equal(t, f.rt.FamilyID, got.FamilyID, "family, user and account come from the old token")
		require.Equal(t, f.owner.ID, got.UserID)
		require.Equal(t, f.account.ID, got.AccountID)

		_, err = s.RotateRefreshToken(ctx, token.Hash("unknown"), now, next)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)

		// Reuse of the first token revokes every token of the family.
		again, _ := refresh(t, iam.User{}, "")
		_, err = s.RotateRefreshToken(ctx, token.Hash(f.secret), now, again)
		require.ErrorIs(t, err, iam.ErrRefreshReused)
		var live int64
		require.NoError(t, db.Table("refresh_tokens").Where("family_id = ? AND revoked_at IS NULL", f.rt.FamilyID).Count(&live).Error)
		require.Zero(t, live)
		third, _ := refresh(t, iam.User{}, "")
		_, err = s.RotateRefreshToken(ctx, token.Hash(nextSecret), now, third)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)

		// An expired token is refused without being consumed.
		g := newAccount(t, s, "g@example.com")
		late := g.rt.ExpiresAt
		_, err = s.RotateRefreshToken(ctx, token.Hash(g.secret), late, third)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		var used int64
		require.NoError(t, db.Table("refresh_tokens").Where("id = ? AND used_at IS NULL", g.rt.ID).Count(&used).Error)
		require.EqualValues(t, 1, used)
	})
}

func TestDeleteUserRemovesTokens(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := iamdb.New(db)
		ctx := t.Context()
		f := newAccount(t, s, "a@example.com")
		dev := user(t, f.account.ID, "dev@example.com", iam.RoleDeveloper)
		require.NoError(t, s.CreateUser(ctx, dev))
		rt, _ := refresh(t, dev.User, "")
		require.NoError(t, s.CreateRefreshToken(ctx, rt))
		tok := iam.APITokenRecord{APIToken: iam.APIToken{ID: id(t), AccountID: f.account.ID, UserID: dev.ID, Name: "t", Prefix: "orbit_abcdef", Role: iam.RoleDeveloper, CreatedAt: t0}, Hash: token.Hash("s")}
		require.NoError(t, s.CreateAPIToken(ctx, tok))

		refused := errors.New("refused")
		require.ErrorIs(t, s.DeleteUser(ctx, f.account.ID, dev.ID, func(iam.User) error { return refused }), refused)
		require.EqualValues(t, 2, count(t, db, "users"))

		require.NoError(t, s.DeleteUser(ctx, f.account.ID, dev.ID, func(iam.User) error { return nil }))
		require.EqualValues(t, 1, count(t, db, "users"))
		require.EqualValues(t, 1, count(t, db, "refresh_tokens"), "only the owner's remains")
		require.EqualValues(t, 0, count(t, db, "api_tokens"))
	})
}
