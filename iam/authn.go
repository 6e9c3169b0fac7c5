package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbitmq/orbit/iam/acl"
	"github.com/orbitmq/orbit/iam/token"
)

// touchInterval bounds how often an API token's last_used_at is written: a
// busy automation client must not turn every request into a write.
const touchInterval = time.Minute

// signAccess returns a JWT access token for u and its expiry.
func (s *Service) signAccess(ctx context.Context, u User) (string, time.Time, error) {
	k, err := s.signingKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	// JWT times are whole seconds; truncating first makes the returned
	// expiry equal the token's "exp".
	now := s.now().Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTokenTTL)
	jwt, err := token.Sign(k, token.Claims{
		UserID: u.ID, AccountID: u.AccountID, Role: string(u.Role), Issuer: s.cfg.Issuer,
		IssuedAt: now, ExpiresAt: exp,
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return jwt, exp, nil
}

// Authenticate resolves a bearer token (JWT access token or API token).
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	switch {
	case bearer == "":
		return Principal{}, ErrUnauthenticated
	case token.IsAPIToken(bearer):
		return s.authenticateAPIToken(ctx, bearer)
	default:
		return s.authenticateJWT(ctx, bearer)
	}
}

// authenticateJWT trusts the token for who the caller is, but takes the role
// from the database: a demotion or deletion applies at once, not when the
// access token expires.
func (s *Service) authenticateJWT(ctx context.Context, bearer string) (Principal, error) {
	c, err := s.verifyAccess(ctx, bearer)
	if err != nil {
		return Principal{}, err
	}
	rec, err := s.store.GetUser(ctx, c.AccountID, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	} else if err != nil {
		return Principal{}, fmt.Errorf("load user: %w", err)
	}
	return Principal{Kind: PrincipalSession, UserID: rec.ID, AccountID: rec.AccountID, Email: rec.Email, Role: rec.Role}, nil
}

func (s *Service) authenticateAPIToken(ctx context.Context, bearer string) (Principal, error) {
	t, err := s.store.GetAPITokenByHash(ctx, token.Hash(bearer))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	} else if err != nil {
		return Principal{}, fmt.Errorf("load api token: %w", err)
	}
	now := s.now()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return Principal{}, ErrUnauthenticated
	}
	rec, err := s.store.GetUser(ctx, t.AccountID, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	} else if err != nil {
		return Principal{}, fmt.Errorf("load user: %w", err)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchInterval {
		// Best effort: a failed bookkeeping write must not fail the request.
		if err := s.store.TouchAPIToken(ctx, t.AccountID, t.ID, now); err != nil {
			s.log.Warn("record api token use", "account_id", t.AccountID, "token_id", t.ID, "err", err)
		}
	}
	return Principal{
		Kind:      PrincipalAPIToken,
		UserID:    rec.ID,
		AccountID: rec.AccountID,
		Email:     rec.Email,
		Role:      t.Role.Lower(rec.Role),
		TokenID:   t.ID,
	}, nil
}

// Me returns the caller's user and account.
func (s *Service) Me(ctx context.Context, p Principal) (User, Account, error) {
	if err := acl.Authorize(string(p.Role), acl.AccountRead); err != nil {
		return User{}, Account{}, err
	}
	rec, err := s.store.GetUser(ctx, p.AccountID, p.UserID)
	if err != nil {
		return User{}, Account{}, fmt.Errorf("load user: %w", err)
	}
	acct, err := s.store.GetAccount(ctx, p.AccountID)
	if err != nil {
		return User{}, Account{}, fmt.Errorf("load account: %w", err)
	}
	return rec.User, acct, nil
}
