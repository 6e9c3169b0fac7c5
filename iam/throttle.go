package iam

import (
	"container/list"
	"sync"
	"time"
)

// maxTrackedKeys bounds each limiter's memory. When it is full the least
// recently active key is forgotten first: an attacker who floods new keys to
// push out a lockout needs that many fresh emails or addresses, and the
// per-IP limit slows the emails down.
const maxTrackedKeys = 10000

// limiter is an in-memory sliding-window log: a key is blocked while it has
// limit events inside the last window. It keeps at most limit timestamps per
// key, so memory is bounded by maxKeys*limit. Each replica throttles on its
// own, which is enough to make online guessing slow.
type limiter struct {
	limit  int
	window time.Duration
	max    int

	mu    sync.Mutex
	keys  map[string]*list.Element
	order *list.List // front: most recently touched
}

type limiterEntry struct {
	key    string
	events []time.Time // oldest first, at most limit
}

func newLimiter(limit int, window time.Duration, maxKeys int) *limiter {
	return &limiter{limit: limit, window: window, max: maxKeys, keys: map[string]*list.Element{}, order: list.New()}
}

// take records an attempt for key at now, unless key already has limit
// attempts inside the window; then it records nothing and returns how long
// until the oldest of them leaves the window. Checking and recording under
// one lock means parallel attempts cannot all slip in before the first one
// is counted.
func (l *limiter) take(key string, now time.Time) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, found := l.keys[key]
	if !found {
		l.evict(now)
		el = l.order.PushFront(&limiterEntry{key: key})
		l.keys[key] = el
	} else {
		l.order.MoveToFront(el)
	}
	e := el.Value.(*limiterEntry)
	e.prune(now, l.window)
	if len(e.events) >= l.limit {
		return e.events[0].Add(l.window).Sub(now), false
	}
	e.events = append(e.events, now)
	return 0, true
}

// reset forgets key, as after a successful login.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.keys[key]; ok {
		l.order.Remove(el)
		delete(l.keys, key)
	}
}

// evict makes room for one more key: first drop idle keys from the back
// whose events have all aged out, then, if still full, the least recent one.
func (l *limiter) evict(now time.Time) {
	for back := l.order.Back(); back != nil; back = l.order.Back() {
		e := back.Value.(*limiterEntry)
		e.prune(now, l.window)
		if len(e.events) > 0 && len(l.keys) < l.max {
			return
		}
		l.order.Remove(back)
		delete(l.keys, e.key)
	}
}

func (e *limiterEntry) prune(now time.Time, window time.Duration) {
	cut := 0
	for cut < len(e.events) && !e.events[cut].After(now.Add(-window)) {
		cut++
	}
	if cut > 0 {
		e.events = append(e.events[:0], e.events[cut:]...)
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
