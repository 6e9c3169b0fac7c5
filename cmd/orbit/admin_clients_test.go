package main

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

type fixedClients []admin.ClientInfo

func (f fixedClients) Clients() []admin.ClientInfo { return append([]admin.ClientInfo(nil), f...) }

// startClientsNode serves an admin service whose proxy knows clients, with
// group g; it returns its address.
func startClientsNode(t *testing.T, clients admin.ClientSource) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	st := memstore.New(memstore.Config{})
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: st, Log: log})
	require.NoError(t, err)
	_, err = b.CreateGroup(context.Background(), broker.Group{Name: "g"})
	require.NoError(t, err)
	adm, err := admin.New(admin.Config{Broker: b, Store: st, Token: adminTestToken, Log: log, Clients: clients})
	require.NoError(t, err)
	srv := grpc.NewServer()
	adm.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		_ = b.Close()
		_ = st.Close()
	})
	return ln.Addr().String()
}

func TestAdminClientCommands(t *testing.T) {
	t.Parallel()
	seen := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	addr := startClientsNode(t, fixedClients{
		{ID: "c1", Kind: "PUSH_CONSUMER", Group: "g", Address: "127.0.0.1:5001", Language: "GOLANG", Version: "5.1.4", AccessKey: "ak",
			Subscriptions: []admin.ClientSubscription{{Topic: "t", FilterType: "TAG", Expression: "a"}}, FirstSeen: seen, LastSeen: seen},
		{ID: "c2", Kind: "SIMPLE_CONSUMER", Group: "g", Address: "127.0.0.1:5002", Language: "JAVA", Version: "5.0.7",
			Subscriptions: []admin.ClientSubscription{{Topic: "t", FilterType: "TAG", Expression: "b"}}, FirstSeen: seen, LastSeen: seen},
		{ID: "p1", Kind: "PRODUCER", Address: "127.0.0.1:5003", Language: "GOLANG", Version: "5.1.4", Topics: []string{"t"}, FirstSeen: seen, LastSeen: seen},
	})

	out, err := adminRun(t, addr, "client", "list")
	require.NoError(t, err, out)
	require.Contains(t, out, "CLIENT ID")
	require.Regexp(t, `c1\s+PUSH_CONSUMER\s+g\s+t\(TAG a\)\s+127\.0\.0\.1:5001\s+GOLANG\s+5\.1\.4\s+ak\s+2026-11-21T10:00:00Z`, out)
	require.Regexp(t, `p1\s+PRODUCER\s+-\s+t\s+`, out)

	type listed struct {
		Clients []struct {
			ClientID      string `json:"clientId"`
			Kind          string `json:"kind"`
			Group         string `json:"group"`
			Subscriptions []struct {
				Topic, FilterType, Expression string
			} `json:"subscriptions"`
		} `json:"clients"`
	}
	l := adminJSON[listed](t, addr, "client", "list", "--group", "g")
	require.Len(t, l.Clients, 2)
	require.Equal(t, "c1", l.Clients[0].ClientID)
	require.Equal(t, "PUSH_CONSUMER", l.Clients[0].Kind)
	require.Equal(t, "a", l.Clients[0].Subscriptions[0].Expression)
	require.Len(t, adminJSON[listed](t, addr, "client", "list", "--topic", "t").Clients, 3)
	require.Empty(t, adminJSON[listed](t, addr, "client", "list", "--topic", "other").Clients)

	out, err = adminRun(t, addr, "group", "subscriptions", "g")
	require.NoError(t, err, out)
	require.Regexp(t, `t\s+false\s+TAG\s+a\s+c1`, out)
	require.Contains(t, out, "2 online consumers; subscriptions INCONSISTENT")
	type subs struct {
		Group         string `json:"group"`
		ClientCount   int    `json:"clientCount"`
		Consistent    bool   `json:"consistent"`
		Subscriptions []struct {
			Topic      string `json:"topic"`
			Consistent bool   `json:"consistent"`
			Variants   []struct {
				FilterType string   `json:"filterType"`
				Expression string   `json:"expression"`
				ClientIDs  []string `json:"clientIds"`
			} `json:"variants"`
		} `json:"subscriptions"`
	}
	s := adminJSON[subs](t, addr, "group", "subscriptions", "--name", "g")
	require.Equal(t, 2, s.ClientCount)
	require.False(t, s.Consistent)
	require.Len(t, s.Subscriptions, 1)
	require.Len(t, s.Subscriptions[0].Variants, 2)

	out, err = adminRun(t, addr, "group", "subscriptions", "nope")
	require.Error(t, err)
	require.Contains(t, err.Error(), `consumer group "nope" not found`, out)
	_, err = adminRun(t, addr, "group", "subscriptions")
	require.ErrorContains(t, err, "a group is required")

	// A node without a proxy says so.
	brokerOnly := startClientsNode(t, nil)
	_, err = adminRun(t, brokerOnly, "client", "list")
	require.ErrorContains(t, err, "runs no proxy")
}
