package proxy_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/proxy"
)

func heartbeat(t *testing.T, c v2.MessagingServiceClient) {
	t.Helper()
	resp, err := c.Heartbeat(asClient(testContext(t, 10*time.Second), "listener-test"), &v2.HeartbeatRequest{})
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, resp.GetStatus().GetCode())
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil // closed with our garbage unread
	}
	require.NoError(t, err, "the server closes the connection instead of leaving it hanging")
}

func TestListenerServesTLSAndPlaintextOnOnePort(t *testing.T) {
	t.Parallel()
	addr, _ := startProxy(t, newBroker(t), nil)
	heartbeat(t, dial(t, addr, true))
	heartbeat(t, dial(t, addr, false))
}

func TestListenerClosesGarbage(t *testing.T) {
	t.Parallel()
	addr, _ := startProxy(t, newBroker(t), func(c *proxy.Config) { c.HandshakeTimeout = 500 * time.Millisecond })

	for _, garbage := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{0x16, 0x03, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'}, // a TLS record header and junk
		{0x16},                         // starts like TLS, then silence
		{0x00, 0x01, 0x02, 0xff, 0xfe}, // binary noise
	} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = c.Write(garbage)
		require.NoError(t, err)
		expectClosed(t, c)
		_ = c.Close()
	}

	// A silent connection neither hangs accepting nor stays open forever.
	silent, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer silent.Close()
	heartbeat(t, dial(t, addr, true))
	heartbeat(t, dial(t, addr, false))
	expectClosed(t, silent)

	// The port still serves after all that.
	heartbeat(t, dial(t, addr, true))
}
