package iam_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestSignUpLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		user, acct, sess, err := e.svc.SignUp(ctx(t), iam.SignUpInput{
			Email: "  Ana@Example.COM ", Password: goodPassword, Name: " Ana ", AccountName: "Acme Corp",
		}, iam.ClientMeta{IP: "192.0.2.1"})
		require.NoError(t, err)
		require.Equal(t, "ana@example.com", user.Email)
		require.Equal(t, "Ana", user.Name)
		require.Equal(t, iam.RoleOwner, user.Role)
		require.Equal(t, acct.ID, user.AccountID)
		require.Equal(t, "Acme Corp", acct.Name)
		require.NotEmpty(t, sess.AccessToken)
		require.NotEmpty(t, sess.RefreshToken)
		now := e.clock.Now()
		require.WithinDuration(t, now.Add(e.cfg.AccessTokenTTL), sess.AccessExpiresAt, time.Second)
		require.WithinDuration(t, now.Add(e.cfg.RefreshTokenTTL), sess.RefreshExpiresAt, time.Second)

		p, err := e.svc.Authenticate(ctx(t), sess.AccessToken)
		require.NoError(t, err)
		require.Equal(t, iam.Principal{Kind: iam.PrincipalSession, UserID: user.ID, AccountID: acct.ID, Email: user.Email, Role: iam.RoleOwner}, p)

		me, meAcct, err := e.svc.Me(ctx(t), p)
		require.NoError(t, err)
		require.Equal(t, user, me)
		require.Equal(t, acct, meAcct)

		// Login is case-insensitive on the email.
		loggedIn, sess2, err := e.svc.Login(ctx(t), "ANA@example.com", goodPassword, iam.ClientMeta{IP: "192.0.2.1"})
		require.NoError(t, err)
		require.Equal(t, user, loggedIn)

		_, _, err = e.svc.Login(ctx(t), "ana@example.com", goodPassword+"x", iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrInvalidCredentials)
		_, _, err = e.svc.Login(ctx(t), "nobody@example.com", goodPassword, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrInvalidCredentials)

		// Refresh rotates: a new pair, and the new refresh token works next.
		e.clock.Advance(time.Minute)
		refreshed, sess3, err := e.svc.Refresh(ctx(t), sess2.RefreshToken, iam.ClientMeta{})
		require.NoError(t, err)
		require.Equal(t, user, refreshed)
		require.NotEqual(t, sess2.RefreshToken, sess3.RefreshToken)
		_, err = e.svc.Authenticate(ctx(t), sess3.AccessToken)
		require.NoError(t, err)
		_, sess4, err := e.svc.Refresh(ctx(t), sess3.RefreshToken, iam.ClientMeta{})
		require.NoError(t, err)

		// Logout revokes the family; the sign-up session is separate.
		require.NoError(t, e.svc.Logout(ctx(t), sess4.RefreshToken))
		_, _, err = e.svc.Refresh(ctx(t), sess4.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		_, _, err = e.svc.Refresh(ctx(t), sess.RefreshToken, iam.ClientMeta{})
		require.NoError(t, err)

		// Unknown tokens: Logout shrugs, Refresh and Authenticate refuse.
		require.NoError(t, e.svc.Logout(ctx(t), "no-such-token"))
		_, _, err = e.svc.Refresh(ctx(t), "no-such-token", iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		for _, bearer := range []string{"", "garbage", "orbit_nope", sess.RefreshToken} {
			_, err = e.svc.Authenticate(ctx(t), bearer)
			require.ErrorIs(t, err, iam.ErrUnauthenticated, bearer)
		}
	})
}

