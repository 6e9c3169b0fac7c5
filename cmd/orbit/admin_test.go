package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

const adminTestToken = "cli-test-token"

// startAdminNode serves the admin service of a real broker on a memory store
// on 127.0.0.1:0 and returns its address and broker; opts adjust the
// broker's config.
func startAdminNode(t *testing.T, opts ...func(*broker.Config)) (string, *broker.Broker) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	st := memstore.New(memstore.Config{})
	cfg := broker.Config{DataDir: t.TempDir(), Store: st, Log: log}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := broker.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	adm, err := admin.New(admin.Config{Broker: b, Store: st, Token: adminTestToken, Log: log, Version: "v-cli", StartedAt: time.Now(), StoreHost: "10.1.2.3:8081"})
	require.NoError(t, err)
	srv := grpc.NewServer(adm.ServerOptions()...)
	adm.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		cancel()
		<-done
		_ = b.Close()
		_ = st.Close()
	})
	return ln.Addr().String(), b
}

// adminRun runs `orbit admin --addr addr --token … args…`.
func adminRun(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	return run(t, t.Context(), append([]string{"admin", "--addr", addr, "--token", adminTestToken}, args...)...)
}

// adminJSON runs a command with --output json and decodes its one document.
func adminJSON[T any](t *testing.T, addr string, args ...string) T {
	t.Helper()
	out, err := adminRun(t, addr, append([]string{"--output", "json"}, args...)...)
	require.NoError(t, err, out)
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(&v), out)
	require.False(t, dec.More(), "one JSON document: %s", out)
	return v
}

type jsonTopic struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	QueueCount int32      `json:"queueCount"`
	CreateTime *time.Time `json:"createTime"`
}

func TestAdminTopicCommandsJSON(t *testing.T) {
	addr, _ := startAdminNode(t)

	created := adminJSON[jsonTopic](t, addr, "topic", "create", "--name", "orders", "--type", "fifo", "--queues", "4")
	require.Equal(t, jsonTopic{Name: "orders", Type: "FIFO", QueueCount: 4, CreateTime: created.CreateTime}, created)
	require.NotNil(t, created.CreateTime)

	def := adminJSON[jsonTopic](t, addr, "topic", "create", "--name", "audit")
	require.Equal(t, "NORMAL", def.Type)
	require.EqualValues(t, 8, def.QueueCount)

	got := adminJSON[jsonTopic](t, addr, "topic", "get", "--name", "orders")
	require.Equal(t, created.Name, got.Name)
	require.Equal(t, created.QueueCount, got.QueueCount)

	updated := adminJSON[jsonTopic](t, addr, "topic", "update", "--name", "orders", "--queues", "6")
	require.EqualValues(t, 6, updated.QueueCount)
	require.Equal(t, "FIFO", updated.Type)

	list := adminJSON[struct{ Topics []jsonTopic }](t, addr, "topic", "list")
	require.Len(t, list.Topics, 2)
	require.Equal(t, "audit", list.Topics[0].Name)
	limited := adminJSON[struct{ Topics []jsonTopic }](t, addr, "topic", "list", "--limit", "1")
	require.Len(t, limited.Topics, 1)

	deleted := adminJSON[map[string]any](t, addr, "topic", "delete", "--name", "orders")
	require.Equal(t, map[string]any{"kind": "topic", "name": "orders", "deleted": true}, deleted)

	_, err := adminRun(t, addr, "--output", "json", "topic", "get", "--name", "orders")
	require.EqualError(t, err, `admin: topic "orders" not found`)
	_, err = adminRun(t, addr, "topic", "create", "--name", "audit")
	require.EqualError(t, err, `admin: topic "audit" already exists`)
	_, err = adminRun(t, addr, "topic", "create", "--name", "x", "--type", "weird")
	require.ErrorContains(t, err, `--type "weird"`)
	_, err = adminRun(t, addr, "topic", "update", "--name", "audit")
	require.ErrorContains(t, err, "nothing to update")
	_, err = adminRun(t, addr, "topic", "get")
	require.ErrorContains(t, err, `"name" not set`)
}

