package acl_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/acl"
)

const dt = "20240102T030405Z"

func TestSignKnownVector(t *testing.T) {
	// RFC 2202 test case 2 for HMAC-SHA1, in the spec's terms: secret "Jefe",
	// x-mq-date-time "what do ya want for nothing?".
	require.Equal(t, "EFFCDF6AE5EB2FA2D27416D5F184DF9C259A7C79", acl.Sign("Jefe", "what do ya want for nothing?"))
}

func TestParseAndVerify(t *testing.T) {
	st, err := acl.Open(filepath.Join(t.TempDir(), "meta", "acl.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "ak", SecretKey: "sk", Enabled: true}))
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "off", SecretKey: "sk"}))
	sig := acl.Sign("sk", dt)
	tests := []struct {
		name, header, dateTime, wantErr string
	}{
		{"java/node form, upper hex", "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=" + sig, dt, ""},
		{"go form, lower hex", "MQv2-HMAC-SHA1 Credential=ak//Rocketmq, SignedHeaders=x-mq-date-time, Signature=" + strings.ToLower(sig), dt, ""},
		{"spec vector", "MQv2-HMAC-SHA1 Credential=jefe, SignedHeaders=x-mq-date-time, Signature=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "what do ya want for nothing?", ""},
		{"missing header", "", dt, "request is not signed"},
		{"missing date", acl.Authorization("ak", "sk", dt), "", "x-mq-date-time"},
		{"other algorithm", "HMAC-SHA256 Credential=ak, Signature=" + sig, dt, "algorithm"},
		{"no access key", "MQv2-HMAC-SHA1 Credential=/x, SignedHeaders=x-mq-date-time, Signature=" + sig, dt, "no access key"},
		{"no signature", "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time", dt, "no Signature"},
		{"not hex", "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=zz", dt, "not hex"},
		{"wrong secret", acl.Authorization("ak", "nope", dt), dt, "signature mismatch"},
		{"other date", acl.Authorization("ak", "sk", dt), dt + "1", "signature mismatch"},
		{"unknown key", acl.Authorization("who", "sk", dt), dt, "unknown access key who"},
		{"disabled key", acl.Authorization("off", "sk", dt), dt, "access key disabled"},
	}
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "jefe", SecretKey: "Jefe", Enabled: true}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Verify(tc.header, tc.dateTime)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, acl.ErrUnauthenticated)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestAuthorize(t *testing.T) {
	allow := func(typ acl.ResourceType, name string, a ...acl.Action) acl.Permission {
		return acl.Permission{ResourceType: typ, ResourceName: name, Actions: a, Decision: acl.Allow}
	}
	deny := func(typ acl.ResourceType, name string, a ...acl.Action) acl.Permission {
		p := allow(typ, name, a...)
		p.Decision = acl.Deny
		return p
	}
	k := acl.AccessKey{AccessKey: "ak", SecretKey: "sk", Enabled: true, Permissions: []acl.Permission{
		allow(acl.ResourceTopic, "orders-*", acl.ActionPub, acl.ActionSub),
		deny(acl.ResourceTopic, "orders-secret", acl.ActionPub),
		allow(acl.ResourceTopic, "exact", acl.ActionSub),
		allow(acl.ResourceGroup, "*", acl.ActionSub),
	}, SourceCIDRs: []string{"10.0.0.0/8", "192.168.1.7"}}
	require.NoError(t, k.Validate())
	in, out := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("11.0.0.1")
	tests := []struct {
		name   string
		typ    acl.ResourceType
		res    string
		action acl.Action
		src    netip.Addr
		want   error
	}{
		{"prefix allow", acl.ResourceTopic, "orders-eu", acl.ActionPub, in, nil},
		{"prefix itself", acl.ResourceTopic, "orders-", acl.ActionPub, in, nil},
		{"prefix mismatch", acl.ResourceTopic, "order", acl.ActionPub, in, acl.ErrForbidden},
		{"deny beats allow", acl.ResourceTopic, "orders-secret", acl.ActionPub, in, acl.ErrForbidden},
		{"deny is per action", acl.ResourceTopic, "orders-secret", acl.ActionSub, in, nil},
		{"exact", acl.ResourceTopic, "exact", acl.ActionSub, in, nil},
		{"exact, other action", acl.ResourceTopic, "exact", acl.ActionPub, in, acl.ErrForbidden},
		{"exact is not a prefix", acl.ResourceTopic, "exact2", acl.ActionSub, in, acl.ErrForbidden},
		{"group wildcard", acl.ResourceGroup, "g", acl.ActionSub, in, nil},
		{"type matters", acl.ResourceGroup, "orders-eu", acl.ActionPub, in, acl.ErrForbidden},
		{"single address", acl.ResourceGroup, "g", acl.ActionSub, netip.MustParseAddr("192.168.1.7"), nil},
		{"mapped v4", acl.ResourceGroup, "g", acl.ActionSub, netip.MustParseAddr("::ffff:10.0.0.1"), nil},
		{"outside cidrs", acl.ResourceGroup, "g", acl.ActionSub, out, acl.ErrForbidden},
		{"unknown source", acl.ResourceGroup, "g", acl.ActionSub, netip.Addr{}, acl.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := acl.Authorize(k, tc.typ, tc.res, tc.action, tc.src)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.True(t, errors.Is(err, tc.want), "%v", err)
			}
		})
	}
	k.Enabled = false
	require.ErrorIs(t, acl.Authorize(k, acl.ResourceGroup, "g", acl.ActionSub, in), acl.ErrUnauthenticated)
	require.NoError(t, acl.Authorize(acl.AccessKey{Enabled: true, Permissions: k.Permissions}, acl.ResourceGroup, "g", acl.ActionSub, out), "no cidrs: any source")
}

func TestStorePersistsAndValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acl.db")
	st, err := acl.Open(path)
	require.NoError(t, err)
	require.ErrorIs(t, st.Put(acl.AccessKey{AccessKey: "a b", SecretKey: ""}), acl.ErrInvalid)
	require.ErrorIs(t, st.Put(acl.AccessKey{AccessKey: "a", SecretKey: "s", SourceCIDRs: []string{"nope"}}), acl.ErrInvalid)
	require.ErrorIs(t, st.Put(acl.AccessKey{AccessKey: "a", SecretKey: "s", Permissions: []acl.Permission{{ResourceType: "X", ResourceName: "a*b", Decision: "MAYBE"}}}), acl.ErrInvalid)
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "b", SecretKey: "s", Enabled: true}))
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "a", SecretKey: "s", Enabled: true}))
	ok, err := st.Delete("b")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = st.Delete("b")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, st.Close())
	st, err = acl.Open(path)
	require.NoError(t, err)
	defer st.Close()
	keys := st.List()
	require.Len(t, keys, 1)
	require.Equal(t, "a", keys[0].AccessKey)
}

// TestRevisionAndReplace: every change moves the revision (never to 0) and
// a reopened file starts at another one; Replace swaps the whole set at once
// and persists it, and an invalid key leaves everything as it was.
func TestRevisionAndReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acl.db")
	st, err := acl.Open(path)
	require.NoError(t, err)
	r0 := st.Revision()
	require.NotZero(t, r0)
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "a", SecretKey: "sa", Enabled: true}))
	r1 := st.Revision()
	require.NotEqual(t, r0, r1)
	_, err = st.Delete("nobody")
	require.NoError(t, err)
	require.Equal(t, r1, st.Revision(), "deleting nothing changes nothing")

	require.NoError(t, st.Replace([]acl.AccessKey{{AccessKey: "b", SecretKey: "sb", Enabled: true}}))
	r2 := st.Revision()
	require.NotEqual(t, r1, r2)
	keys, rev := st.Snapshot()
	require.Equal(t, r2, rev)
	require.Equal(t, []string{"b"}, names(keys))
	_, err = st.Verify(acl.Authorization("a", "sa", dt), dt)
	require.ErrorIs(t, err, acl.ErrUnauthenticated, "a replaced-away key stops working")

	err = st.Replace([]acl.AccessKey{{AccessKey: "c", SecretKey: "sc"}, {AccessKey: "bad key", SecretKey: "x"}})
	require.ErrorIs(t, err, acl.ErrInvalid)
	require.Equal(t, r2, st.Revision())
	require.Equal(t, []string{"b"}, names(st.List()))

	require.NoError(t, st.Close())
	st, err = acl.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.Equal(t, []string{"b"}, names(st.List()), "Replace persists")
	require.NotEqual(t, r2, st.Revision(), "a reopened store starts at another revision")
}

// TestMemoryStore: NewMemory starts empty, refusing every signed request as
// an unknown key, and verifies once keys are replaced in.
func TestMemoryStore(t *testing.T) {
	st := acl.NewMemory()
	require.NotZero(t, st.Revision())
	_, err := st.Verify(acl.Authorization("ak", "sk", dt), dt)
	require.ErrorIs(t, err, acl.ErrUnauthenticated)
	require.ErrorContains(t, err, "unknown access key")
	require.NoError(t, st.Replace([]acl.AccessKey{{AccessKey: "ak", SecretKey: "sk", Enabled: true}}))
	k, err := st.Verify(acl.Authorization("ak", "sk", dt), dt)
	require.NoError(t, err)
	require.Equal(t, "ak", k.AccessKey)
	require.NoError(t, st.Put(acl.AccessKey{AccessKey: "ak2", SecretKey: "sk2"}))
	deleted, err := st.Delete("ak")
	require.NoError(t, err)
	require.True(t, deleted)
	require.Equal(t, []string{"ak2"}, names(st.List()))
	require.NoError(t, st.Close())
}

func names(keys []acl.AccessKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.AccessKey
	}
	return out
}
