package node_test

// Access keys on split roles: a proxy-role node that requires signed
// requests verifies them with its broker node's keys, which it copies over
// the broker rpc service (brokerrpc.SyncAccessKeys) and refreshes every
// couple of seconds.

import (
	"context"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// rawClient is a RocketMQ client without an SDK: each call carries exactly
// the headers given (signed: with the key's signature, else none).
type rawClient struct {
	t  *testing.T
	ms v2.MessagingServiceClient
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, ms: v2.NewMessagingServiceClient(conn)}
}

// heartbeat answers the status code of a Heartbeat signed with ak/sk, or
// unsigned when ak is empty.
func (c *rawClient) heartbeat(ak, sk string) v2.Code {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv := []string{"x-mq-client-id", "raw-client", "x-mq-language", "GO", "x-mq-client-version", "5.1.4"}
	if ak != "" {
		dt := time.Now().UTC().Format("20060102T150405Z")
		kv = append(kv, "x-mq-date-time", dt, "authorization", acl.Authorization(ak, sk, dt))
	}
	resp, err := c.ms.Heartbeat(metadata.AppendToOutgoingContext(ctx, kv...), &v2.HeartbeatRequest{})
	require.NoError(c.t, err)
	return resp.GetStatus().GetCode()
}

// TestProxyRoleChecksBrokerKeys: with a broker-role node and a proxy-role
// node that requires signed requests, a key put on the broker through its
// admin service works through the proxy (the official client sends and
// receives with it; a raw heartbeat passes), a wrong secret and an unsigned
// request are refused UNAUTHORIZED (40100), and a key deleted or disabled
// on the broker is refused by the proxy within seconds.
func TestProxyRoleChecksBrokerKeys(t *testing.T) {
	bn := startRole(t, roleConfig(t, node.RoleBroker))
	ctx := context.Background()
	_, err := bn.Broker().CreateTopic(ctx, broker.Topic{Name: akTopic, Type: broker.TopicNormal, Queues: 2})
	require.NoError(t, err)
	_, err = bn.Broker().CreateGroup(ctx, broker.Group{Name: akGroup})
	require.NoError(t, err)
	admin, err := adminclient.New(adminclient.Config{Addr: bn.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-split", SecretKey: "split-secret", Enabled: true, Permissions: fullPerms()})
	disabled := &adminpb.AccessKey{AccessKey: "ak-split-2", SecretKey: "split-secret-2", Enabled: true, Permissions: fullPerms()}
	putKey(t, admin, disabled)

	pcfg := roleConfig(t, node.RoleProxy)
	pcfg.DataDir = ""
	pcfg.BrokerEndpoint = bn.BrokerAddr()
	pcfg.AllowAnonymous = false
	pn := startRole(t, pcfg)
	raw := dialRaw(t, pn.GRPCAddr())

	// The first sync may take a moment (the proxy connects lazily).
	require.Eventually(t, func() bool { return raw.heartbeat("ak-split", "split-secret") == v2.Code_OK },
		30*time.Second, 20*time.Millisecond, "the broker's key works through the proxy")
	require.Equal(t, v2.Code_UNAUTHORIZED, raw.heartbeat("ak-split", "wrong-secret"), "wrong secret")
	require.Equal(t, v2.Code_UNAUTHORIZED, raw.heartbeat("", ""), "unsigned request")
	require.Equal(t, v2.Code_UNAUTHORIZED, raw.heartbeat("ak-nobody", "split-secret"), "unknown key")

	// The official client through the proxy: the good key sends and
	// receives (PUB and SUB checked against the broker's permissions), a
	// wrong secret is refused at the producer's start.
	cases := []akCase{
		{Name: "good", AccessKey: "ak-split", Secret: "split-secret", Receive: true},
		{Name: "wrong-secret", AccessKey: "ak-split", Secret: "not-the-secret"},
	}
	for i := range cases {
		cases[i].Endpoint, cases[i].Topic, cases[i].Group = pn.GRPCAddr(), akTopic, akGroup
	}
	c := startAK(t, "access-keys", cases)
	var good, wrong akResult
	c.Expect("case:good", &good, time.Minute)
	c.Expect("case:wrong-secret", &wrong, time.Minute)
	c.Kill()
	t.Logf("good: id=%q err=%q received=%v recvErr=%q; wrong secret: code=%d err=%q",
		good.ID, good.SendErr, good.Received, good.RecvErr, wrong.SendCode, wrong.SendErr)
	require.Empty(t, good.SendErr, "the good key sends through the proxy")
	require.NotEmpty(t, good.ID)
	require.Empty(t, good.RecvErr)
	require.True(t, good.Received, "the good key receives through the proxy")
	require.NotEmpty(t, wrong.SendErr, "a wrong secret is refused")
	require.True(t, wrong.StartFailed, "refused by the producer's start: %q", wrong.SendErr)
	require.Equal(t, int32(codeUnauthorized), wrong.SendCode, "status code of %q", wrong.SendErr)

	// Deleted and disabled on the broker: refused by the proxy within
	// seconds (it polls every 2 s).
	_, err = admin.DeleteAccessKey(ctx, &adminpb.DeleteAccessKeyRequest{AccessKey: "ak-split"})
	require.NoError(t, err)
	disabled.Enabled = false
	putKey(t, admin, disabled)
	require.Eventually(t, func() bool { return raw.heartbeat("ak-split", "split-secret") == v2.Code_UNAUTHORIZED },
		30*time.Second, 20*time.Millisecond, "a key deleted on the broker is refused by the proxy")
	require.Eventually(t, func() bool { return raw.heartbeat("ak-split-2", "split-secret-2") == v2.Code_UNAUTHORIZED },
		30*time.Second, 20*time.Millisecond, "a key disabled on the broker is refused by the proxy")
}

// TestProxyRoleAuthBrokerDown: a proxy-role node requiring signed requests
// starts although its broker node cannot be reached, and refuses signed
// requests (it has no keys yet) rather than letting them through.
func TestProxyRoleAuthBrokerDown(t *testing.T) {
	cfg := roleConfig(t, node.RoleProxy)
	cfg.DataDir = ""
	cfg.AllowAnonymous = false
	cfg.BrokerEndpoint = "127.0.0.1:1" // nobody there
	n := startRole(t, cfg)
	raw := dialRaw(t, n.GRPCAddr())
	require.Equal(t, v2.Code_UNAUTHORIZED, raw.heartbeat("ak-any", "any-secret"))
	require.Equal(t, v2.Code_UNAUTHORIZED, raw.heartbeat("", ""))
	require.NoError(t, n.Stop(context.Background()))
}
