package resources_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/controlplane/secrets"
	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// recordingNode is a node that holds no keys and records the secrets put on
// it; only the calls the access-key service makes are implemented.
type recordingNode struct {
	adminpb.AdminClient
	mu   sync.Mutex
	puts map[string]string // access key → secret key
}

func (n *recordingNode) PutAccessKey(_ context.Context, in *adminpb.PutAccessKeyRequest, _ ...grpc.CallOption) (*adminpb.AccessKey, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.puts[in.GetKey().GetAccessKey()] = in.GetKey().GetSecretKey()
	return in.GetKey(), nil
}

func (n *recordingNode) ListAccessKeys(context.Context, *adminpb.ListAccessKeysRequest, ...grpc.CallOption) (*adminpb.ListAccessKeysResponse, error) {
	return &adminpb.ListAccessKeysResponse{}, nil
}

func (n *recordingNode) Close() error { return nil }

func (n *recordingNode) take() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.puts
	n.puts = map[string]string{}
	return out
}

// TestMasterKeyRotation: access keys created under master key A, plus one
// secret in the format written before key rotation, still reach the node
// with their secrets after rotating to B with A kept as an old key;
// ReencryptSecrets reseals them all under B, in batches and idempotently;
// then A can be dropped. A Box without B cannot open them and says why.
func TestMasterKeyRotation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		insertInstance(t, db, "i1")
		require.NoError(t, db.Exec("UPDATE instances SET admin_addr = 'node:1' WHERE id = 'i1'").Error)
		a, b := bytes.Repeat([]byte{0xA}, secrets.KeySize), bytes.Repeat([]byte{0xB}, secrets.KeySize)
		node := &recordingNode{puts: map[string]string{}}
		service := func(primary []byte, old ...[]byte) *resources.AccessKeyService {
			box, err := secrets.New(primary, old...)
			require.NoError(t, err)
			return resources.NewAccessKeyService(resources.NewAccessKeyStore(db), instances.NewStore(db),
				resources.AccessKeyConfig{Box: box, Connect: func(string, string) (resources.Node, error) { return node, nil }}, nil)
		}
		owner := iam.Principal{AccountID: "acc-i1", UserID: "u", Role: "owner"}
		perms := []acl.Permission{{ResourceType: acl.ResourceTopic, ResourceName: "*", Actions: []acl.Action{acl.ActionPub}, Decision: acl.Allow}}

		want := map[string]string{"AKLEGACY": "legacy-secret"}
		insertLegacyKey(t, db, a, "i1", "AKLEGACY", "legacy-secret")
		underA := service(a)
		for range 3 {
			k, err := underA.CreateAccessKey(ctx, owner, "i1", resources.AccessKeyInput{Permissions: perms})
			require.NoError(t, err)
			want[k.AccessKey] = k.SecretKey
		}
		repair := func(s *resources.AccessKeyService) map[string]string {
			node.take()
			_, err := s.RepairAccessKeys(ctx, node, "i1")
			require.NoError(t, err)
			return node.take()
		}
		require.Equal(t, want, repair(underA))

		// Rotate: B seals, A still opens.
		rotated := service(b, a)
		require.Equal(t, want, repair(rotated))
		k, err := rotated.CreateAccessKey(ctx, owner, "i1", resources.AccessKeyInput{Permissions: perms})
		require.NoError(t, err)
		want[k.AccessKey] = k.SecretKey
		stale, err := rotated.StaleSecrets(ctx)
		require.NoError(t, err)
		require.Equal(t, 4, stale)

		var seen []int
		res, err := rotated.ReencryptSecrets(ctx, 2, func(r resources.ReencryptResult) { seen = append(seen, r.Checked) })
		require.NoError(t, err)
		require.Equal(t, []int{2, 4, 5}, seen)
		require.Equal(t, resources.ReencryptResult{Total: 5, Checked: 5, Resealed: 4}, res)
		stale, err = rotated.StaleSecrets(ctx)
		require.NoError(t, err)
		require.Zero(t, stale)
		// Running it again changes nothing.
		res, err = rotated.ReencryptSecrets(ctx, 2, nil)
		require.NoError(t, err)
		require.Equal(t, resources.ReencryptResult{Total: 5, Checked: 5}, res)

		// A dropped: everything still opens.
		require.Equal(t, want, repair(service(b)))

		// Only A: nothing opens, and the error names the problem, not a key.
		node.take()
		_, err = service(a).RepairAccessKeys(ctx, node, "i1")
		require.ErrorIs(t, err, resources.ErrSecretUnreadable)
		require.ErrorIs(t, err, secrets.ErrDecrypt)
		require.ErrorContains(t, err, "sealed under master key id "+secrets.KeyID(b)+", which is not configured")
		require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(b))
		require.Empty(t, node.take())
		res, err = service(a).ReencryptSecrets(ctx, 0, nil)
		require.NoError(t, err)
		require.Len(t, res.Unreadable, 5)
		require.Zero(t, res.Resealed)
	})
}

// insertLegacyKey stores an access key the way the code before key
// rotation did: the bare 12-byte GCM nonce, additional data "instance/ak".
func insertLegacyKey(t *testing.T, db *gorm.DB, key []byte, instanceID, ak, secret string) {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := make([]byte, aead.NonceSize())
	_, err = rand.Read(nonce)
	require.NoError(t, err)
	ct := aead.Seal(nil, nonce, []byte(secret), []byte(instanceID+"/"+ak))
	now := time.Now().UTC()
	require.NoError(t, db.Exec(`INSERT INTO access_keys (instance_id, access_key, secret_ciphertext, nonce, enabled, permissions, source_ips, remark, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, '[]', '[]', '', ?, ?)`, instanceID, ak, ct, nonce, true, now, now).Error)
}
