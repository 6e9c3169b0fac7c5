package proxy

import (
	"math"
	"sync"
	"time"
)

// tpsBucket is a message rate limit: the instance's (Config.MaxTPS), a
// topic's send cap or a group's receive cap (caps.go). It is a token
// bucket holding at most one second of messages. Every sent and every
// received message takes a token. Sends that find too few tokens are refused;
// receives take what there is and pay for what they got afterwards, so the
// bucket may briefly go negative and later callers wait for it to refill.
type tpsBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second, also the capacity
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newTPSBucket(tps int, now func() time.Time) *tpsBucket {
	return &tpsBucket{rate: float64(tps), tokens: float64(tps), last: now(), now: now}
}

// refillLocked adds the tokens earned since the last call.
func (b *tpsBucket) refillLocked() {
	now := b.now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.rate, b.tokens+el.Seconds()*b.rate)
	}
	b.last = now
}

// take takes n tokens if the bucket holds them. A batch larger than the
// bucket can ever hold needs a full bucket.
func (b *tpsBucket) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	need := math.Min(float64(n), b.rate)
	if b.tokens < need {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// available is how many whole tokens the bucket holds, and when there are
// none, how long until there is one.
func (b *tpsBucket) available() (int, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	if b.tokens >= 1 {
		return int(b.tokens), 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return 0, max(wait, time.Millisecond)
}

// charge takes n tokens after the fact; the bucket may go negative.
func (b *tpsBucket) charge(n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	b.tokens -= float64(n)
}

// refund gives back n tokens taken for a request that was then refused for
// another reason, up to the bucket's capacity.
func (b *tpsBucket) refund(n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	b.tokens = math.Min(b.rate, b.tokens+float64(n))
}
