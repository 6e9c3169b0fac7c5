// Package acl decides who may do what inside an account: a pure table from
// role to permitted actions. It has no storage and imports nothing from Orbit.
package acl

import "errors"

// ErrForbidden is returned when a role may not perform an action.
var ErrForbidden = errors.New("not allowed for this role")

// Action names a permission, as "<resource>:<verb>".
type Action string

const (
	AccountRead Action = "account:read"
	UsersRead   Action = "users:read"
	UsersWrite  Action = "users:write"
	TokensRead  Action = "tokens:read"
	TokensWrite Action = "tokens:write"
	AuditRead   Action = "audit:read"
)

// Authorize returns nil when role may perform action, ErrForbidden otherwise.
func Authorize(role string, action Action) error {
	return errors.New("acl: not implemented")
}
