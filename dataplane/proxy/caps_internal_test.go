package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
)

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestCapSetBoundsMemory: names the broker does not know get no entry,
// entries follow cap changes (a new bucket only when the rate changes) and
// unused entries, such as those of deleted topics, are forgotten after
// capIdle.
func TestCapSetBoundsMemory(t *testing.T) {
	t.Parallel()
	clk := &stepClock{t: time.Unix(1_700_000_000, 0)}
	defs := map[string]int32{"a": 5, "b": 0}
	var lookups int
	var failing bool
	c := &capSet{kind: "topic", now: clk.now, log: slog.New(slog.DiscardHandler), entries: map[string]*capEntry{},
		lookup: func(name string) (int32, bool, error) {
			lookups++
			if failing {
				return 0, false, errors.New("broker unreachable")
			}
			r, ok := defs[name]
			return r, ok, nil
		}}

	ba, ra := c.bucket("a")
	require.NotNil(t, ba)
	require.EqualValues(t, 5, ra)
	bb, _ := c.bucket("b")
	require.Nil(t, bb, "cap 0: no bucket")
	bn, _ := c.bucket("nope")
	require.Nil(t, bn)
	require.Equal(t, 2, c.size(), "an unknown name leaves no entry")

	again, _ := c.bucket("a")
	require.Same(t, ba, again, "cached within capRefresh")
	require.Equal(t, 3, lookups)

	clk.advance(capRefresh)
	again, _ = c.bucket("a")
	require.Same(t, ba, again, "same rate after a refresh: the same bucket")
	defs["a"] = 7
	clk.advance(capRefresh)
	changed, r := c.bucket("a")
	require.NotSame(t, ba, changed)
	require.EqualValues(t, 7, r)

	// A failed read keeps the cap it had.
	failing = true
	clk.advance(capRefresh)
	kept, r := c.bucket("a")
	require.Same(t, changed, kept)
	require.EqualValues(t, 7, r)
	failing = false

	// "a" is deleted: the next refresh drops its entry.
	delete(defs, "a")
	clk.advance(capRefresh)
	gone, _ := c.bucket("a")
	require.Nil(t, gone)
	require.Equal(t, 1, c.size())

	// "b" is never used again: swept after capIdle.
	clk.advance(capIdle)
	_, _ = c.bucket("nope")
	require.Zero(t, c.size())
}

// TestMergeSettingsRetryInterval: a group with a fixed retry interval gets
// an exponential policy with initial = max = interval and multiplier 1;
// other groups keep the default 1 s..2 h doubling.
func TestMergeSettingsRetryInterval(t *testing.T) {
	t.Parallel()
	s, b := settingsServer(t)
	ctx := context.Background()
	_, err := b.CreateGroup(ctx, broker.Group{Name: "fixed", RetryInterval: 30 * time.Second, MaxRetries: 4})
	require.NoError(t, err)
	_, err = b.CreateGroup(ctx, broker.Group{Name: "fixed-orderly", Orderly: true, RetryInterval: 2 * time.Hour})
	require.NoError(t, err)
	_, err = b.CreateGroup(ctx, broker.Group{Name: "default"})
	require.NoError(t, err)
	cases := []struct {
		group        string
		initial, max time.Duration
		multiplier   float32
		maxAttempts  int32
	}{
		{"fixed", 30 * time.Second, 30 * time.Second, 1, 5},
		{"fixed-orderly", 2 * time.Hour, 2 * time.Hour, 1, 17},
		{"default", time.Second, 2 * time.Hour, 2, 17},
		{"unknown", time.Second, 2 * time.Hour, 2, 17},
	}
	for _, c := range cases {
		for _, ct := range []v2.ClientType{v2.ClientType_PUSH_CONSUMER, v2.ClientType_SIMPLE_CONSUMER} {
			in := clientSettings(ct)
			in.PubSub = &v2.Settings_Subscription{Subscription: &v2.Subscription{Group: &v2.Resource{Name: c.group}}}
			bp := s.mergeSettings(in).GetBackoffPolicy()
			require.Equal(t, c.maxAttempts, bp.GetMaxAttempts(), c.group)
			exp := bp.GetExponentialBackoff()
			require.NotNil(t, exp, "%s: Node reads only exponential policies", c.group)
			require.Equal(t, c.initial, exp.GetInitial().AsDuration(), c.group)
			require.Equal(t, c.max, exp.GetMax().AsDuration(), c.group)
			require.Equal(t, c.multiplier, exp.GetMultiplier(), c.group)
		}
	}
}
