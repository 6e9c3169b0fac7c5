// Package acl decides who may do what inside an account: a pure table from
// role to permitted actions. It has no storage and imports nothing from Orbit.
package acl

import "errors"

// ErrForbidden is returned when a role may not perform an action. iam
// re-exports this very value as iam.ErrForbidden, so errors.Is matches
// either name.
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
	// InstancesRead covers the spec catalogue and the account's instances;
	// InstancesWrite creating, changing, starting, stopping and deleting them.
	InstancesRead  Action = "instances:read"
	InstancesWrite Action = "instances:write"
)

// Actions lists every action, for tables and documentation.
var Actions = []Action{AccountRead, UsersRead, UsersWrite, TokensRead, TokensWrite, AuditRead, InstancesRead, InstancesWrite}

// Each role's set includes everything the role below it may do; building
// them cumulatively keeps that ordering true when an action is added.
var (
	viewerActions    = set(AccountRead, UsersRead, InstancesRead)
	developerActions = union(viewerActions, TokensRead, TokensWrite, InstancesWrite)
	adminActions     = union(developerActions, UsersWrite, AuditRead)
)

// permissions maps a role name (as iam.Role spells it) to its actions. The
// owner is absent: an owner may do everything, including actions added later.
var permissions = map[string]map[Action]bool{
	"viewer":    viewerActions,
	"developer": developerActions,
	"admin":     adminActions,
}

// Authorize returns nil when role may perform action, ErrForbidden otherwise.
// An unknown role or action is forbidden.
func Authorize(role string, action Action) error {
	if role == "owner" && known(action) {
		return nil
	}
	if permissions[role][action] {
		return nil
	}
	return ErrForbidden
}

func known(a Action) bool {
	for _, k := range Actions {
		if k == a {
			return true
		}
	}
	return false
}

func set(actions ...Action) map[Action]bool {
	m := make(map[Action]bool, len(actions))
	for _, a := range actions {
		m[a] = true
	}
	return m
}

func union(base map[Action]bool, more ...Action) map[Action]bool {
	m := set(more...)
	for a := range base {
		m[a] = true
	}
	return m
}
