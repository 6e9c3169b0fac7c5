package resources

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// fakeConn is a Node that only counts Close.
type fakeConn struct {
	adminpb.AdminClient
	addr   string
	closed int
}

func (f *fakeConn) Close() error { f.closed++; return nil }

func TestPoolSharesAndRetiresConnections(t *testing.T) {
	t.Parallel()
	var opened []*fakeConn
	connect := func(addr, _ string) (Node, error) {
		if addr == "down:1" {
			return nil, errors.New("dial down:1: refused")
		}
		c := &fakeConn{addr: addr}
		opened = append(opened, c)
		return c, nil
	}
	now := time.Unix(1_000_000, 0)
	p := NewPool(connect, time.Minute)
	p.now = func() time.Time { return now }

	a1, err := p.Connect("a:1", "t1")
	require.NoError(t, err)
	a2, err := p.Connect("a:1", "t1")
	require.NoError(t, err)
	require.Len(t, opened, 1, "one connection per address and token")
	require.Same(t, a1.(*poolHandle).conn, a2.(*poolHandle).conn)

	other, err := p.Connect("a:1", "t2")
	require.NoError(t, err)
	require.Len(t, opened, 2, "another token is another connection")
	_, err = p.Connect("down:1", "t")
	require.ErrorContains(t, err, "refused")
	require.Len(t, p.conns, 2, "a failed dial leaves nothing behind")

	// Handing back does not close; a second Close of a handle is harmless.
	require.NoError(t, a1.Close())
	require.NoError(t, a1.Close())
	require.Equal(t, 1, a1.(*poolHandle).conn.refs)
	require.Zero(t, opened[0].closed)

	// Idle past the timeout: closed at the next Connect, unless still borrowed.
	require.NoError(t, other.Close())
	now = now.Add(30 * time.Second)
	_, err = p.Connect("b:1", "t")
	require.NoError(t, err)
	require.Zero(t, opened[1].closed, "idle for less than the timeout")
	now = now.Add(2 * time.Minute)
	_, err = p.Connect("b:1", "t")
	require.NoError(t, err)
	require.Zero(t, opened[0].closed, "a:1/t1 is still borrowed by a2")
	require.Equal(t, 1, opened[1].closed, "a:1/t2 was idle for longer than the timeout")
	require.Len(t, opened, 3, "b:1 is shared by its two borrowers")

	// Close closes everything, borrowed or not, and refuses new borrowers.
	require.NoError(t, p.Close())
	require.Equal(t, 1, opened[0].closed)
	require.Equal(t, 1, opened[2].closed)
	_, err = p.Connect("a:1", "t1")
	require.ErrorIs(t, err, errPoolClosed)
	require.NoError(t, a2.Close(), "handing back after Close is harmless")
}
