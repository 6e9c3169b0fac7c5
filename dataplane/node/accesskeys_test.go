package node_test

// Access keys with real nodes that require signed requests
// (nodetest.WithAuth), keys put through the admin service and the official
// Go client v5.1.4 in a child process (accesskeys_client_test.go) signing
// with rmq.Config.Credentials: which keys may send and receive, and the
// status codes the client sees for the others.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/internal/clientproc"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// RocketMQ status codes of refusals.
const (
	codeUnauthorized = 40100
	codeForbidden    = 40300
)

const (
	akTopic = "ak-topic"
	akGroup = "ak-group"
)

// akNode starts a node that requires signed requests, with akTopic and
// akGroup, and an admin client of it.
func akNode(t *testing.T) (*node.Node, *adminclient.Client) {
	t.Helper()
	n := nodetest.Start(t, nodetest.WithAuth())
	nodetest.CreateTopic(t, n, akTopic, broker.TopicNormal, 2)
	_, err := n.Broker().CreateGroup(context.Background(), broker.Group{Name: akGroup})
	require.NoError(t, err)
	admin, err := adminclient.New(adminclient.Config{Addr: n.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	return n, admin
}

func perm(typ adminpb.ResourceType, name string, d adminpb.Decision, actions ...adminpb.Action) *adminpb.Permission {
	return &adminpb.Permission{ResourceType: typ, ResourceName: name, Actions: actions, Decision: d}
}

const (
	topicRes = adminpb.ResourceType_RESOURCE_TYPE_TOPIC
	groupRes = adminpb.ResourceType_RESOURCE_TYPE_GROUP
	allow    = adminpb.Decision_DECISION_ALLOW
	deny     = adminpb.Decision_DECISION_DENY
	pub      = adminpb.Action_ACTION_PUB
	sub      = adminpb.Action_ACTION_SUB
)

// fullPerms: PUB and SUB on akTopic, SUB with akGroup.
func fullPerms() []*adminpb.Permission {
	return []*adminpb.Permission{
		perm(topicRes, akTopic, allow, pub, sub),
		perm(groupRes, akGroup, allow, sub),
	}
}

func putKey(t *testing.T, admin *adminclient.Client, k *adminpb.AccessKey) {
	t.Helper()
	_, err := admin.PutAccessKey(context.Background(), &adminpb.PutAccessKeyRequest{Key: k})
	require.NoError(t, err, "put access key %s", k.GetAccessKey())
}

// startAK runs scenario with cases in a child process.
func startAK(t *testing.T, scenario string, cases []akCase) *clientproc.Proc {
	t.Helper()
	b, err := json.Marshal(akParams{Cases: cases})
	require.NoError(t, err)
	return clientproc.Start(t, scenario, mtParams{Key: string(b)})
}

// TestAccessKeys: on a node requiring signed requests, one child process
// runs each case in turn: a producer of akTopic signing with the case's key
// starts and sends one message and, for the good key, a simple consumer of
// akGroup with the same key receives and acks it. A key with PUB on the
// topic and SUB on group and topic sends and receives; a wrong secret, an
// unknown key and a disabled key are refused UNAUTHORIZED (40100) already
// by the producer's start (its route query: the client cannot get to a
// send); a key without PUB on the topic and one whose DENY on the topic
// beats its ALLOW "*" start and have their send refused FORBIDDEN (40300);
// a key only allowed from 10.0.0.0/8 (the client is on 127.0.0.1) is
// refused FORBIDDEN at the start.
func TestAccessKeys(t *testing.T) {
	t.Parallel()
	n, admin := akNode(t)
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-good", SecretKey: "good-secret", Enabled: true, Permissions: fullPerms()})
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-disabled", SecretKey: "disabled-secret", Enabled: false, Permissions: fullPerms()})
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-sub-only", SecretKey: "sub-secret", Enabled: true, Permissions: []*adminpb.Permission{
		perm(topicRes, akTopic, allow, sub),
		perm(topicRes, "other-topic", allow, pub),
		perm(groupRes, akGroup, allow, sub),
	}})
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-denied", SecretKey: "denied-secret", Enabled: true, Permissions: []*adminpb.Permission{
		perm(topicRes, "*", allow, pub, sub),
		perm(groupRes, "*", allow, sub),
		perm(topicRes, akTopic, deny, pub),
	}})
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-elsewhere", SecretKey: "elsewhere-secret", Enabled: true,
		Permissions: fullPerms(), SourceCidrs: []string{"10.0.0.0/8"}})

	// atStart: the refusal comes at the producer's start, whose route query
	// (any call) needs a valid, enabled key used from an allowed address;
	// otherwise the producer starts and SendMessage is refused.
	type want struct {
		code    int32
		atStart bool
		text    string // in the refusal's message
	}
	cases := []struct {
		c    akCase
		want want
	}{
		{akCase{Name: "good", AccessKey: "ak-good", Secret: "good-secret", Receive: true}, want{}},
		{akCase{Name: "wrong-secret", AccessKey: "ak-good", Secret: "not-the-secret"}, want{codeUnauthorized, true, ""}},
		{akCase{Name: "unknown-key", AccessKey: "ak-nobody", Secret: "good-secret"}, want{codeUnauthorized, true, ""}},
		{akCase{Name: "disabled", AccessKey: "ak-disabled", Secret: "disabled-secret"}, want{codeUnauthorized, true, ""}},
		{akCase{Name: "no-pub", AccessKey: "ak-sub-only", Secret: "sub-secret"}, want{codeForbidden, false, akTopic}},
		{akCase{Name: "deny-beats-allow", AccessKey: "ak-denied", Secret: "denied-secret"}, want{codeForbidden, false, akTopic}},
		{akCase{Name: "source-cidr", AccessKey: "ak-elsewhere", Secret: "elsewhere-secret"}, want{codeForbidden, true, ""}},
	}
	var list []akCase
	for _, tc := range cases {
		tc.c.Endpoint, tc.c.Topic, tc.c.Group = n.GRPCAddr(), akTopic, akGroup
		list = append(list, tc.c)
	}
	c := startAK(t, "access-keys", list)
	for _, tc := range cases {
		var res akResult
		c.Expect("case:"+tc.c.Name, &res, time.Minute)
		t.Logf("%s: startFailed=%v code=%d err=%q id=%q; received=%v recvErr=%q",
			tc.c.Name, res.StartFailed, res.SendCode, res.SendErr, res.ID, res.Received, res.RecvErr)
		if tc.want.code == 0 {
			require.Empty(t, res.SendErr, "%s: the producer starts and sends", tc.c.Name)
			require.NotEmpty(t, res.ID, tc.c.Name)
			require.Empty(t, res.RecvErr, "%s: the receive succeeds", tc.c.Name)
			require.True(t, res.Received, "%s: the message is received", tc.c.Name)
			continue
		}
		require.NotEmpty(t, res.SendErr, "%s: refused", tc.c.Name)
		require.Equal(t, tc.want.atStart, res.StartFailed, "%s: refused at the producer's start (else at the send): %q", tc.c.Name, res.SendErr)
		require.Equal(t, tc.want.code, res.SendCode, "%s: status code of %q", tc.c.Name, res.SendErr)
		require.Contains(t, res.SendErr, tc.want.text, tc.c.Name)
	}
	c.Kill()
	clientproc.RequireConsumed(t, n.Broker(), akGroup, akTopic)
	// Only the good key's message was stored.
	offs, err := n.Broker().Offsets(akGroup, akTopic)
	require.NoError(t, err)
	var stored int64
	for _, o := range offs {
		stored += o.MaxOffset
	}
	require.Equal(t, int64(1), stored, "refused sends store nothing: %+v", offs)
}

