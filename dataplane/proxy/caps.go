package proxy

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// Per-topic send caps (broker.Topic.MaxSendTPS) and per-group receive caps
// (broker.Group.MaxReceiveTPS), enforced next to the instance's MaxTPS with
// the same token buckets: a send over its topic's cap is refused with
// TOO_MANY_REQUESTS; a receive over its group's cap gets fewer messages or
// waits within its long poll.
//
// The caps live in the definitions the broker keeps. Reading a definition
// for every message would cost a broker RPC per send when the proxy runs
// apart from the broker, so a cap read is trusted for capRefresh: a changed
// cap takes effect within that, with a full bucket at the new rate.
const (
	// capRefresh is how long a cap read from the broker is used before it
	// is read again.
	capRefresh = time.Second
	// capIdle is how long a topic's or group's bucket is kept unused. Caps
	// of deleted topics and groups, and of names no client uses any more,
	// are forgotten after it, so memory follows the names in use.
	capIdle = time.Minute
)

// caps holds the send caps of topics and the receive caps of groups.
type caps struct {
	topics, groups *capSet
}

func newCaps(b Broker, now func() time.Time, log *slog.Logger) *caps {
	return &caps{
		topics: &capSet{now: now, log: log, kind: "topic", entries: map[string]*capEntry{}, lookup: func(name string) (int32, bool, error) {
			t, err := b.GetTopic(name)
			if errors.Is(err, broker.ErrTopicNotFound) {
				return 0, false, nil
			}
			return t.MaxSendTPS, err == nil, err
		}},
		groups: &capSet{now: now, log: log, kind: "group", entries: map[string]*capEntry{}, lookup: func(name string) (int32, bool, error) {
			g, err := b.GetGroup(name)
			if errors.Is(err, broker.ErrGroupNotFound) {
				return 0, false, nil
			}
			return g.MaxReceiveTPS, err == nil, err
		}},
	}
}

// capSet is the buckets of one kind of cap, by topic or group name,
// created when a name is first used.
type capSet struct {
	kind string // "topic" or "group", for logs
	// lookup reads a name's cap from the broker; found is false for a name
	// the broker does not know (no cap: the broker refuses the request).
	lookup func(name string) (cap int32, found bool, err error)
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	entries map[string]*capEntry
	swept   time.Time // last sweep of idle entries
}

type capEntry struct {
	rate    int32
	bucket  *tpsBucket // nil: no cap
	checked time.Time  // when rate was read from the broker
	used    time.Time  // last use, for the idle sweep
	reading bool       // a refresh is under way; others use the old cap
}

// bucket returns the bucket of name and its rate; nil when name has no cap.
func (c *capSet) bucket(name string) (*tpsBucket, int32) {
	now := c.now()
	c.mu.Lock()
	c.sweepLocked(now)
	if e := c.entries[name]; e != nil {
		e.used = now
		if e.reading || now.Sub(e.checked) < capRefresh {
			b, r := e.bucket, e.rate
			c.mu.Unlock()
			return b, r
		}
		e.reading = true
	}
	c.mu.Unlock()

	// The lookup may be an RPC: never under mu.
	rate, found, err := c.lookup(name)

	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[name]
	switch {
	case err != nil:
		// Keep the cap we had (none if we had none) and try again after
		// capRefresh; the request itself will meet the same broker.
		c.log.Debug("read cap", slog.String(c.kind, name), slog.Any("err", err))
		if e == nil {
			return nil, 0
		}
		e.reading, e.checked = false, now
		return e.bucket, e.rate
	case !found:
		delete(c.entries, name)
		return nil, 0
	}
	if e == nil {
		e = &capEntry{}
		c.entries[name] = e
	}
	if e.rate != rate || (rate > 0) != (e.bucket != nil) {
		e.rate, e.bucket = rate, nil
		if rate > 0 {
			e.bucket = newTPSBucket(int(rate), c.now)
		}
	}
	e.reading, e.checked, e.used = false, now, now
	return e.bucket, e.rate
}

// sweepLocked forgets entries unused for capIdle, at most once per capIdle.
func (c *capSet) sweepLocked(now time.Time) {
	if now.Sub(c.swept) < capIdle {
		return
	}
	c.swept = now
	for name, e := range c.entries {
		if !e.reading && now.Sub(e.used) >= capIdle {
			delete(c.entries, name)
		}
	}
}

// size is how many names have an entry (tests).
func (c *capSet) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
