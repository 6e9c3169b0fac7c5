package node_test

// The official RocketMQ Node.js client (npm rocketmq-client-nodejs, pinned
// in testdata/nodeclient/package.json) against a node that requires signed
// requests: testdata/nodeclient/client.mjs, run with node, produces and
// consumes with the credential form the Node client signs with
// ("MQv2-HMAC-SHA1 Credential=<AK>, SignedHeaders=x-mq-date-time,
// Signature=<UPPERCASE hex>", x-mq-language HTTP). `make node-client-deps`
// installs its node_modules (`make test-go` does it first).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

const nodeClientDir = "testdata/nodeclient"

// nodeResult is the line client.mjs prints.
type nodeResult struct {
	Sent, Received, AckErrors, BadMessages, Duplicates int
	Error                                              *struct {
		Code    int32
		Message string
	}
}

// nodeRun is one run of client.mjs.
type nodeRun struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr syncBuffer
	lines  chan string
	done   chan error
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec and
// the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// requireNode is the node executable; it fails the test (the suite needs
// the Node client, CI installs it) when node or the client's node_modules
// are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (Node.js) is not installed: run `make deps` (Debian: apt-get install nodejs npm): %v", err)
	}
	if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "rocketmq-client-nodejs", "package.json")); err != nil {
		t.Fatalf("the Node.js client is not installed in dataplane/node/%s: run `make node-client-deps` (or `make test-go`): %v", nodeClientDir, err)
	}
	return node
}

// startNodeClient runs client.mjs with args (hold: the clients stay
// connected after the result line until finish closes stdin); it is
// killed after 2 minutes or when the test ends.
func startNodeClient(t *testing.T, hold bool, args ...string) *nodeRun {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if hold {
		args = append(args, "--hold")
	}
	r := &nodeRun{lines: make(chan string, 4), done: make(chan error, 1)}
	r.cmd = exec.CommandContext(ctx, node, append([]string{"client.mjs"}, args...)...)
	r.cmd.Dir = nodeClientDir
	r.cmd.WaitDelay = 5 * time.Second
	r.cmd.Stderr = &r.stderr
	var err error
	r.stdin, err = r.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := r.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, r.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		r.done <- r.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = r.stdin.Close()
		if t.Failed() {
			t.Logf("client.mjs stderr:\n%s", r.log())
		}
	})
	return r
}

func (r *nodeRun) log() string { return r.stderr.String() }

// result waits for the result line.
func (r *nodeRun) result(t *testing.T) nodeResult {
	t.Helper()
	line, ok := <-r.lines
	require.True(t, ok, "client.mjs printed no result; stderr:\n%s", r.log())
	var res nodeResult
	require.NoError(t, json.Unmarshal([]byte(line), &res), "result line %q", line)
	t.Logf("client.mjs: %s", line)
	return res
}

// finish closes stdin and requires a clean exit.
func (r *nodeRun) finish(t *testing.T) {
	t.Helper()
	_ = r.stdin.Close()
	for range r.lines {
	}
	require.NoError(t, <-r.done, "client.mjs exits 0; stderr:\n%s", r.log())
}

