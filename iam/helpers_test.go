package iam_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/iam/password"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// clock is the injected Config.Now: tests move time instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc   *iam.Service
	store *iamdb.Store
	db    *gorm.DB
	clock *clock
	cfg   iam.Config
}

const goodPassword = "tangerine-orbit-42"

func testConfig(c *clock) iam.Config {
	cfg := iam.DefaultConfig()
	cfg.Now = c.Now
	cfg.PasswordParams = password.TestParams
	return cfg
}

func newEnv(t *testing.T, db *gorm.DB) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 15, 9, 30, 0, 123456789, time.UTC)}
	e := &env{store: iamdb.New(db), db: db, clock: c, cfg: testConfig(c)}
	e.svc = e.newService(t)
	require.NoError(t, e.svc.EnsureSigningKey(t.Context()))
	return e
}

// newService returns another Service over the same database and clock, as a
// second replica would be.
func (e *env) newService(t *testing.T) *iam.Service {
	return iam.NewService(e.store, e.cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
}

func ctx(t *testing.T) context.Context { return t.Context() }

// signUp creates an account and returns its owner's principal and session.
func (e *env) signUp(t *testing.T, email string) (iam.Principal, iam.Session) {
	t.Helper()
	_, _, sess, err := e.svc.SignUp(ctx(t), iam.SignUpInput{
		Email: email, Password: goodPassword, Name: "Owner", AccountName: "Acme",
	}, iam.ClientMeta{IP: "192.0.2.1"})
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx(t), sess.AccessToken)
	require.NoError(t, err)
	return p, sess
}

// addUser creates a user with role in actor's account and logs them in.
func (e *env) addUser(t *testing.T, actor iam.Principal, email string, role iam.Role) iam.Principal {
	t.Helper()
	_, err := e.svc.CreateUser(ctx(t), actor, iam.CreateUserInput{Email: email, Name: string(role), Password: goodPassword, Role: role})
	require.NoError(t, err)
	_, sess, err := e.svc.Login(ctx(t), email, goodPassword, iam.ClientMeta{})
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx(t), sess.AccessToken)
	require.NoError(t, err)
	return p
}

func requireValidation(t *testing.T, err error, field string) {
	t.Helper()
	var v *iam.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, field, v.Field, v.Error())
	require.NotEmpty(t, v.Message)
}
