package acl_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/iam/acl"
)

func TestAuthorizeTable(t *testing.T) {
	t.Parallel()
	// allowed[role] lists exactly the actions the role may perform; every
	// other action must be forbidden.
	allowed := map[string][]acl.Action{
		"viewer":    {acl.AccountRead, acl.UsersRead, acl.InstancesRead},
		"developer": {acl.AccountRead, acl.UsersRead, acl.TokensRead, acl.TokensWrite, acl.InstancesRead, acl.InstancesWrite},
		"admin":     {acl.AccountRead, acl.UsersRead, acl.TokensRead, acl.TokensWrite, acl.UsersWrite, acl.AuditRead, acl.InstancesRead, acl.InstancesWrite},
		"owner":     acl.Actions,
		"":          nil,
		"root":      nil,
		"Owner":     nil, // roles are case-sensitive
	}
	for role, actions := range allowed {
		ok := map[acl.Action]bool{}
		for _, a := range actions {
			ok[a] = true
		}
		for _, action := range acl.Actions {
			t.Run(role+"/"+string(action), func(t *testing.T) {
				t.Parallel()
				err := acl.Authorize(role, action)
				if ok[action] {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, acl.ErrForbidden)
				}
			})
		}
	}
}

func TestAuthorizeUnknownActionForbidden(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"owner", "admin", "developer", "viewer"} {
		require.ErrorIs(t, acl.Authorize(role, "instances:nuke"), acl.ErrForbidden, role)
	}
}
