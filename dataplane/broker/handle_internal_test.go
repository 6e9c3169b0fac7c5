package broker

import (
	"errors"
	"testing"
)

func TestHandleRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q   int32
		off int64
		gen uint64
	}{{0, 0, 0}, {63, 1 << 62, 1<<64 - 1}, {7, 12345, 0xdeadbeef}} {
		h := encodeHandle(c.q, c.off, c.gen)
		if len(h) > maxHandleLen {
			t.Fatalf("handle %q longer than %d", h, maxHandleLen)
		}
		q, off, gen, err := parseHandle(h)
		if err != nil || q != c.q || off != c.off || gen != c.gen {
			t.Fatalf("parseHandle(%q) = %d %d %x %v", h, q, off, gen, err)
		}
	}
}

// FuzzParseHandle: clients send arbitrary strings as handles; none may panic
// and every failure is ErrInvalidHandle.
func FuzzParseHandle(f *testing.F) {
	for _, s := range []string{"", "1.0.0.0", "1.2.3.ff", "1.-1.0.0", "2.0.0.0", "1..0.0", "1.0.0.0.0", "1.0.0.+f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		q, off, gen, err := parseHandle(h)
		if err != nil {
			if !errors.Is(err, ErrInvalidHandle) {
				t.Fatalf("error %v is not ErrInvalidHandle", err)
			}
			return
		}
		if q < 0 || off < 0 {
			t.Fatalf("parseHandle(%q) accepted negative position %d/%d", h, q, off)
		}
		if _, _, gen2, err := parseHandle(encodeHandle(q, off, gen)); err != nil || gen2 != gen {
			t.Fatalf("re-encoding %q does not round-trip", h)
		}
	})
}
