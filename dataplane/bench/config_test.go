package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/bench"
)

// TestRunRefusesIncompleteConfig: a run that cannot work is refused before
// any client starts, with a message naming what is missing.
func TestRunRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	ok := bench.Config{Endpoint: "127.0.0.1:1", Topic: "t", Group: "g", Size: 1, Producers: 1, Duration: time.Second}
	tests := []struct {
		name   string
		mutate func(*bench.Config)
		want   string
	}{
		{"no endpoint", func(c *bench.Config) { c.Endpoint = "" }, "endpoint"},
		{"negative producers", func(c *bench.Config) { c.Producers = -1 }, "producers"},
		{"receive only without consumers", func(c *bench.Config) { c.Producers, c.Messages = 0, 5 }, "without producers"},
		{"receive only without a count", func(c *bench.Config) { c.Producers, c.Consumers = 0, 1 }, "without producers"},
		{"consumers without a group", func(c *bench.Config) { c.Consumers, c.Group = 1, "" }, "group"},
		{"unknown type", func(c *bench.Config) { c.Type = "batch" }, "unknown message type"},
		{"fifo with fewer groups than producers", func(c *bench.Config) { c.Type, c.Producers, c.MessageGroups = bench.TypeFIFO, 4, 2 }, "message groups"},
		{"delay without a delay", func(c *bench.Config) { c.Type = bench.TypeDelay }, "positive delay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.mutate(&cfg)
			_, err := bench.Run(context.Background(), cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
