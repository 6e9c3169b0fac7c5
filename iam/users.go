package iam

import (
	"context"
	"fmt"
	"strings"

	"github.com/orbitmq/orbit/iam/acl"
	"github.com/orbitmq/orbit/iam/password"
)

func authorize(p Principal, a acl.Action) error { return acl.Authorize(string(p.Role), a) }

// Role rules for user management, on top of users:write:
//   - an actor assigns only roles at or below their own;
//   - an actor changes or deletes only users at or below their own role;
//   - the account keeps at least one owner (enforced by the Store, under the
//     account's lock, so two owners demoting each other cannot both win).
//
// Users may change or delete themselves under the same rules.

// ListUsers lists the users of the caller's account, ordered by ID (users:read).
func (s *Service) ListUsers(ctx context.Context, p Principal, opt ListOptions) ([]User, error) {
	if err := authorize(p, acl.UsersRead); err != nil {
		return nil, err
	}
	users, err := s.store.ListUsers(ctx, p.AccountID, clampList(opt))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// GetUser returns a user of the caller's account; others are ErrNotFound.
func (s *Service) GetUser(ctx context.Context, p Principal, id string) (User, error) {
	if err := authorize(p, acl.UsersRead); err != nil {
		return User{}, err
	}
	rec, err := s.store.GetUser(ctx, p.AccountID, id)
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	return rec.User, nil
}

// CreateUser adds a user to the caller's account (users:write) with a role
// no higher than the caller's.
func (s *Service) CreateUser(ctx context.Context, p Principal, in CreateUserInput) (User, error) {
	if err := authorize(p, acl.UsersWrite); err != nil {
		return User{}, err
	}
	email := normalizeEmail(in.Email)
	name := strings.TrimSpace(in.Name)
	for _, err := range []error{
		checkEmail(email),
		checkName(fieldName, name),
		checkPassword(in.Password, email),
		checkRole(in.Role),
	} {
		if err != nil {
			return User{}, err
		}
	}
	if !p.Role.AtLeast(in.Role) {
		return User{}, ErrForbidden
	}
	hash, err := password.Hash(in.Password, s.cfg.PasswordParams)
	if err != nil {
		return User{}, err
	}
	id, err := newID()
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: id, AccountID: p.AccountID, Email: email, Name: name, Role: in.Role, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, UserRecord{User: u, PasswordHash: hash}); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	s.log.Info("user created", "account_id", p.AccountID, "user_id", id, "role", string(in.Role), "actor_id", p.UserID)
	return u, nil
}

// UpdateUser renames a user and/or changes their role (users:write).
func (s *Service) UpdateUser(ctx context.Context, p Principal, id string, in UpdateUserInput) (User, error) {
	if err := authorize(p, acl.UsersWrite); err != nil {
		return User{}, err
	}
	var name string
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
		if err := checkName(fieldName, name); err != nil {
			return User{}, err
		}
	}
	if in.Role != nil {
		if err := checkRole(*in.Role); err != nil {
			return User{}, err
		}
	}
	now := s.now()
	u, err := s.store.UpdateUser(ctx, p.AccountID, id, func(u *User) error {
		if !p.Role.AtLeast(u.Role) {
			return ErrForbidden
		}
		if in.Name != nil {
			u.Name = name
		}
		if in.Role != nil {
			if !p.Role.AtLeast(*in.Role) {
				return ErrForbidden
			}
			u.Role = *in.Role
		}
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// DeleteUser removes a user with their sessions and API tokens (users:write).
func (s *Service) DeleteUser(ctx context.Context, p Principal, id string) error {
	if err := authorize(p, acl.UsersWrite); err != nil {
		return err
	}
	err := s.store.DeleteUser(ctx, p.AccountID, id, func(u User) error {
		if !p.Role.AtLeast(u.Role) {
			return ErrForbidden
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.log.Info("user deleted", "account_id", p.AccountID, "user_id", id, "actor_id", p.UserID)
	return nil
}
