package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Frame layout (little-endian). Every record in a segment is one frame:
//
//	0  magic    u32  0x314D514F ("OQM1" on disk); 0 marks the end of data
//	4  length   u32  whole frame, header and trailer included
//	8  offset   i64  commit-log offset of the frame itself
//	16 stamp    i64  store time, Unix nanoseconds; never decreases along the log
//	24 type     u8   what the payload is (the caller's choice, never 0)
//	25 version  u8   payload encoding version
//	26 flags    u16  reserved, 0
//	28 payload  ...
//	len-4 crc   u32  CRC-32C (Castagnoli) of bytes [0, len-4)
//
// The offset in the header lets a reader prove that a frame is the one it
// asked for (a stale or misdirected index entry cannot return another
// record), and the stamp lets recovery and retention learn a segment's age
// without decoding payloads.
const (
	Magic       uint32 = 0x314D514F
	HeaderSize         = 28
	TrailerSize        = 4
	// Overhead is the size of a frame with an empty payload.
	Overhead = HeaderSize + TrailerSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors reading frames.
var (
	// ErrNoFrame: the bytes at an offset are not the start of a frame
	// (wrong magic, offset or length), e.g. an offset inside a record.
	ErrNoFrame = errors.New("no frame at offset")
	// ErrChecksum: a frame header is plausible but its CRC does not match.
	ErrChecksum = errors.New("frame checksum mismatch")
	// ErrGone: the offset is below the oldest retained segment.
	ErrGone = errors.New("commit-log offset deleted by retention")
	// ErrBeyond: the offset is past the end of the log.
	ErrBeyond = errors.New("commit-log offset beyond the end")
)

// PutHeader starts a frame of length bytes in frame[:HeaderSize]. The offset,
// stamp and CRC are filled in by Finish when the frame's place is known.
func PutHeader(frame []byte, length int, typ, version uint8) {
	binary.LittleEndian.PutUint32(frame[0:], Magic)
	binary.LittleEndian.PutUint32(frame[4:], uint32(length))
	binary.LittleEndian.PutUint64(frame[8:], 0)
	binary.LittleEndian.PutUint64(frame[16:], 0)
	frame[24] = typ
	frame[25] = version
	binary.LittleEndian.PutUint16(frame[26:], 0)
}

// Finish sets the frame's offset and stamp and seals it with its CRC. Any
// payload patching must happen before.
func Finish(frame []byte, offset, stamp int64) {
	binary.LittleEndian.PutUint64(frame[8:], uint64(offset))
	binary.LittleEndian.PutUint64(frame[16:], uint64(stamp))
	n := len(frame) - TrailerSize
	binary.LittleEndian.PutUint32(frame[n:], crc32.Checksum(frame[:n], castagnoli))
}

// Length reads the frame length from a header; ok is false when the header
// is not a plausible frame start (wrong magic or a length below Overhead).
func Length(hdr []byte) (n int, ok bool) {
	if binary.LittleEndian.Uint32(hdr[0:]) != Magic {
		return 0, false
	}
	n = int(binary.LittleEndian.Uint32(hdr[4:]))
	return n, n >= Overhead
}

// Offset, Stamp, Type, Version and Payload read a frame's fields.
func Offset(frame []byte) int64   { return int64(binary.LittleEndian.Uint64(frame[8:])) }
func Stamp(frame []byte) int64    { return int64(binary.LittleEndian.Uint64(frame[16:])) }
func Type(frame []byte) uint8     { return frame[24] }
func Version(frame []byte) uint8  { return frame[25] }
func Payload(frame []byte) []byte { return frame[HeaderSize : len(frame)-TrailerSize] }

// Check verifies that frame is a whole, intact frame written at offset.
func Check(frame []byte, offset int64) error {
	if len(frame) < Overhead {
		return fmt.Errorf("%d bytes at %d: %w", len(frame), offset, ErrNoFrame)
	}
	n, ok := Length(frame)
	if !ok || n != len(frame) || Offset(frame) != offset {
		return fmt.Errorf("at %d: %w", offset, ErrNoFrame)
	}
	end := n - TrailerSize
	if crc32.Checksum(frame[:end], castagnoli) != binary.LittleEndian.Uint32(frame[end:]) {
		return fmt.Errorf("at %d: %w", offset, ErrChecksum)
	}
	return nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Segment footer: the last FooterSize bytes of a sealed segment file. A
// segment is sealed (written to durably once, when the writer moves on to the
// next file), so recovery can skip it and retention can read its age without
// scanning it.
//
//	0  magic    u32  0x464D514F ("OQMF")
//	4  version  u8, 3 bytes reserved
//	8  base     i64  offset of the segment's first byte
//	16 dataEnd  i64  offset just past its last frame
//	24 stamp    i64  stamp of its last frame (0 if none)
//	32 frames   i64  number of frames
//	40 reserved to 60
//	60 crc      u32  CRC-32C of [0, 60)
const (
	FooterSize         = 64
	footerMagic uint32 = 0x464D514F
)

type footer struct {
	base, dataEnd, stamp, frames int64
}

func (f footer) encode() []byte {
	b := make([]byte, FooterSize)
	binary.LittleEndian.PutUint32(b[0:], footerMagic)
	b[4] = 1
	binary.LittleEndian.PutUint64(b[8:], uint64(f.base))
	binary.LittleEndian.PutUint64(b[16:], uint64(f.dataEnd))
	binary.LittleEndian.PutUint64(b[24:], uint64(f.stamp))
	binary.LittleEndian.PutUint64(b[32:], uint64(f.frames))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

func decodeFooter(b []byte, base, capacity int64) (footer, bool) {
	if len(b) != FooterSize || binary.LittleEndian.Uint32(b[0:]) != footerMagic || b[4] != 1 ||
		crc32.Checksum(b[:60], castagnoli) != binary.LittleEndian.Uint32(b[60:]) {
		return footer{}, false
	}
	f := footer{
		base:    int64(binary.LittleEndian.Uint64(b[8:])),
		dataEnd: int64(binary.LittleEndian.Uint64(b[16:])),
		stamp:   int64(binary.LittleEndian.Uint64(b[24:])),
		frames:  int64(binary.LittleEndian.Uint64(b[32:])),
	}
	if f.base != base || f.dataEnd < base || f.dataEnd > base+capacity {
		return footer{}, false
	}
	return f, true
}
