package iam

import (
	"errors"
	"fmt"
	"time"

	"github.com/orbitmq/orbit/iam/acl"
)

// Sentinel errors; match with errors.Is. The REST layer maps each to one status.
var (
	ErrInvalidCredentials = errors.New("invalid email or password")           // 401
	ErrUnauthenticated    = errors.New("invalid or expired token")            // 401
	ErrRefreshReused      = errors.New("refresh token reuse detected")        // 401, family revoked
	ErrForbidden          = acl.ErrForbidden                                  // 403; the same value, so errors.Is matches either
	ErrNotFound           = errors.New("not found")                           // 404 (also for other accounts' resources)
	ErrEmailTaken         = errors.New("email already registered")            // 409
	ErrLastOwner          = errors.New("an account needs at least one owner") // 409
)

// ValidationError is bad input for one field (400).
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// ThrottledError says too many failed attempts; retry after RetryAfter (429).
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts, retry after %s", e.RetryAfter.Round(time.Second))
}
