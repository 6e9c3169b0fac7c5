package reconciler_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/reconciler"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/controlplane/secrets"
	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// TestLoopRepairsAccessKeyDrift: a node that loses an access key, or holds
// it with another enabled flag, gets the database's version put again.
func TestLoopRepairsAccessKeyDrift(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t, nodetest.WithAuth())
		insertInstances(t, db, 1)
		require.NoError(t, db.Exec("UPDATE instances SET status = 'RUNNING', observed_generation = 1, admin_addr = ?, admin_token = ? WHERE id = 'i0'", n.AdminAddr(), nodetest.Token).Error)
		p := newFake(t)
		p.obs["i0"] = provision.Observed{Phase: provision.PhaseRunning, Generation: 1, Endpoint: n.GRPCAddr(), AdminAddr: n.AdminAddr()}

		box, err := secrets.New(bytes.Repeat([]byte{3}, secrets.KeySize))
		require.NoError(t, err)
		keys := resources.NewAccessKeyService(resources.NewAccessKeyStore(db), instances.NewStore(db), resources.AccessKeyConfig{Box: box}, nil)
		owner := iam.Principal{AccountID: "acc", UserID: "u", Role: "owner"}
		perms := []acl.Permission{{ResourceType: acl.ResourceTopic, ResourceName: "*", Actions: []acl.Action{acl.ActionPub}, Decision: acl.Allow}}
		lost, err := keys.CreateAccessKey(t.Context(), owner, "i0", resources.AccessKeyInput{Permissions: perms})
		require.NoError(t, err)
		flipped, err := keys.CreateAccessKey(t.Context(), owner, "i0", resources.AccessKeyInput{Permissions: perms})
		require.NoError(t, err)

		// The node loses one key and has the other disabled behind our back.
		admin, err := resources.Connect(n.AdminAddr(), nodetest.Token)
		require.NoError(t, err)
		defer admin.Close()
		_, err = admin.DeleteAccessKey(t.Context(), &adminpb.DeleteAccessKeyRequest{AccessKey: lost.AccessKey})
		require.NoError(t, err)
		req := resources.AccessKeyRequest(flipped, "other-secret")
		req.Key.Enabled = false
		_, err = admin.PutAccessKey(t.Context(), req)
		require.NoError(t, err)

		ctx, cancel := context.WithCancel(context.Background())
		l := &reconciler.Loop{DB: db, Provisioner: p, Owner: "drift", Interval: 10 * time.Millisecond,
			Resources: resources.NewStore(db), AccessKeys: keys, DriftInterval: 10 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); require.NoError(t, <-done) }) }
		t.Cleanup(stop)

		onNode := func() map[string]bool {
			resp, err := admin.ListAccessKeys(t.Context(), &adminpb.ListAccessKeysRequest{})
			require.NoError(t, err)
			out := map[string]bool{}
			for _, k := range resp.GetKeys() {
				out[k.GetAccessKey()] = k.GetEnabled()
			}
			return out
		}
		require.Eventually(t, func() bool {
			m := onNode()
			en1, ok1 := m[lost.AccessKey]
			en2, ok2 := m[flipped.AccessKey]
			return ok1 && en1 && ok2 && en2
		}, 20*time.Second, 10*time.Millisecond)
		stop()
	})
}

func TestKeysToRepush(t *testing.T) {
	t.Parallel()
	db := []resources.AccessKey{{AccessKey: "A", Enabled: true}, {AccessKey: "B", Enabled: false}, {AccessKey: "C", Enabled: true}}
	tests := []struct {
		name string
		node []*adminpb.AccessKey
		want []string
	}{
		{name: "empty node", want: []string{"A", "B", "C"}},
		{name: "converged", node: []*adminpb.AccessKey{{AccessKey: "A", Enabled: true}, {AccessKey: "B"}, {AccessKey: "C", Enabled: true}}},
		{name: "lost and flipped", node: []*adminpb.AccessKey{{AccessKey: "A"}, {AccessKey: "B"}}, want: []string{"A", "C"}},
		{name: "extra keys on the node are left alone", node: []*adminpb.AccessKey{{AccessKey: "A", Enabled: true}, {AccessKey: "B"}, {AccessKey: "C", Enabled: true}, {AccessKey: "X"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, k := range resources.KeysToRepush(db, tc.node) {
				got = append(got, k.AccessKey)
			}
			require.Equal(t, tc.want, got)
		})
	}
}
