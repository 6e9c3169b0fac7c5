package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/orbitmq/orbit/iam/password"
	"github.com/orbitmq/orbit/iam/token"
)

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// SignUp creates an account with its first user as owner and starts a session.
func (s *Service) SignUp(ctx context.Context, in SignUpInput, meta ClientMeta) (User, Account, Session, error) {
	email := normalizeEmail(in.Email)
	name := strings.TrimSpace(in.Name)
	accountName := strings.TrimSpace(in.AccountName)
	for _, err := range []error{
		checkEmail(email),
		checkPassword(in.Password, email),
		checkName(fieldName, name),
		checkName(fieldAccountName, accountName),
	} {
		if err != nil {
			return User{}, Account{}, Session{}, err
		}
	}
	hash, err := password.Hash(in.Password, s.cfg.PasswordParams)
	if err != nil {
		return User{}, Account{}, Session{}, err
	}
	now := s.now()
	accountID, err := newID()
	if err != nil {
		return User{}, Account{}, Session{}, err
	}
	userID, err := newID()
	if err != nil {
		return User{}, Account{}, Session{}, err
	}
	acct := Account{ID: accountID, Name: accountName, CreatedAt: now}
	user := User{ID: userID, AccountID: accountID, Email: email, Name: name, Role: RoleOwner, CreatedAt: now, UpdatedAt: now}
	// The access token is signed before anything is written so that a
	// missing signing key cannot leave an account without a session.
	rt, secret, err := s.newRefreshToken(user, "")
	if err != nil {
		return User{}, Account{}, Session{}, err
	}
	access, exp, err := s.signAccess(ctx, user)
	if err != nil {
		return User{}, Account{}, Session{}, err
	}
	if err := s.store.CreateAccount(ctx, acct, UserRecord{User: user, PasswordHash: hash}, rt); err != nil {
		return User{}, Account{}, Session{}, fmt.Errorf("create account: %w", err)
	}
	s.log.Info("account created", "account_id", accountID, "user_id", userID)
	return user, acct, Session{AccessToken: access, AccessExpiresAt: exp, RefreshToken: secret, RefreshExpiresAt: rt.ExpiresAt}, nil
}

// Login checks credentials (throttled per account and per IP) and starts a session.
func (s *Service) Login(ctx context.Context, email, password string, meta ClientMeta) (User, Session, error) {
	return s.login(ctx, normalizeEmail(email), password, meta)
}

// login is Login with a parameter name that does not shadow the password package.
func (s *Service) login(ctx context.Context, email, pw string, meta ClientMeta) (User, Session, error) {
	now := s.now()
	// No stored email or valid password can be this long; refusing early
	// also keeps huge strings out of the limiter's memory and argon2.
	if len(email) > maxEmailLen || len(pw) > maxPasswordBytes {
		return User{}, Session{}, ErrInvalidCredentials
	}
	// Both limits are taken before the password is checked, so a correct
	// password during a lockout is refused too and a guesser learns nothing.
	// The attempt counts as a failure for the email until it succeeds.
	if meta.IP != "" {
		if wait, ok := s.ips.take(meta.IP, now); !ok {
			return User{}, Session{}, &ThrottledError{RetryAfter: wait}
		}
	}
	if wait, ok := s.emails.take(email, now); !ok {
		return User{}, Session{}, &ThrottledError{RetryAfter: wait}
	}

	rec, err := s.store.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		// Spend the same argon2 work as for a real user so response time
		// does not reveal which emails are registered.
		_, _ = password.Verify(pw, s.dummyHash())
		return User{}, Session{}, ErrInvalidCredentials
	case err != nil:
		return User{}, Session{}, fmt.Errorf("load user: %w", err)
	}
	ok, err := password.Verify(pw, rec.PasswordHash)
	if err != nil {
		// A stored hash we cannot read is an operator problem, not the
		// caller's; say so in the log and refuse like a wrong password.
		s.log.Error("unreadable password hash", "account_id", rec.AccountID, "user_id", rec.ID, "err", err)
	}
	if !ok {
		return User{}, Session{}, ErrInvalidCredentials
	}
	s.emails.reset(email)

	if password.NeedsRehash(rec.PasswordHash, s.cfg.PasswordParams) {
		if h, err := password.Hash(pw, s.cfg.PasswordParams); err == nil {
			if err := s.store.SetPasswordHash(ctx, rec.AccountID, rec.ID, h); err != nil {
				s.log.Warn("rehash password", "account_id", rec.AccountID, "user_id", rec.ID, "err", err)
			}
		}
	}
	sess, err := s.startSession(ctx, rec.User)
	if err != nil {
		return User{}, Session{}, err
	}
	return rec.User, sess, nil
}

