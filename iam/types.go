// Package iam holds Orbit's identity model: accounts (tenants), users and
// their roles, session tokens (JWT access + rotating refresh tokens) and API
// tokens for automation. It is a library with its own Store interface and no
// HTTP; the REST layer in controlplane/api calls the Service.
package iam

import "time"

// Role is a user's role inside their account. Roles are ordered:
// owner > admin > developer > viewer.
type Role string

const (
	RoleOwner     Role = "owner"
	RoleAdmin     Role = "admin"
	RoleDeveloper Role = "developer"
	RoleViewer    Role = "viewer"
)

// Roles lists every role, highest first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer}

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleDeveloper:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r ranks at or above o.
func (r Role) AtLeast(o Role) bool { return r.Valid() && r.rank() >= o.rank() }

// Lower returns the lower-ranked of r and o.
func (r Role) Lower(o Role) Role {
	if r.rank() <= o.rank() {
		return r
	}
	return o
}

// Account is a tenant: every resource belongs to exactly one account.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who signs in to one account.
type User struct {
	ID        string
	AccountID string
	Email     string
	Name      string
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
}

// APIToken describes a token for automation. The secret itself is shown once
// at creation and never stored; Prefix identifies it in lists.
type APIToken struct {
	ID         string
	AccountID  string
	UserID     string
	Name       string
	Prefix     string
	Role       Role
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// PrincipalKind tells how a request authenticated.
type PrincipalKind string

const (
	PrincipalSession  PrincipalKind = "session"
	PrincipalAPIToken PrincipalKind = "api_token"
)

// Principal is the authenticated caller of a request. Role is the effective
// role: for an API token, the lower of the token's role and its user's role.
type Principal struct {
	Kind      PrincipalKind
	UserID    string
	AccountID string
	Email     string
	Role      Role
	TokenID   string // set for API tokens
}

// Session is what a sign-up, login or refresh hands back. The refresh token
// goes to the browser in an httpOnly cookie; the access token is a short-lived JWT.
type Session struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// ClientMeta describes where a request came from, for throttling and audit.
type ClientMeta struct {
	IP        string
	UserAgent string
}

// ListOptions pages through a list ordered by ID: items with ID > AfterID,
// at most Limit of them. Cursor encoding is the caller's business.
type ListOptions struct {
	AfterID string
	Limit   int
}
