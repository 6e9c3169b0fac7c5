package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/migrations"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// serveProc is `orbit serve` running as a real process (this test binary
// re-executed as orbit), so that the instances it starts are real
// `orbit node` processes that outlive it, as in production.
type serveProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startServeProcess(t *testing.T, dataDir, dbURL, logPath string) *serveProc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--database-url", dbURL)
	cmd.Env = append(os.Environ(), runAsOrbitEnv+"=1")
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &serveProc{cmd: cmd, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := consoleLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.url = <-urlc:
	case <-s.done:
		t.Fatalf("orbit serve exited early; log in %s", logPath)
	case <-time.After(60 * time.Second):
		t.Fatal("orbit serve did not print its URL")
	}
	return s
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *serveProc) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Error("orbit serve did not stop on SIGTERM")
	}
}

type restClient struct {
	t     *testing.T
	url   string
	token string
}

func (c *restClient) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.url+strings.TrimPrefix(path, "/"), rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	if out != nil && res.StatusCode < 300 {
		require.NoError(c.t, json.Unmarshal(raw, out), "%s %s: %s", method, path, raw)
	}
	return res.StatusCode
}

type instanceView struct {
	InstanceID   string `json:"instanceId"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason"`
	Endpoint     string `json:"endpoint"`
}

func (c *restClient) waitStatus(id, status string) instanceView {
	c.t.Helper()
	var v instanceView
	require.Eventually(c.t, func() bool {
		v = instanceView{}
		code := c.do(http.MethodGet, "api/v1/instances/"+id, nil, &v)
		require.Equal(c.t, http.StatusOK, code)
		return v.Status == status
	}, 120*time.Second, 50*time.Millisecond, "want %s", status)
	return v
}

func nodePID(t *testing.T, instancesDir, id string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(instancesDir, id, "instance.json"))
	if err != nil {
		return 0
	}
	var st struct{ PID int }
	require.NoError(t, json.Unmarshal(raw, &st))
	return st.PID
}

func pidAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// runBenchAgainst sends and receives n messages through endpoint with the
// official client, in its own process (the client has data races).
func runBenchAgainst(t *testing.T, endpoint, topic, group, accessKey, secretKey string, n int) benchReport {
	t.Helper()
	cmd := exec.Command(os.Args[0], "bench", "--endpoint", endpoint, "--topic", topic, "--group", group,
		"--access-key", accessKey, "--secret-key", secretKey, "--messages", fmt.Sprint(n), "--producers", "1", "--consumers", "1", "--size", "64", "--output", "json")
	cmd.Env = append(os.Environ(), runAsOrbitEnv+"=1", "GORACE=exitcode=0 log_path="+t.TempDir()+"/race",
		"rocketmq.client.logRoot="+t.TempDir(), "rocketmq.client.logLevel=error")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	var rep benchReport
	require.NoError(t, json.Unmarshal(out, &rep), "output: %s", out)
	return rep
}

