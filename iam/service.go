package iam

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

var errUnimplemented = errors.New("iam: not implemented")

// Config tunes the IAM service. Zero durations take DefaultConfig's values.
type Config struct {
	Issuer           string        // JWT "iss"
	AccessTokenTTL   time.Duration // lifetime of a JWT access token
	RefreshTokenTTL  time.Duration // lifetime of a refresh token (and its cookie)
	SigningKeyMaxAge time.Duration // a signing key older than this is rotated
	Now              func() time.Time
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		Issuer:           "orbit",
		AccessTokenTTL:   15 * time.Minute,
		RefreshTokenTTL:  14 * 24 * time.Hour,
		SigningKeyMaxAge: 30 * 24 * time.Hour,
		Now:              time.Now,
	}
}

// Store is the persistence the service needs; iam/iamdb implements it with gorm.
type Store interface{}

// Service implements sign-up, login, sessions, users and API tokens.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config, log *slog.Logger) *Service {
	return &Service{store: store, cfg: cfg, log: log}
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

// SignUp creates an account with its first user as owner and starts a session.
func (s *Service) SignUp(ctx context.Context, in SignUpInput, meta ClientMeta) (User, Account, Session, error) {
	return User{}, Account{}, Session{}, errUnimplemented
}

// Login checks credentials (throttled per account and per IP) and starts a session.
func (s *Service) Login(ctx context.Context, email, password string, meta ClientMeta) (User, Session, error) {
	return User{}, Session{}, errUnimplemented
}

// Refresh rotates a refresh token. A token used twice revokes its family.
func (s *Service) Refresh(ctx context.Context, refreshToken string, meta ClientMeta) (User, Session, error) {
	return User{}, Session{}, errUnimplemented
}

// Logout revokes the refresh token's family. Unknown tokens are not an error.
func (s *Service) Logout(ctx context.Context, refreshToken string) error { return errUnimplemented }

// Authenticate resolves a bearer token (JWT access token or API token).
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	return Principal{}, errUnimplemented
}

// Me returns the caller's user and account.
func (s *Service) Me(ctx context.Context, p Principal) (User, Account, error) {
	return User{}, Account{}, errUnimplemented
}

func (s *Service) ListUsers(ctx context.Context, p Principal, opt ListOptions) ([]User, error) {
	return nil, errUnimplemented
}

func (s *Service) GetUser(ctx context.Context, p Principal, id string) (User, error) {
	return User{}, errUnimplemented
}

func (s *Service) CreateUser(ctx context.Context, p Principal, in CreateUserInput) (User, error) {
	return User{}, errUnimplemented
}

func (s *Service) UpdateUser(ctx context.Context, p Principal, id string, in UpdateUserInput) (User, error) {
	return User{}, errUnimplemented
}

func (s *Service) DeleteUser(ctx context.Context, p Principal, id string) error {
	return errUnimplemented
}

// ListTokens lists the caller's own API tokens (revoked ones excluded).
func (s *Service) ListTokens(ctx context.Context, p Principal, opt ListOptions) ([]APIToken, error) {
	return nil, errUnimplemented
}

// CreateToken creates an API token and returns its secret, which is never stored.
func (s *Service) CreateToken(ctx context.Context, p Principal, in CreateTokenInput) (APIToken, string, error) {
	return APIToken{}, "", errUnimplemented
}

func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) error {
	return errUnimplemented
}

// RotateSigningKey makes a new JWT signing key the active one and returns its id.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) { return "", errUnimplemented }
