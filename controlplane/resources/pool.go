package resources

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// Pool shares one admin connection per node address and token between
// calls, instead of a connection per REST request (a console page polls the
// lag of every group on it). A connection nobody has used for the idle
// timeout is closed at the next Connect; Close closes them all.
type Pool struct {
	connect Connector
	idle    time.Duration
	now     func() time.Time

	mu    sync.Mutex
	conns map[poolKey]*pooled
	done  bool
}

// poolKey names a node by address and a hash of its token, so a node
// re-created with a new token gets a new connection and the map holds no
// token.
type poolKey struct {
	addr  string
	token [sha256.Size]byte
}

type pooled struct {
	node     Node
	refs     int
	lastUsed time.Time
}

// errPoolClosed: Connect after Close.
var errPoolClosed = errors.New("admin connection pool closed")

// NewPool returns a Pool opening connections with connect (nil: Connect)
// and closing those idle for longer than idle (0: 5 minutes).
func NewPool(connect Connector, idle time.Duration) *Pool {
	if connect == nil {
		connect = Connect
	}
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	return &Pool{connect: connect, idle: idle, now: time.Now, conns: make(map[poolKey]*pooled)}
}

// Connect is a Connector: the returned Node's Close gives the shared
// connection back rather than closing it.
func (p *Pool) Connect(addr, token string) (Node, error) {
	key := poolKey{addr: addr, token: sha256.Sum256([]byte(token))}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil, errPoolClosed
	}
	now := p.now()
	p.sweepLocked(now)
	c, ok := p.conns[key]
	if !ok {
		n, err := p.connect(addr, token)
		if err != nil {
			return nil, err
		}
		c = &pooled{node: n}
		p.conns[key] = c
	}
	c.refs++
	c.lastUsed = now
	return &poolHandle{Node: c.node, pool: p, conn: c}, nil
}

// sweepLocked closes connections idle since before now - idle. p.mu is held.
func (p *Pool) sweepLocked(now time.Time) {
	for k, c := range p.conns {
		if c.refs == 0 && now.Sub(c.lastUsed) > p.idle {
			_ = c.node.Close()
			delete(p.conns, k)
		}
	}
}

// Close closes every connection, also ones still handed out (their calls
// fail); later Connects fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	var errs []error
	for k, c := range p.conns {
		errs = append(errs, c.node.Close())
		delete(p.conns, k)
	}
	return errors.Join(errs...)
}

// poolHandle is a Node borrowed from a Pool.
type poolHandle struct {
	Node
	pool *Pool
	conn *pooled
	once sync.Once
}

// Close returns the connection to the pool; a second Close does nothing.
func (h *poolHandle) Close() error {
	h.once.Do(func() {
		h.pool.mu.Lock()
		h.conn.refs--
		h.conn.lastUsed = h.pool.now()
		h.pool.mu.Unlock()
	})
	return nil
}