// TestAccessKeysRevokedWhileRunning: two producers, each with a key of its
// own, send once successfully; then one key is disabled (Put with
// enabled=false) and the other deleted through the admin service, and the
// very next send of each running producer is refused UNAUTHORIZED (40100),
// well within seconds.
func TestAccessKeysRevokedWhileRunning(t *testing.T) {
	t.Parallel()
	n, admin := akNode(t)
	disabled := &adminpb.AccessKey{AccessKey: "ak-to-disable", SecretKey: "s1", Enabled: true, Permissions: fullPerms()}
	putKey(t, admin, disabled)
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-to-delete", SecretKey: "s2", Enabled: true, Permissions: fullPerms()})
	cases := []akCase{
		{Name: "disable", AccessKey: "ak-to-disable", Secret: "s1"},
		{Name: "delete", AccessKey: "ak-to-delete", Secret: "s2"},
	}
	for i := range cases {
		cases[i].Endpoint, cases[i].Topic, cases[i].Group = n.GRPCAddr(), akTopic, akGroup
	}
	c := startAK(t, "access-keys-live", cases)
	for _, tc := range cases {
		var res akResult
		c.Expect("sent:"+tc.Name, &res, time.Minute)
		require.Empty(t, res.SendErr, "%s: the send before the change succeeds", tc.Name)
	}
	disabled.Enabled = false
	putKey(t, admin, disabled)
	_, err := admin.DeleteAccessKey(context.Background(), &adminpb.DeleteAccessKeyRequest{AccessKey: "ak-to-delete"})
	require.NoError(t, err)
	c.Say("changed")
	for _, tc := range cases {
		var res akLiveResult
		c.Expect("after:"+tc.Name, &res, time.Minute)
		t.Logf("%s: refused after %d send(s), %s: code=%d err=%q", tc.Name, res.Attempts, res.After, res.Code, res.Err)
		require.NotEmpty(t, res.Err, "%s: a send is refused within 5 s", tc.Name)
		require.Equal(t, int32(codeUnauthorized), res.Code, "%s: status code of %q", tc.Name, res.Err)
		require.Equal(t, 1, res.Attempts, "%s: the very next send is refused", tc.Name)
	}
	c.Kill()
	keys, err := admin.ListAccessKeys(context.Background(), &adminpb.ListAccessKeysRequest{})
	require.NoError(t, err)
	require.Len(t, keys.GetKeys(), 1)
	require.Equal(t, "ak-to-disable", keys.GetKeys()[0].GetAccessKey())
	require.False(t, keys.GetKeys()[0].GetEnabled())
}