// TestInstancesEndToEnd drives an instance through its life over REST with
// real processes: create → RUNNING → the official client sends and receives
// → stop → start (messages kept) → kill -9 of the node (the reconciler brings
// it back) → restart of `orbit serve` (the node is adopted, not restarted) →
// delete (row, process and directory gone).
func TestInstancesEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	instancesDir := filepath.Join(dataDir, "instances")
	dbURL := dbtest.PostgresURL(t)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	t.Cleanup(func() {
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			t.Logf("orbit serve log:\n%s", raw)
		}
		// Nodes outlive orbit serve by design: kill what is left.
		des, _ := os.ReadDir(instancesDir)
		for _, de := range des {
			if pid := nodePID(t, instancesDir, de.Name()); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	db, err := migrations.Open(t.Context(), migrations.Config{DatabaseURL: dbURL}, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})

	srv := startServeProcess(t, dataDir, dbURL, logPath)
	c := &restClient{t: t, url: srv.url}
	var session struct{ AccessToken string }
	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, "api/v1/auth/signup", map[string]string{
		"email": "e2e@example.com", "password": "correct-horse-battery-9", "name": "E2E", "accountName": "E2E"}, &session))
	c.token = session.AccessToken

	var created instanceView
	require.Equal(t, 2, c.do(http.MethodPost, "api/v1/instances", map[string]any{
		"instanceName": "orders", "specCode": "rmq.s2.2xlarge", "flushMode": "async", "messageRetentionHours": 24}, &created)/100)
	id := created.InstanceID
	require.NotEmpty(t, id)
	running := c.waitStatus(id, "RUNNING")
	require.NotEmpty(t, running.Endpoint)

	// Topic REST comes later: create topic and group through the node's
	// admin service, with the address and token the control plane keeps.
	var adm struct{ AdminAddr, AdminToken string }
	require.NoError(t, db.Raw("SELECT admin_addr, admin_token FROM instances WHERE id = ?", id).Scan(&adm).Error)
	require.NotEmpty(t, adm.AdminAddr)
	acfg := adminclient.DefaultConfig()
	acfg.Addr, acfg.Token = adm.AdminAddr, adm.AdminToken
	admin, err := adminclient.New(acfg)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	ctx := t.Context()
	_, err = admin.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "e2e", QueueCount: 2})
	require.NoError(t, err)
	_, err = admin.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "e2e-group"})
	require.NoError(t, err)

	const sent = 20
	// Provisioned instances require signed requests: give the bench a key.
	all := []adminpb.Action{adminpb.Action_ACTION_PUB, adminpb.Action_ACTION_SUB}
	_, err = admin.PutAccessKey(ctx, &adminpb.PutAccessKeyRequest{Key: &adminpb.AccessKey{
		AccessKey: "e2e-ak", SecretKey: "e2e-sk", Enabled: true,
		Permissions: []*adminpb.Permission{
			{ResourceType: adminpb.ResourceType_RESOURCE_TYPE_TOPIC, ResourceName: "*", Actions: all, Decision: adminpb.Decision_DECISION_ALLOW},
			{ResourceType: adminpb.ResourceType_RESOURCE_TYPE_GROUP, ResourceName: "*", Actions: all, Decision: adminpb.Decision_DECISION_ALLOW},
		},
	}})
	require.NoError(t, err)
	rep := runBenchAgainst(t, running.Endpoint, "e2e", "e2e-group", "e2e-ak", "e2e-sk", sent)
	require.EqualValues(t, sent, rep.Sent)
	require.Zero(t, rep.SendErrors)
	require.EqualValues(t, sent, rep.Received, "every message sent is received")
	stored := func() int {
		msgs, err := admin.QueryAllMessages(ctx, &adminpb.QueryMessagesRequest{Topic: "e2e",
			StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour)), PageSize: 100}, 1000)
		require.NoError(t, err)
		return len(msgs)
	}
	require.Equal(t, sent, stored())

	// Stop: the process goes away, the data stays.
	pid := nodePID(t, instancesDir, id)
	require.True(t, pidAlive(pid))
	require.Equal(t, 2, c.do(http.MethodPost, "api/v1/instances/"+id+"/stop", nil, nil)/100)
	c.waitStatus(id, "STOPPED")
	require.False(t, pidAlive(pid), "the node is stopped")

	require.Equal(t, 2, c.do(http.MethodPost, "api/v1/instances/"+id+"/start", nil, nil)/100)
	again := c.waitStatus(id, "RUNNING")
	require.Equal(t, running.Endpoint, again.Endpoint, "the endpoint is kept")
	require.Equal(t, sent, stored(), "messages sent before the stop are still there")

	// kill -9: the node comes back (supervisor/reconciler) with its data.
	pid = nodePID(t, instancesDir, id)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		var v instanceView
		c.do(http.MethodGet, "api/v1/instances/"+id, nil, &v)
		p := nodePID(t, instancesDir, id)
		return v.Status == "RUNNING" && p != pid && pidAlive(p)
	}, 120*time.Second, 50*time.Millisecond, "the killed node is restarted")
	require.Equal(t, sent, stored())

	// Restart orbit serve: the running node is adopted, not restarted.
	pid = nodePID(t, instancesDir, id)
	srv.stop(t)
	require.True(t, pidAlive(pid), "nodes outlive orbit serve")
	srv = startServeProcess(t, dataDir, dbURL, logPath)
	c.url = srv.url
	c.waitStatus(id, "RUNNING")
	var owner string
	require.Eventually(t, func() bool {
		require.NoError(t, db.Raw("SELECT lease_owner FROM instances WHERE id = ?", id).Scan(&owner).Error)
		return owner != ""
	}, 30*time.Second, 50*time.Millisecond, "the new orbit serve reconciles the instance")
	require.Equal(t, pid, nodePID(t, instancesDir, id), "the same process is adopted")
	require.True(t, pidAlive(pid))
	require.Equal(t, sent, stored())

	// Delete: the row, the process and the directory go.
	require.Equal(t, 2, c.do(http.MethodDelete, "api/v1/instances/"+id, nil, nil)/100)
	require.Eventually(t, func() bool {
		var n int64
		require.NoError(t, db.Raw("SELECT COUNT(*) FROM instances WHERE id = ?", id).Scan(&n).Error)
		return n == 0
	}, 60*time.Second, 50*time.Millisecond, "the row is purged")
	require.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "api/v1/instances/"+id, nil, nil))
	require.False(t, pidAlive(pid))
	require.NoDirExists(t, filepath.Join(instancesDir, id))
}

