package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/proxy"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newBroker opens a real broker on an in-memory store and runs it until the
// test ends.
func newBroker(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		DataDir: t.TempDir(),
		Store:   memstore.New(memstore.Config{}),
		Log:     testLog(t).With("component", "broker"),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = b.Close()
	})
	return b
}

// startProxy serves a proxy for b on 127.0.0.1:0 until the test ends.
func startProxy(t testing.TB, b proxy.Broker, mut func(*proxy.Config)) (string, *proxy.Server) {
	t.Helper()
	cfg := proxy.Config{Broker: b, Log: testLog(t).With("component", "proxy")}
	if mut != nil {
		mut(&cfg)
	}
	srv, err := proxy.New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), srv
}

// dial connects a raw protocol client, over TLS or plaintext.
func dial(t testing.TB, addr string, useTLS bool) v2.MessagingServiceClient {
	t.Helper()
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the server's certificate is self-signed
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return v2.NewMessagingServiceClient(conn)
}

// asClient adds the client id header the official clients send.
func asClient(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", id, "x-mq-language", "GO", "x-mq-protocol", "v2")
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func metadataCtx(ctx context.Context, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
