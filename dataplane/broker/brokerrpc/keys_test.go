package brokerrpc_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

const keyDate = "20260102T030405Z"

// keysServer serves a broker whose access keys are keys on ln.
func keysServer(t *testing.T, ln net.Listener, keys *acl.Store) *brokerrpc.Server {
	t.Helper()
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st, Log: testLog(t)})
	require.NoError(t, err)
	srv, err := brokerrpc.NewServer(brokerrpc.ServerConfig{Broker: b, Token: token, Keys: keys, Log: testLog(t)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
		require.NoError(t, st.Close())
	})
	return srv
}

func openKeys(t *testing.T) *acl.Store {
	t.Helper()
	keys, err := acl.Open(filepath.Join(t.TempDir(), "acl.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keys.Close() })
	return keys
}

func dialKeys(t *testing.T, endpoint, tok string) *brokerrpc.Client {
	t.Helper()
	c, err := brokerrpc.NewClient(brokerrpc.ClientConfig{Endpoint: endpoint, Token: tok, Log: testLog(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestListAccessKeys: the broker's keys cross with their secrets, every
// field intact; asking with the current revision answers unchanged and no
// keys; a change moves the revision; a wrong token is refused; a server
// without keys refuses the call.
func TestListAccessKeys(t *testing.T) {
	keys := openKeys(t)
	full := acl.AccessKey{
		AccessKey: "ak-full", SecretKey: "secret-full", Enabled: true,
		Permissions: []acl.Permission{
			{ResourceType: acl.ResourceTopic, ResourceName: "orders*", Actions: []acl.Action{acl.ActionPub, acl.ActionSub}, Decision: acl.Allow},
			{ResourceType: acl.ResourceGroup, ResourceName: "g", Actions: []acl.Action{acl.ActionSub}, Decision: acl.Deny},
		},
		SourceCIDRs: []string{"10.0.0.0/8", "127.0.0.1"},
	}
	off := acl.AccessKey{AccessKey: "ak-off", SecretKey: "secret-off"}
	require.NoError(t, keys.Put(full))
	require.NoError(t, keys.Put(off))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	keysServer(t, ln, keys)
	c := dialKeys(t, ln.Addr().String(), token)
	ctx := context.Background()

	got, err := c.ListAccessKeys(ctx, 0)
	require.NoError(t, err)
	require.False(t, got.Unchanged)
	require.Equal(t, keys.Revision(), got.Revision)
	require.Equal(t, []acl.AccessKey{full, off}, got.Keys, "every field, secrets included")

	same, err := c.ListAccessKeys(ctx, got.Revision)
	require.NoError(t, err)
	require.True(t, same.Unchanged)
	require.Equal(t, got.Revision, same.Revision)
	require.Empty(t, same.Keys)

	_, err = keys.Delete("ak-off")
	require.NoError(t, err)
	changed, err := c.ListAccessKeys(ctx, got.Revision)
	require.NoError(t, err)
	require.False(t, changed.Unchanged)
	require.NotEqual(t, got.Revision, changed.Revision)
	require.Equal(t, []acl.AccessKey{full}, changed.Keys)

	_, err = dialKeys(t, ln.Addr().String(), "wrong-token").ListAccessKeys(ctx, 0)
	require.Error(t, err)
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	keysServer(t, ln2, nil)
	_, err = dialKeys(t, ln2.Addr().String(), token).ListAccessKeys(ctx, 0)
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
}

// countingSource counts the polls of SyncAccessKeys and their failures.
type countingSource struct {
	c             *brokerrpc.Client
	polls, failed atomic.Int64
}

func (s *countingSource) ListAccessKeys(ctx context.Context, known uint64) (brokerrpc.AccessKeys, error) {
	ks, err := s.c.ListAccessKeys(ctx, known)
	s.polls.Add(1)
	if err != nil {
		s.failed.Add(1)
	}
	return ks, err
}

// TestSyncAccessKeysBrokerDownAtStart: the sync starts while nobody listens
// at the broker's address. Its polls fail and signed requests are refused
// as unknown keys; once the broker serves, the copy fills and they pass. A
// key deleted on the broker then stops working on the copy, and while the
// broker is away again the copy keeps verifying with what it last got.
func TestSyncAccessKeysBrokerDownAtStart(t *testing.T) {
	dir, err := os.MkdirTemp("", "keysync") // short: a unix socket path is limited
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "broker.sock")
	src := &countingSource{c: dialKeys(t, "unix://"+sock, token)}
	local := acl.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- brokerrpc.SyncAccessKeys(ctx, brokerrpc.KeySyncConfig{Source: src, Keys: local, Interval: 20 * time.Millisecond, Log: testLog(t)})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	verify := func(ak, sk string) error {
		_, err := local.Verify(acl.Authorization(ak, sk, keyDate), keyDate)
		return err
	}

	require.Eventually(t, func() bool { return src.failed.Load() >= 3 }, 30*time.Second, 10*time.Millisecond, "polls fail while the broker is down")
	require.ErrorIs(t, verify("ak1", "sk1"), acl.ErrUnauthenticated, "refused before the first sync")

	keys := openKeys(t)
	require.NoError(t, keys.Put(acl.AccessKey{AccessKey: "ak1", SecretKey: "sk1", Enabled: true}))
	require.NoError(t, keys.Put(acl.AccessKey{AccessKey: "ak2", SecretKey: "sk2", Enabled: true}))
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := keysServer(t, ln, keys)
	require.Eventually(t, func() bool { return verify("ak1", "sk1") == nil }, 30*time.Second, 10*time.Millisecond, "accepted once the broker answers")
	require.ErrorIs(t, verify("ak1", "wrong"), acl.ErrUnauthenticated)

	_, err = keys.Delete("ak1")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return verify("ak1", "sk1") != nil }, 30*time.Second, 10*time.Millisecond, "a deleted key stops working")
	require.NoError(t, verify("ak2", "sk2"))

	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	srv.Stop(stopCtx)
	failed := src.failed.Load()
	require.Eventually(t, func() bool { return src.failed.Load() >= failed+3 }, 30*time.Second, 10*time.Millisecond, "polls fail again")
	require.NoError(t, verify("ak2", "sk2"), "the last copy keeps verifying while the broker is away")
}