func TestAdminTableOutput(t *testing.T) {
	addr, _ := startAdminNode(t)

	out, err := adminRun(t, addr, "topic", "create", "--name", "orders", "--queues", "2")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, `created topic "orders"`, lines[0])
	require.Regexp(t, `^NAME\s+TYPE\s+QUEUES\s+MAX SEND TPS\s+CREATED\s+UPDATED$`, lines[1])
	require.Regexp(t, `^orders\s+NORMAL\s+2\s+-\s+\d{4}-\d\d-\d\dT`, lines[2])

	_, err = adminRun(t, addr, "topic", "create", "--name", "payments")
	require.NoError(t, err)
	out, err = adminRun(t, addr, "topic", "list")
	require.NoError(t, err)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^orders\s+NORMAL\s+2\s`, lines[1])
	require.Regexp(t, `^payments\s+NORMAL\s+8\s`, lines[2])

	out, err = adminRun(t, addr, "group", "create", "--name", "billing", "--orderly", "--max-retries", "3")
	require.NoError(t, err)
	require.Contains(t, out, `created consumer group "billing"`)
	require.Regexp(t, `(?m)^billing\s+true\s+3\s`, out)

	out, err = adminRun(t, addr, "group", "delete", "--name", "billing")
	require.NoError(t, err)
	require.Equal(t, "deleted consumer group \"billing\"\n", out)
	out, err = adminRun(t, addr, "topic", "delete", "--name", "payments")
	require.NoError(t, err)
	require.Equal(t, "deleted topic \"payments\"\n", out)

	out, err = adminRun(t, addr, "stats")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^version\s+v-cli$`, out)
	require.Regexp(t, `(?m)^topics\s+1$`, out)
	require.Regexp(t, `(?m)^groups\s+0$`, out)
	require.Contains(t, out, "commit log")
}

