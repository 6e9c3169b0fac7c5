package broker

import (
	"fmt"
	"strconv"
	"strings"
)

// Receipt handles are "1.<queue>.<offset>.<generation hex>" (doc.go). The
// group and topic are not in the handle: every call that takes one also
// names them, and a generation is unique across all queues anyway.

const maxHandleLen = 64

func encodeHandle(queue int32, offset int64, gen uint64) string {
	return "1." + strconv.FormatInt(int64(queue), 10) + "." +
		strconv.FormatInt(offset, 10) + "." + strconv.FormatUint(gen, 16)
}

// parseHandle never panics; anything malformed is ErrInvalidHandle.
func parseHandle(h string) (queue int32, offset int64, gen uint64, err error) {
	bad := fmt.Errorf("%w: malformed", ErrInvalidHandle)
	if len(h) > maxHandleLen {
		return 0, 0, 0, bad
	}
	parts := strings.Split(h, ".")
	if len(parts) != 4 || parts[0] != "1" {
		return 0, 0, 0, bad
	}
	q, err1 := strconv.ParseInt(parts[1], 10, 32)
	off, err2 := strconv.ParseInt(parts[2], 10, 64)
	g, err3 := strconv.ParseUint(parts[3], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil || q < 0 || off < 0 {
		return 0, 0, 0, bad
	}
	return int32(q), off, g, nil
}

func (b *Broker) newGen() uint64 { return b.gen.Add(1) }