func TestSignUpValidation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		e.signUp(t, "taken@example.com")
		ok := iam.SignUpInput{Email: "new@example.com", Password: goodPassword, Name: "New", AccountName: "New Co"}
		for _, tc := range []struct {
			name  string
			edit  func(*iam.SignUpInput)
			field string // a ValidationError on this field, or
			err   error  // this sentinel
		}{
			{"empty email", func(in *iam.SignUpInput) { in.Email = "" }, "email", nil},
			{"no at", func(in *iam.SignUpInput) { in.Email = "new.example.com" }, "email", nil},
			{"display name form", func(in *iam.SignUpInput) { in.Email = "New <new@example.com>" }, "email", nil},
			{"no dotted domain", func(in *iam.SignUpInput) { in.Email = "new@localhost" }, "email", nil},
			{"two ats", func(in *iam.SignUpInput) { in.Email = "a@b@example.com" }, "email", nil},
			{"short password", func(in *iam.SignUpInput) { in.Password = "short1!" }, "password", nil},
			{"common password", func(in *iam.SignUpInput) { in.Password = "password123" }, "password", nil},
			{"password is email", func(in *iam.SignUpInput) { in.Password = "new@example.com" }, "password", nil},
			{"repetitive password", func(in *iam.SignUpInput) { in.Password = "abababababab" }, "password", nil},
			{"empty name", func(in *iam.SignUpInput) { in.Name = "   " }, "name", nil},
			{"long name", func(in *iam.SignUpInput) { in.Name = strings.Repeat("n", 101) }, "name", nil},
			{"empty account name", func(in *iam.SignUpInput) { in.AccountName = "" }, "accountName", nil},
			{"long account name", func(in *iam.SignUpInput) { in.AccountName = strings.Repeat("é", 101) }, "accountName", nil},
			{"duplicate email", func(in *iam.SignUpInput) { in.Email = "taken@example.com" }, "", iam.ErrEmailTaken},
			{"duplicate email other case", func(in *iam.SignUpInput) { in.Email = "Taken@EXAMPLE.com" }, "", iam.ErrEmailTaken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := ok
				tc.edit(&in)
				_, _, _, err := e.svc.SignUp(ctx(t), in, iam.ClientMeta{})
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err)
				} else {
					requireValidation(t, err, tc.field)
				}
			})
		}
		// 100 characters is fine; nothing above was written.
		in := ok
		in.Name = strings.Repeat("n", 100)
		_, _, _, err := e.svc.SignUp(ctx(t), in, iam.ClientMeta{})
		require.NoError(t, err)
		var accounts int64
		require.NoError(t, db.Table("accounts").Count(&accounts).Error)
		require.EqualValues(t, 2, accounts, "failed sign-ups leave no account behind")
	})
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		_, first := e.signUp(t, "ana@example.com")
		_, other, err := e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)

		_, second, err := e.svc.Refresh(ctx(t), first.RefreshToken, iam.ClientMeta{})
		require.NoError(t, err)

		// The stolen first token comes back: reuse. The whole family dies,
		// including the newer token the legitimate client holds.
		_, _, err = e.svc.Refresh(ctx(t), first.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrRefreshReused)
		_, _, err = e.svc.Refresh(ctx(t), second.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		_, _, err = e.svc.Refresh(ctx(t), first.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrRefreshReused, "a replay stays a replay")

		// Another login's family is untouched.
		_, _, err = e.svc.Refresh(ctx(t), other.RefreshToken, iam.ClientMeta{})
		require.NoError(t, err)
	})
}

func TestRefreshConcurrentSameToken(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		_, sess := e.signUp(t, "ana@example.com")

		const n = 4
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			wins    []iam.Session
			reused  int
			unexpct []error
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, s, err := e.svc.Refresh(ctx(t), sess.RefreshToken, iam.ClientMeta{})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins = append(wins, s)
				case errors.Is(err, iam.ErrRefreshReused):
					reused++
				default:
					unexpct = append(unexpct, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(t, unexpct)
		require.Len(t, wins, 1, "exactly one rotation wins")
		require.Equal(t, n-1, reused)
		// The losers were treated as reuse, so the winner's family is revoked.
		_, _, err := e.svc.Refresh(ctx(t), wins[0].RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
	})
}

