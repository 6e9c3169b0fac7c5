package bench

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderCheck(t *testing.T) {
	tests := []struct {
		name       string
		seen       []string // "group:seq"
		violations int64
	}{
		{"in order", []string{"a:0", "a:1", "b:0", "a:2", "b:1"}, 0},
		{"redelivery of something seen is fine", []string{"a:0", "a:1", "a:0", "a:1", "a:2"}, 0},
		{"skipping ahead is a violation", []string{"a:0", "a:2", "a:1"}, 1},
		{"first message not first", []string{"a:1", "a:0"}, 1},
		{"groups are independent", []string{"a:0", "b:0", "b:1", "a:1", "c:0"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrderCheck()
			for _, s := range tt.seen {
				g, seq := s[:1], s[2:]
				_, err := strconv.Atoi(seq)
				require.NoError(t, err)
				o.see(g, seq)
			}
			require.Equal(t, tt.violations, o.violations())
		})
	}
}