func TestAdminGroupCommands(t *testing.T) {
	addr, b := startAdminNode(t)
	_, err := adminRun(t, addr, "topic", "create", "--name", "orders", "--queues", "2")
	require.NoError(t, err)

	type jsonGroup struct {
		Name       string
		Orderly    bool
		MaxRetries int32
	}
	g := adminJSON[jsonGroup](t, addr, "group", "create", "--name", "billing")
	require.Equal(t, jsonGroup{Name: "billing", MaxRetries: 16}, g)
	g = adminJSON[jsonGroup](t, addr, "group", "create", "--name", "fifo", "--orderly", "--max-retries", "0")
	require.Equal(t, jsonGroup{Name: "fifo", Orderly: true, MaxRetries: 0}, g)
	g = adminJSON[jsonGroup](t, addr, "group", "update", "--name", "fifo", "--orderly=false")
	require.Equal(t, jsonGroup{Name: "fifo", Orderly: false, MaxRetries: 0}, g)
	g = adminJSON[jsonGroup](t, addr, "group", "get", "--name", "billing")
	require.Equal(t, "billing", g.Name)
	list := adminJSON[struct{ Groups []jsonGroup }](t, addr, "group", "list")
	require.Len(t, list.Groups, 2)

	msgs := make([]*store.Message, 6)
	for i := range msgs {
		msgs[i] = &store.Message{Topic: "orders", MessageID: fmt.Sprint("m", i), Type: store.TypeNormal, Body: []byte("x"), BornTime: time.Now()}
	}
	_, err = b.Send(t.Context(), msgs)
	require.NoError(t, err)
	ds, err := b.Receive(t.Context(), broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 6, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	for _, d := range ds {
		require.NoError(t, b.Ack(t.Context(), "billing", "orders", d.Message.MessageID, d.ReceiptHandle))
	}

	type offsets struct {
		Group    string
		TotalLag int64
		Offsets  []struct {
			Topic                                               string
			QueueID                                             int32
			MinOffset, MaxOffset, ConsumerOffset, Lag, Inflight int64
		}
	}
	off := adminJSON[offsets](t, addr, "group", "offsets", "--name", "billing", "--topic", "orders")
	require.Equal(t, "billing", off.Group)
	require.Len(t, off.Offsets, 2)
	require.EqualValues(t, 6-len(ds), off.TotalLag)

	reset := adminJSON[offsets](t, addr, "group", "reset-offset", "--name", "billing", "--topic", "orders", "--to", "earliest")
	var lag int64
	for _, o := range reset.Offsets {
		lag += o.Lag
	}
	require.EqualValues(t, 6, lag, "everything is to be consumed again")

	out, err := adminRun(t, addr, "group", "reset-offset", "--name", "billing", "--topic", "orders", "--to", "latest")
	require.NoError(t, err)
	require.Contains(t, out, `reset consumer group "billing" on topic "orders" to latest`)
	require.Regexp(t, `(?m)^TOPIC\s+QUEUE\s+MIN\s+MAX\s+CONSUMER\s+LAG\s+INFLIGHT$`, out)

	stamp := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	reset = adminJSON[offsets](t, addr, "group", "reset-offset", "--name", "billing", "--topic", "orders", "--to", stamp)
	lag = 0
	for _, o := range reset.Offsets {
		lag += o.Lag
	}
	require.EqualValues(t, 6, lag)

	out, err = adminRun(t, addr, "group", "offsets", "--name", "billing")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^total lag\s+6$`, out)

	_, err = adminRun(t, addr, "group", "reset-offset", "--name", "billing", "--topic", "orders", "--to", "yesterday")
	require.ErrorContains(t, err, `--to "yesterday": want earliest, latest or an RFC 3339 time`)
	_, err = adminRun(t, addr, "group", "offsets", "--name", "nobody")
	require.EqualError(t, err, `admin: consumer group "nobody" not found`)

	out, err = adminRun(t, addr, "--output", "json", "group", "delete", "--name", "fifo")
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"group","name":"fifo","deleted":true}`, out)
}

func TestAdminEnvironmentAndErrors(t *testing.T) {
	addr, _ := startAdminNode(t)

	t.Setenv("ORBIT_ADMIN_ADDR", addr)
	t.Setenv("ORBIT_ADMIN_TOKEN", adminTestToken)
	out, err := run(t, t.Context(), "admin", "stats", "-o", "json")
	require.NoError(t, err, out)
	require.Contains(t, out, `"version": "v-cli"`)

	// Flags win over the environment.
	t.Setenv("ORBIT_ADMIN_TOKEN", "wrong")
	_, err = run(t, t.Context(), "admin", "stats")
	require.EqualError(t, err, "admin: invalid admin token (check --token or ORBIT_ADMIN_TOKEN)")
	_, err = run(t, t.Context(), "admin", "--token", adminTestToken, "stats")
	require.NoError(t, err)

	t.Setenv("ORBIT_ADMIN_TOKEN", "")
	_, err = run(t, t.Context(), "admin", "stats")
	require.EqualError(t, err, "admin: an admin token is required: --token or ORBIT_ADMIN_TOKEN")

	_, err = run(t, t.Context(), "admin", "--token", "t", "--output", "yaml", "stats")
	require.ErrorContains(t, err, `--output "yaml"`)

	_, err = run(t, t.Context(), "admin", "--addr", "127.0.0.1:1", "--token", "t", "stats")
	require.ErrorContains(t, err, "admin: node at 127.0.0.1:1 is unavailable")

	out, err = run(t, t.Context(), "admin", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "ORBIT_ADMIN_ADDR")
	require.Contains(t, out, "ORBIT_ADMIN_TOKEN")
}