func TestRefreshExpired(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		_, sess := e.signUp(t, "ana@example.com")
		e.clock.Advance(e.cfg.RefreshTokenTTL)
		_, _, err := e.svc.Refresh(ctx(t), sess.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
		// The failed attempt did not consume the token: it is expired, not reused.
		_, _, err = e.svc.Refresh(ctx(t), sess.RefreshToken, iam.ClientMeta{})
		require.ErrorIs(t, err, iam.ErrUnauthenticated)

		// An access token expires after its TTL.
		_, sess = e.signUp(t, "bo@example.com")
		e.clock.Advance(e.cfg.AccessTokenTTL)
		_, err = e.svc.Authenticate(ctx(t), sess.AccessToken)
		require.ErrorIs(t, err, iam.ErrUnauthenticated)
	})
}

func TestLoginThrottlePerEmail(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		e.signUp(t, "ana@example.com")
		for i := range 5 {
			_, _, err := e.svc.Login(ctx(t), "ana@example.com", "wrong-password-1", iam.ClientMeta{IP: "198.51.100.7"})
			require.ErrorIs(t, err, iam.ErrInvalidCredentials, "attempt %d", i+1)
			e.clock.Advance(time.Minute)
		}
		// Sixth attempt: locked, even with the right password and another IP.
		for _, pw := range []string{"wrong-password-1", goodPassword} {
			_, _, err := e.svc.Login(ctx(t), "ANA@example.com", pw, iam.ClientMeta{IP: "203.0.113.9"})
			var th *iam.ThrottledError
			require.ErrorAs(t, err, &th)
			// The first failure was 5 minutes ago; it ages out in 10.
			require.Equal(t, 10*time.Minute, th.RetryAfter)
		}
		// Other emails are not affected.
		e.signUp(t, "bo@example.com")
		_, _, err := e.svc.Login(ctx(t), "bo@example.com", goodPassword, iam.ClientMeta{IP: "198.51.100.7"})
		require.NoError(t, err)

		// Once the oldest failure leaves the window, one more try is allowed.
		e.clock.Advance(10 * time.Minute)
		_, _, err = e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)
		// Success reset the counter: five fresh failures are needed again.
		for range 4 {
			_, _, err := e.svc.Login(ctx(t), "ana@example.com", "wrong-password-1", iam.ClientMeta{})
			require.ErrorIs(t, err, iam.ErrInvalidCredentials)
		}
		_, _, err = e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{})
		require.NoError(t, err)

		// Unknown emails are throttled the same way, revealing nothing.
		for range 5 {
			_, _, err := e.svc.Login(ctx(t), "ghost@example.com", "wrong-password-1", iam.ClientMeta{})
			require.ErrorIs(t, err, iam.ErrInvalidCredentials)
		}
		_, _, err = e.svc.Login(ctx(t), "ghost@example.com", "wrong-password-1", iam.ClientMeta{})
		var th *iam.ThrottledError
		require.ErrorAs(t, err, &th)
	})
}

func TestLoginThrottlePerIP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		e.signUp(t, "ana@example.com")
		meta := iam.ClientMeta{IP: "198.51.100.7"}
		// 30 attempts a minute from one address, spread over many emails so
		// the per-email limit never triggers.
		for i := range 30 {
			_, _, err := e.svc.Login(ctx(t), "user"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", "wrong-password-1", meta)
			require.ErrorIs(t, err, iam.ErrInvalidCredentials, "attempt %d", i+1)
			e.clock.Advance(time.Second)
		}
		_, _, err := e.svc.Login(ctx(t), "ana@example.com", goodPassword, meta)
		var th *iam.ThrottledError
		require.ErrorAs(t, err, &th)
		require.Equal(t, 30*time.Second, th.RetryAfter)

		// Another address is fine, and the first recovers after the window.
		_, _, err = e.svc.Login(ctx(t), "ana@example.com", goodPassword, iam.ClientMeta{IP: "198.51.100.8"})
		require.NoError(t, err)
		e.clock.Advance(30 * time.Second)
		_, _, err = e.svc.Login(ctx(t), "ana@example.com", goodPassword, meta)
		require.NoError(t, err)
	})
}