func (s *Service) dummyHash() string {
	s.dummy.Do(func() {
		h, err := password.Hash("orbit-dummy-password", s.cfg.PasswordParams)
		if err != nil {
			// Verify then fails fast on the malformed hash; only timing suffers.
			s.log.Error("make dummy password hash", "err", err)
		}
		s.dummyPHC = h
	})
	return s.dummyPHC
}

// Refresh rotates a refresh token. A token used twice revokes its family.
func (s *Service) Refresh(ctx context.Context, refreshToken string, meta ClientMeta) (User, Session, error) {
	if refreshToken == "" || token.IsAPIToken(refreshToken) {
		return User{}, Session{}, ErrUnauthenticated
	}
	next, secret, err := s.newRefreshToken(User{}, "")
	if err != nil {
		return User{}, Session{}, err
	}
	stored, err := s.store.RotateRefreshToken(ctx, token.Hash(refreshToken), s.now(), next)
	switch {
	case errors.Is(err, ErrRefreshReused):
		s.log.Warn("refresh token reuse detected, session family revoked", "ip", meta.IP)
		return User{}, Session{}, ErrRefreshReused
	case errors.Is(err, ErrUnauthenticated):
		return User{}, Session{}, ErrUnauthenticated
	case err != nil:
		return User{}, Session{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	rec, err := s.store.GetUser(ctx, stored.AccountID, stored.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, Session{}, ErrUnauthenticated
	} else if err != nil {
		return User{}, Session{}, fmt.Errorf("load user: %w", err)
	}
	access, exp, err := s.signAccess(ctx, rec.User)
	if err != nil {
		return User{}, Session{}, err
	}
	return rec.User, Session{AccessToken: access, AccessExpiresAt: exp, RefreshToken: secret, RefreshExpiresAt: stored.ExpiresAt}, nil
}

// Logout revokes the refresh token's family. Unknown tokens are not an error.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return nil
	}
	if err := s.store.RevokeRefreshFamily(ctx, token.Hash(refreshToken), s.now()); err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

// startSession opens a new refresh-token family for u and signs an access token.
func (s *Service) startSession(ctx context.Context, u User) (Session, error) {
	access, exp, err := s.signAccess(ctx, u)
	if err != nil {
		return Session{}, err
	}
	rt, secret, err := s.newRefreshToken(u, "")
	if err != nil {
		return Session{}, err
	}
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return Session{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Session{AccessToken: access, AccessExpiresAt: exp, RefreshToken: secret, RefreshExpiresAt: rt.ExpiresAt}, nil
}

// newRefreshToken mints a refresh token for u in family (a new family when
// empty). The returned record holds only the hash; the secret goes to the client.
func (s *Service) newRefreshToken(u User, family string) (RefreshToken, string, error) {
	secret, hash, err := token.NewRefreshToken()
	if err != nil {
		return RefreshToken{}, "", err
	}
	id, err := newID()
	if err != nil {
		return RefreshToken{}, "", err
	}
	if family == "" {
		family = id
	}
	now := s.now()
	return RefreshToken{
		ID: id, FamilyID: family, UserID: u.ID, AccountID: u.AccountID, Hash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTokenTTL),
	}, secret, nil
}