// TestNodeJSClient: on a node requiring signed requests, with a key
// allowed PUB and SUB on the topic and SUB with the group, the Node.js
// client 1.0.8's producer starts and sends 5 messages with a tag and keys,
// and its simple consumer of the group receives and acks each exactly
// once, intact. While both are connected, ListClients lists them as
// NODE_JS 1.0.8 (what the Node client's Settings user agent says; its
// x-mq-language header says HTTP) with the key, and once they are gone the
// group has no lag and nothing in flight. With a wrong secret the
// producer's start is refused UNAUTHORIZED (40100) and nothing is sent.
func TestNodeJSClient(t *testing.T) {
	t.Parallel()
	requireNode(t)
	const topic, group, count = "nodejs-topic", "nodejs-group", 5
	n := nodetest.Start(t, nodetest.WithAuth())
	nodetest.CreateTopic(t, n, topic, broker.TopicNormal, 2)
	ctx := t.Context()
	_, err := n.Broker().CreateGroup(ctx, broker.Group{Name: group})
	require.NoError(t, err)
	admin, err := adminclient.New(adminclient.Config{Addr: n.AdminAddr(), Token: nodetest.Token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	putKey(t, admin, &adminpb.AccessKey{AccessKey: "ak-nodejs", SecretKey: "sk-nodejs", Enabled: true, Permissions: []*adminpb.Permission{
		perm(topicRes, topic, allow, pub, sub), perm(groupRes, group, allow, sub),
	}})
	args := func(ak, sk string) []string {
		return []string{"--endpoint", n.GRPCAddr(), "--access-key", ak, "--secret", sk,
			"--topic", topic, "--group", group, "--count", strconv.Itoa(count)}
	}

	r := startNodeClient(t, true, args("ak-nodejs", "sk-nodejs")...)
	res := r.result(t)
	require.Nil(t, res.Error, "the Node client sends and receives")
	require.Equal(t, count, res.Sent)
	require.Equal(t, count, res.Received, "every message comes back")
	require.Zero(t, res.AckErrors)
	require.Zero(t, res.BadMessages, "messages come back intact: body, tag, keys")
	require.Zero(t, res.Duplicates)

	list, err := admin.ListClients(ctx, &adminpb.ListClientsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetClients(), 2, "the producer and the simple consumer: %v", list.GetClients())
	kinds := map[adminpb.ClientKind]*adminpb.Client{}
	for _, cl := range list.GetClients() {
		kinds[cl.GetKind()] = cl
		require.Equal(t, "NODE_JS", cl.GetLanguage(), "client %s: the language of the Settings' user agent", cl.GetClientId())
		require.Equal(t, "1.0.8", cl.GetVersion())
		require.Equal(t, "ak-nodejs", cl.GetAccessKey())
		require.NotEmpty(t, cl.GetHostname())
		require.Regexp(t, `^127\.0\.0\.1:\d+$`, cl.GetAddress())
	}
	producer := kinds[adminpb.ClientKind_CLIENT_KIND_PRODUCER]
	simple := kinds[adminpb.ClientKind_CLIENT_KIND_SIMPLE_CONSUMER]
	require.NotNil(t, producer, "clients: %v", list.GetClients())
	require.NotNil(t, simple, "clients: %v", list.GetClients())
	require.Equal(t, []string{topic}, producer.GetTopics())
	require.Equal(t, group, simple.GetGroup())
	require.Len(t, simple.GetSubscriptions(), 1)
	require.Equal(t, topic, simple.GetSubscriptions()[0].GetTopic())
	require.Equal(t, "node-tag", simple.GetSubscriptions()[0].GetExpression())
	r.finish(t)

	offs, err := admin.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: group, Topic: topic})
	require.NoError(t, err)
	require.Len(t, offs.GetOffsets(), 2)
	var stored, inflight int64
	for _, o := range offs.GetOffsets() {
		// The node spreads sends over the queues and a receive looks at all
		// of them: the Node client receives only from queue 0 of the route.
		require.Positive(t, o.GetMaxOffset(), "queue %d holds messages", o.GetQueueId())
		stored += o.GetMaxOffset()
		inflight += o.GetInflight()
	}
	require.EqualValues(t, count, stored, "offsets: %v", offs.GetOffsets())
	require.Zero(t, offs.GetTotalLag(), "everything was acked: %v", offs.GetOffsets())
	require.Zero(t, inflight, "nothing awaits redelivery: %v", offs.GetOffsets())

	bad := startNodeClient(t, false, args("ak-nodejs", "not-the-secret")...)
	res = bad.result(t)
	bad.finish(t)
	require.NotNil(t, res.Error, "a wrong secret is refused")
	require.EqualValues(t, codeUnauthorized, res.Error.Code, "refused UNAUTHORIZED: %s", res.Error.Message)
	require.Zero(t, res.Sent)
	require.Contains(t, res.Error.Message, "response-code=40100", "the client's exception names the code")

	offs, err = admin.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: group, Topic: topic})
	require.NoError(t, err)
	stored = 0
	for _, o := range offs.GetOffsets() {
		stored += o.GetMaxOffset()
	}
	require.EqualValues(t, count, stored, "the refused client stored nothing")
}
