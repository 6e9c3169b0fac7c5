package commitlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// zeroFrom must clear stray bytes wherever they are in a sparse segment,
// also far past the reserved region, while skipping the holes between.
func TestZeroFromClearsDataAcrossHoles(t *testing.T) {
	const size = 64 << 20
	tests := []struct {
		name   string
		writes []int64 // positions of 3-byte garbage runs
		from   int64
		lost   int64
	}{
		{"all holes", nil, 0, 0},
		{"near the start", []int64{1000}, 0, 1003},
		{"far apart", []int64{4096, 40 << 20}, 100, 40<<20 + 3 - 100},
		{"in the last byte range", []int64{size - 3}, 1 << 20, size - (1 << 20)},
		{"before from is kept", []int64{10, 5 << 20}, 1 << 20, 4<<20 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "seg"))
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, f.Truncate(size))
			for _, at := range tt.writes {
				_, err := f.WriteAt([]byte{1, 2, 3}, at)
				require.NoError(t, err)
			}
			s := &segment{f: f}
			lost, err := s.zeroFrom(tt.from, size)
			require.NoError(t, err)
			require.Equal(t, tt.lost, lost)
			for _, at := range tt.writes {
				b := make([]byte, 3)
				_, err := f.ReadAt(b, at)
				require.NoError(t, err)
				if at < tt.from {
					require.Equal(t, []byte{1, 2, 3}, b, "bytes before from stay")
				} else {
					require.Equal(t, []byte{0, 0, 0}, b, "garbage at %d is cleared", at)
				}
			}
		})
	}
}
