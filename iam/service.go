package iam

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/orbitmq/orbit/iam/password"
)

// Config tunes the IAM service. Zero durations take DefaultConfig's values.
type Config struct {
	Issuer           string        // JWT "iss"
	AccessTokenTTL   time.Duration // lifetime of a JWT access token
	RefreshTokenTTL  time.Duration // lifetime of a refresh token (and its cookie)
	SigningKeyMaxAge time.Duration // a signing key older than this is rotated
	Now              func() time.Time

	// PasswordParams is the argon2id cost for new hashes; zero takes
	// password.DefaultParams. Tests use password.TestParams. Existing hashes
	// keep verifying with the parameters encoded in them and are re-hashed
	// with these on the next successful login.
	PasswordParams password.Params

	// Login throttling. LoginMaxFailures failed logins for one email within
	// LoginFailureWindow lock that email until the oldest failure ages out;
	// LoginMaxPerIP attempts from one IP within LoginIPWindow lock the IP.
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	LoginMaxPerIP      int
	LoginIPWindow      time.Duration
}

// TestPasswordParams is a cheap argon2id cost for tests (Config.PasswordParams),
// so callers need not import iam/password. Never use it in production.
var TestPasswordParams = password.TestParams

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		Issuer:             "orbit",
		AccessTokenTTL:     15 * time.Minute,
		RefreshTokenTTL:    14 * 24 * time.Hour,
		SigningKeyMaxAge:   30 * 24 * time.Hour,
		Now:                time.Now,
		PasswordParams:     password.DefaultParams,
		LoginMaxFailures:   5,
		LoginFailureWindow: 15 * time.Minute,
		LoginMaxPerIP:      30,
		LoginIPWindow:      time.Minute,
	}
}

// withDefaults fills every zero field from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Issuer == "" {
		c.Issuer = d.Issuer
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = d.AccessTokenTTL
	}
	if c.RefreshTokenTTL == 0 {
		c.RefreshTokenTTL = d.RefreshTokenTTL
	}
	if c.SigningKeyMaxAge == 0 {
		c.SigningKeyMaxAge = d.SigningKeyMaxAge
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.PasswordParams == (password.Params{}) {
		c.PasswordParams = d.PasswordParams
	}
	if c.LoginMaxFailures == 0 {
		c.LoginMaxFailures = d.LoginMaxFailures
	}
	if c.LoginFailureWindow == 0 {
		c.LoginFailureWindow = d.LoginFailureWindow
	}
	if c.LoginMaxPerIP == 0 {
		c.LoginMaxPerIP = d.LoginMaxPerIP
	}
	if c.LoginIPWindow == 0 {
		c.LoginIPWindow = d.LoginIPWindow
	}
	return c
}

// Validate reports a configuration that cannot work. Zero values are valid:
// they take the defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for name, d := range map[string]time.Duration{
		"AccessTokenTTL": c.AccessTokenTTL, "RefreshTokenTTL": c.RefreshTokenTTL,
		"SigningKeyMaxAge": c.SigningKeyMaxAge, "LoginFailureWindow": c.LoginFailureWindow,
		"LoginIPWindow": c.LoginIPWindow,
	} {
		if d < 0 {
			errs = append(errs, errors.New("iam config: "+name+" must be positive"))
		}
	}
	if c.LoginMaxFailures < 0 || c.LoginMaxPerIP < 0 {
		errs = append(errs, errors.New("iam config: login limits must be positive"))
	}
	p := c.PasswordParams
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.SaltLen < 8 || p.KeyLen < 16 {
		errs = append(errs, errors.New("iam config: PasswordParams incomplete"))
	}
	return errors.Join(errs...)
}

// Service implements sign-up, login, sessions, users and API tokens.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger

	keys     *keyCache
	keysMu   sync.Mutex // serialises EnsureSigningKey/RotateSigningKey in this process
	emails   *limiter   // failed logins per email
	ips      *limiter   // login attempts per client IP
	dummy    sync.Once
	dummyPHC string
}

// NewService returns a Service over store. A nil log discards.
func NewService(store Store, cfg Config, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store:  store,
		cfg:    cfg,
		log:    log,
		keys:   newKeyCache(),
		emails: newLimiter(cfg.LoginMaxFailures, cfg.LoginFailureWindow, maxTrackedKeys),
		ips:    newLimiter(cfg.LoginMaxPerIP, cfg.LoginIPWindow, maxTrackedKeys),
	}
}

type SignUpInput struct {
	Email, Password, Name, AccountName string
}

type CreateUserInput struct {
	Email, Name, Password string
	Role                  Role
}

type UpdateUserInput struct {
	Name *string
	Role *Role
}

type CreateTokenInput struct {
	Name      string
	Role      Role // empty: the caller's role; never above it
	ExpiresAt *time.Time
}

// now is the service clock in UTC, truncated to microseconds: PostgreSQL
// keeps no more, so a time written and read back compares equal.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }
