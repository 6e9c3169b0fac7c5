package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection (a handshake
// record). Plaintext gRPC starts with the HTTP/2 client preface.
const (
	tlsRecordHandshake = 0x16
	http2Preface       = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
)

var errNotGRPC = errors.New("neither TLS nor an HTTP/2 preface")

// sniffListener serves TLS and plaintext on one port, like Apache's "TLS
// permissive mode" (spec §0.1: the Go client uses TLS by default, some
// examples and Node plaintext). Each accepted connection is classified in its
// own goroutine under a deadline, so a silent or slow peer never holds up
// Accept; TLS connections are handshaken before they are handed out.
// Plaintext must start with the HTTP/2 client preface and TLS must complete
// its handshake within the timeout; anything else is closed.
type sniffListener struct {
	inner   net.Listener
	tls     *tls.Config
	timeout time.Duration
	log     *slog.Logger

	conns     chan net.Conn
	ctx       context.Context // canceled when accepting stops
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu  sync.Mutex
	err error // why accepting stopped
}

func newSniffListener(inner net.Listener, cfg *tls.Config, timeout time.Duration, log *slog.Logger) *sniffListener {
	l := &sniffListener{
		inner:   inner,
		tls:     cfg,
		timeout: timeout,
		log:     log,
		conns:   make(chan net.Conn),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() && !errors.Is(err, net.ErrClosed) {
				// E.g. too many open files: back off as grpc and net/http do.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.log.Warn("accept failed, retrying", slog.Any("err", err), slog.Duration("backoff", backoff))
				select {
				case <-time.After(backoff):
					continue
				case <-l.ctx.Done():
					return
				}
			}
			l.stop(err)
			return
		}
		backoff = 0
		l.wg.Add(1)
		go l.classify(c)
	}
}

func (l *sniffListener) classify(c net.Conn) {
	defer l.wg.Done()
	// Closing the listener interrupts a sniff blocked in Read.
	unwatch := context.AfterFunc(l.ctx, func() { _ = c.Close() })
	conn, err := l.sniff(c)
	if !unwatch() && err == nil {
		err = net.ErrClosed
	}
	if err != nil {
		l.log.Debug("dropped connection", slog.String("remote", c.RemoteAddr().String()), slog.Any("err", err))
		_ = c.Close()
		return
	}
	select {
	case l.conns <- conn:
	case <-l.ctx.Done():
		_ = conn.Close()
	}
}

func (l *sniffListener) sniff(c net.Conn) (net.Conn, error) {
	deadline := time.Now().Add(l.timeout)
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		return nil, err
	}
	if first[0] != tlsRecordHandshake {
		// Check the whole HTTP/2 client preface here: gRPC would otherwise
		// wait up to its connection timeout for the rest of a short garbage
		// write.
		preface := make([]byte, len(http2Preface))
		preface[0] = first[0]
		if _, err := io.ReadFull(c, preface[1:]); err != nil {
			return nil, err
		}
		if string(preface) != http2Preface {
			return nil, errNotGRPC
		}
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			return nil, err
		}
		return &peekedConn{Conn: c, buf: preface}, nil
	}
	tc := tls.Server(&peekedConn{Conn: c, buf: first[:]}, l.tls)
	// The handshake also stops when the listener closes.
	ctx, cancel := context.WithDeadline(l.ctx, deadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return tc, nil
}

// Accept returns the next classified connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		return nil, l.err
	}
}

func (l *sniffListener) stop(err error) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		l.cancel()
	})
}

// Close stops accepting and closes the inner listener. Connections being
// classified are closed.
func (l *sniffListener) Close() error {
	l.stop(net.ErrClosed)
	err := l.inner.Close()
	l.wg.Wait()
	return err
}

// Addr is the inner listener's address.
func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// peekedConn replays the sniffed bytes before reading on.
type peekedConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (c *peekedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