// TestAccessKeysPerNode: a key put on node A sends to A, but node B, which
// never got it, refuses it UNAUTHORIZED (40100) at the producer's start.
func TestAccessKeysPerNode(t *testing.T) {
	t.Parallel()
	a, adminA := akNode(t)
	b, _ := akNode(t)
	putKey(t, adminA, &adminpb.AccessKey{AccessKey: "ak-of-a", SecretKey: "a-secret", Enabled: true, Permissions: fullPerms()})
	k := akCase{AccessKey: "ak-of-a", Secret: "a-secret", Topic: akTopic, Group: akGroup}
	onA, onB := k, k
	onA.Name, onA.Endpoint = "on-a", a.GRPCAddr()
	onB.Name, onB.Endpoint = "on-b", b.GRPCAddr()
	c := startAK(t, "access-keys", []akCase{onA, onB})
	var resA, resB akResult
	c.Expect("case:on-a", &resA, time.Minute)
	c.Expect("case:on-b", &resB, time.Minute)
	c.Kill()
	t.Logf("on A: id=%q err=%q; on B: code=%d err=%q", resA.ID, resA.SendErr, resB.SendCode, resB.SendErr)
	require.Empty(t, resA.SendErr, "the key works on its node")
	require.NotEmpty(t, resA.ID)
	require.NotEmpty(t, resB.SendErr, "the key does not work on another node")
	require.True(t, resB.StartFailed, "refused by the producer's start on B: %q", resB.SendErr)
	require.Equal(t, int32(codeUnauthorized), resB.SendCode, "status code of %q", resB.SendErr)
}
