package iam

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orbitmq/orbit/iam/acl"
	"github.com/orbitmq/orbit/iam/token"
)

// ListTokens lists the caller's own API tokens (revoked ones excluded).
func (s *Service) ListTokens(ctx context.Context, p Principal, opt ListOptions) ([]APIToken, error) {
	if err := authorize(p, acl.TokensRead); err != nil {
		return nil, err
	}
	ts, err := s.store.ListAPITokens(ctx, p.AccountID, p.UserID, clampList(opt))
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return ts, nil
}

// CreateToken creates an API token and returns its secret, which is never stored.
func (s *Service) CreateToken(ctx context.Context, p Principal, in CreateTokenInput) (APIToken, string, error) {
	if err := authorize(p, acl.TokensWrite); err != nil {
		return APIToken{}, "", err
	}
	name := strings.TrimSpace(in.Name)
	if err := checkName(fieldName, name); err != nil {
		return APIToken{}, "", err
	}
	role := in.Role
	if role == "" {
		role = p.Role
	}
	if err := checkRole(role); err != nil {
		return APIToken{}, "", err
	}
	// p.Role is already the effective role, so a token created with a token
	// can never outrank the one that made it.
	if !p.Role.AtLeast(role) {
		return APIToken{}, "", ErrForbidden
	}
	now := s.now()
	expires := in.ExpiresAt
	if expires != nil {
		if !expires.After(s.cfg.Now()) {
			return APIToken{}, "", invalid(fieldExpiresAt, "must be in the future")
		}
		e := expires.UTC().Truncate(time.Microsecond)
		expires = &e
	}
	secret, prefix, hash, err := token.NewAPIToken()
	if err != nil {
		return APIToken{}, "", err
	}
	id, err := newID()
	if err != nil {
		return APIToken{}, "", err
	}
	t := APIToken{
		ID: id, AccountID: p.AccountID, UserID: p.UserID, Name: name, Prefix: prefix,
		Role: role, CreatedAt: now, ExpiresAt: expires,
	}
	if err := s.store.CreateAPIToken(ctx, APITokenRecord{APIToken: t, Hash: hash}); err != nil {
		return APIToken{}, "", fmt.Errorf("create api token: %w", err)
	}
	s.log.Info("api token created", "account_id", p.AccountID, "user_id", p.UserID, "token_id", id, "role", string(role))
	return t, secret, nil
}

// RevokeToken revokes one of the caller's tokens; with users:write, any token
// of the account. Other users' tokens are ErrNotFound for everyone else, as
// they are not in the caller's list either.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) error {
	if err := authorize(p, acl.TokensWrite); err != nil {
		return err
	}
	t, err := s.store.GetAPIToken(ctx, p.AccountID, id)
	if err != nil {
		return fmt.Errorf("load api token: %w", err)
	}
	if t.RevokedAt != nil {
		return fmt.Errorf("load api token: %w", ErrNotFound)
	}
	if t.UserID != p.UserID && authorize(p, acl.UsersWrite) != nil {
		return fmt.Errorf("load api token: %w", ErrNotFound)
	}
	if err := s.store.RevokeAPIToken(ctx, p.AccountID, id, s.now()); err != nil {
		return fmt.Errorf("revoke api token: %w", err)
	}
	s.log.Info("api token revoked", "account_id", p.AccountID, "token_id", id, "actor_id", p.UserID)
	return nil
}
