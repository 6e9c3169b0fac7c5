package iam

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	l := newLimiter(3, time.Minute, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		_, ok := l.take("k", now)
		require.True(t, ok, "attempt %d", i)
		now = now.Add(10 * time.Second)
	}
	wait, ok := l.take("k", now) // attempts at 0s, 10s, 20s; now 30s
	require.False(t, ok)
	require.Equal(t, 30*time.Second, wait)
	// A refused attempt is not recorded, so it does not extend the lockout.
	now = now.Add(30 * time.Second) // the 0s attempt leaves the window
	_, ok = l.take("k", now)
	require.True(t, ok)
	_, ok = l.take("k", now)
	require.False(t, ok)

	l.reset("k")
	require.Zero(t, l.len())
	_, ok = l.take("k", now)
	require.True(t, ok)
}

func TestLimiterParallelAttemptsCounted(t *testing.T) {
	t.Parallel()
	l := newLimiter(5, time.Minute, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if _, ok := l.take("k", now); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 5, allowed)
}

func TestLimiterBoundedMemory(t *testing.T) {
	t.Parallel()
	l := newLimiter(5, time.Minute, 10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 5 {
		l.take("victim", now)
	}
	// A flood of fresh keys never grows the map past its bound; the least
	// recently active keys go first.
	for i := range 1000 {
		l.take(fmt.Sprintf("k%d", i), now)
		require.LessOrEqual(t, l.len(), 10)
	}
	_, ok := l.take("victim", now)
	require.True(t, ok, "evicted")

	// Keys whose events have aged out are dropped before live ones.
	l = newLimiter(5, time.Minute, 3)
	l.take("old", now)
	l.take("live1", now.Add(2*time.Minute))
	l.take("live2", now.Add(2*time.Minute))
	l.take("live3", now.Add(2*time.Minute))
	require.Equal(t, 3, l.len())
	for _, k := range []string{"live1", "live2", "live3"} {
		_, ok := l.keys[k]
		require.True(t, ok, k)
	}
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultConfig().Validate())
	require.NoError(t, Config{}.Validate(), "zero values take defaults")
	c := Config{}.withDefaults()
	require.Equal(t, DefaultConfig().AccessTokenTTL, c.AccessTokenTTL)
	require.Equal(t, DefaultConfig().PasswordParams, c.PasswordParams)
	require.NotNil(t, c.Now)
	require.Error(t, Config{AccessTokenTTL: -time.Second}.Validate())
	require.Error(t, Config{LoginMaxPerIP: -1}.Validate())
}

func TestPlanKeys(t *testing.T) {
	t.Parallel()
	s := NewService(nil, Config{}, nil)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	maxAge, ttl := s.cfg.SigningKeyMaxAge, s.cfg.AccessTokenTTL
	key := func(id string, age time.Duration) SigningKey { return SigningKey{ID: id, CreatedAt: now.Add(-age)} }
	for _, tc := range []struct {
		name       string
		keys       []SigningKey
		force      bool
		wantAdd    bool
		wantRetire []string
	}{
		{"none", nil, false, true, nil},
		{"fresh", []SigningKey{key("a", time.Hour)}, false, false, nil},
		{"fresh forced", []SigningKey{key("a", time.Hour)}, true, true, nil},
		{"due", []SigningKey{key("a", maxAge)}, false, true, nil},
		{"old active kept until replaced", []SigningKey{key("a", 2*maxAge)}, false, true, []string{"a"}},
		{"retire only past max age plus ttl", []SigningKey{key("a", maxAge+ttl), key("b", maxAge+ttl+time.Second), key("c", time.Hour)}, false, false, []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			add, retire, err := s.planKeys(now, tc.keys, tc.force)
			require.NoError(t, err)
			require.Equal(t, tc.wantAdd, len(add) == 1)
			require.Equal(t, tc.wantRetire, retire)
		})
	}
}