// runBenchArgs runs `orbit bench` out of process with args and returns its
// report (when it printed one), its stderr and its error.
func runBenchArgs(t *testing.T, args ...string) (benchReport, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"bench", "--producers", "1", "--size", "64", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), runAsOrbitEnv+"=1", "GORACE=exitcode=0 log_path="+t.TempDir()+"/race",
		"rocketmq.client.logRoot="+t.TempDir(), "rocketmq.client.logLevel=error")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var rep benchReport
	if err == nil {
		require.NoError(t, json.Unmarshal(out, &rep), "output: %s", out)
	}
	return rep, stderr.String(), err
}

// TestInstanceResourcesThroughREST creates a topic, a consumer group and an
// access key over REST only (no admin-service shortcut) and uses them with
// the official client: send and receive, lag over REST, a dry-run offset
// reset, a FIFO topic refusing a normal message, and a deleted topic
// refusing sends.
func TestInstanceResourcesThroughREST(t *testing.T) {
	dataDir := t.TempDir()
	instancesDir := filepath.Join(dataDir, "instances")
	dbURL := dbtest.PostgresURL(t)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	t.Cleanup(func() {
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			t.Logf("orbit serve log:\n%s", raw)
		}
		des, _ := os.ReadDir(instancesDir)
		for _, de := range des {
			if pid := nodePID(t, instancesDir, de.Name()); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	srv := startServeProcess(t, dataDir, dbURL, logPath)
	c := &restClient{t: t, url: srv.url}
	var session struct{ AccessToken string }
	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, "api/v1/auth/signup", map[string]string{
		"email": "res@example.com", "password": "correct-horse-battery-9", "name": "Res", "accountName": "Res"}, &session))
	c.token = session.AccessToken
	var created instanceView
	require.Equal(t, 2, c.do(http.MethodPost, "api/v1/instances", map[string]any{
		"instanceName": "res", "specCode": "rmq.s2.2xlarge", "flushMode": "async", "messageRetentionHours": 24}, &created)/100)
	id := created.InstanceID
	base := "api/v1/instances/" + id
	ep := c.waitStatus(id, "RUNNING").Endpoint
	require.NotEmpty(t, ep)

	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, base+"/topics", map[string]any{
		"topicName": "orders", "messageType": "NORMAL", "queueCount": 2}, nil))
	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, base+"/topics", map[string]any{
		"topicName": "orders-fifo", "messageType": "FIFO", "queueCount": 2}, nil))
	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, base+"/consumerGroups", map[string]any{
		"groupId": "orders-group", "deliveryOrderType": "Concurrently"}, nil))
	var key struct{ AccessKey, SecretKey string }
	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, base+"/accessKeys", map[string]any{
		"permissions": []map[string]any{
			{"resourceType": "TOPIC", "resourceName": "*", "actions": []string{"PUB", "SUB"}, "decision": "ALLOW"},
			{"resourceType": "GROUP", "resourceName": "*", "actions": []string{"PUB", "SUB"}, "decision": "ALLOW"},
		}}, &key))
	require.NotEmpty(t, key.AccessKey)
	require.NotEmpty(t, key.SecretKey)
	auth := []string{"--endpoint", ep, "--access-key", key.AccessKey, "--secret-key", key.SecretKey}

	// (1) 20 messages sent at once to the REST topic with the REST key, and
	// received by the REST group (which subscribes it, so it has a lag).
	rep, stderr, err := runBenchArgs(t, append(auth, "--topic", "orders", "--group", "orders-group",
		"--messages", "20", "--consumers", "1")...)
	require.NoError(t, err, stderr)
	require.EqualValues(t, 20, rep.Sent)
	require.Zero(t, rep.SendErrors)
	require.EqualValues(t, 20, rep.Received)

	// (2) 10 more, sent only: the group's lag over REST is 10.
	rep, stderr, err = runBenchArgs(t, append(auth, "--topic", "orders", "--group", "orders-group",
		"--messages", "10", "--consumers", "0")...)
	require.NoError(t, err, stderr)
	require.EqualValues(t, 10, rep.Sent)
	require.Zero(t, rep.SendErrors)
	type groupLag struct {
		TotalLag int64
		Items    []struct {
			TopicName                 string
			MaxOffset, ConsumerOffset int64
			Lag                       int64
		}
	}
	lag := func() groupLag {
		var l groupLag
		require.Equal(t, http.StatusOK, c.do(http.MethodGet, base+"/consumerGroups/orders-group/lag", nil, &l))
		return l
	}
	var l groupLag
	require.Eventually(t, func() bool { l = lag(); return l.TotalLag == 10 }, 10*time.Second, 50*time.Millisecond,
		"lag is sent minus acknowledged")
	var maxSum, consumedSum int64
	for _, it := range l.Items {
		require.Equal(t, "orders", it.TopicName)
		maxSum += it.MaxOffset
		consumedSum += it.ConsumerOffset
	}
	require.EqualValues(t, 30, maxSum)
	require.EqualValues(t, 20, consumedSum)

	// (3) A dry-run reset to EARLIEST previews the 20 acknowledged messages
	// as redelivered and changes nothing.
	var reset struct {
		DryRun                         bool
		RedeliveredCount, SkippedCount int64
		Items                          []struct{ CurrentOffset, NewOffset int64 }
	}
	require.Equal(t, http.StatusOK, c.do(http.MethodPatch, base+"/consumerGroups/orders-group/consumeOffsets/orders?dryRun=true",
		map[string]any{"resetType": "EARLIEST"}, &reset))
	require.True(t, reset.DryRun)
	require.EqualValues(t, 20, reset.RedeliveredCount)
	require.Zero(t, reset.SkippedCount)
	for _, it := range reset.Items {
		require.Zero(t, it.NewOffset)
	}
	require.EqualValues(t, 10, lag().TotalLag, "a dry run changes no offset")

	// (3b) The real reset to EARLIEST: the lag is all 30 messages again, and
	// a consumer of the group (receiving only) gets every one of them.
	require.Equal(t, http.StatusOK, c.do(http.MethodPatch, base+"/consumerGroups/orders-group/consumeOffsets/orders",
		map[string]any{"resetType": "EARLIEST"}, &reset))
	require.False(t, reset.DryRun)
	require.EqualValues(t, 20, reset.RedeliveredCount)
	require.EqualValues(t, 30, lag().TotalLag, "the reset moved every queue back to its first message")
	rep, stderr, err = runBenchArgs(t, append(auth, "--topic", "orders", "--group", "orders-group",
		"--producers", "0", "--consumers", "1", "--messages", "30")...)
	require.NoError(t, err, stderr)
	require.GreaterOrEqual(t, rep.Received, int64(30), "reset to EARLIEST redelivers what was acknowledged (the topic holds 30)")

	// (4) The FIFO topic refuses a normal message: every send fails with the
	// code the client expects.
	rep, stderr, err = runBenchArgs(t, append(auth, "--topic", "orders-fifo", "--type", "normal",
		"--messages", "1", "--consumers", "0", "--duration", "1s")...)
	require.NoError(t, err, stderr)
	require.Zero(t, rep.Sent, "a normal message to a FIFO topic is refused")
	require.Positive(t, rep.SendErrors)
	require.Contains(t, rep.FirstSendError, "MESSAGE_PROPERTY_CONFLICT_WITH_TYPE", "the code the client expects (40014)")

	// (5) Once deleted over REST, the topic takes no more messages.
	require.Equal(t, http.StatusNoContent, c.do(http.MethodDelete, base+"/topics/orders", nil, nil))
	require.Equal(t, http.StatusNotFound, c.do(http.MethodGet, base+"/topics/orders", nil, nil))
	// The client's producer cannot even start: the node has no route for it.
	_, stderr, err = runBenchArgs(t, append(auth, "--topic", "orders", "--messages", "1", "--consumers", "0", "--duration", "1s")...)
	require.Error(t, err, "a deleted topic takes no message")
	require.Contains(t, stderr, "TOPIC_NOT_FOUND")
}
