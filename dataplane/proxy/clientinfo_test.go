package proxy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

// TestClientsRecordsRequests: the interceptors record, per client id, the
// address its requests come from, the SDK headers and, on a node that
// checks signatures, the access key of the requests that passed; a refused
// request does not name its key.
func TestClientsRecordsRequests(t *testing.T) {
	t.Parallel()
	keys, err := acl.Open(filepath.Join(t.TempDir(), "acl.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = keys.Close() })
	require.NoError(t, keys.Put(acl.AccessKey{AccessKey: "ak-good", SecretKey: "sk-good", Enabled: true}))
	addr, srv := startProxy(t, newBroker(t), func(c *proxy.Config) { c.Authenticator = proxy.ACLAuthenticator{Keys: keys} })
	client := dial(t, addr, false)

	signed := func(ctx context.Context, id, ak, sk string) context.Context {
		dt := time.Now().UTC().Format("20060102T150405Z")
		return metadataCtx(ctx, "x-mq-client-id", id, "x-mq-language", "GO", "x-mq-client-version", "5.1.4",
			"x-mq-date-time", dt, "authorization", acl.Authorization(ak, sk, dt))
	}
	ctx := testContext(t, 10*time.Second)
	resp, err := client.Heartbeat(signed(ctx, "good", "ak-good", "sk-good"), &v2.HeartbeatRequest{})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
	resp, err = client.Heartbeat(signed(ctx, "bad", "ak-good", "wrong-secret"), &v2.HeartbeatRequest{})
	require.NoError(t, err)
	require.Equal(t, v2.Code_UNAUTHORIZED, resp.GetStatus().GetCode())

	clients := srv.Clients()
	require.Len(t, clients, 2)
	bad, good := clients[0], clients[1]
	require.Equal(t, "good", good.ID)
	require.Equal(t, "ak-good", good.AccessKey)
	require.Equal(t, "GO", good.Language)
	require.Equal(t, "5.1.4", good.Version)
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, good.Address)
	require.False(t, good.FirstSeen.IsZero())
	require.Equal(t, "bad", bad.ID)
	require.Empty(t, bad.AccessKey, "an unverified key is not recorded")

	// NotifyClientTermination forgets the client.
	_, err = client.NotifyClientTermination(signed(ctx, "good", "ak-good", "sk-good"), &v2.NotifyClientTerminationRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{"bad"}, ids(srv.Clients()))
}

func ids(cs []proxy.ClientInfo) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
