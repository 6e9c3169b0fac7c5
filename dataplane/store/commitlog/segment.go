package commitlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// segment is one file of the log: [base, base+size) of the offset space,
// of which the last FooterSize bytes hold the footer once it is sealed.
type segment struct {
	base int64
	path string
	f    *os.File

	sealed  atomic.Bool
	dataEnd atomic.Int64 // sealed: offset past the last frame
	stamp   atomic.Int64 // stamp of the newest frame known to be in it
	frames  atomic.Int64 // frames written by this process or read from the footer
	alloc   atomic.Int64 // bytes with disk blocks, from the start of the file
}

// segmentName is the file name of the segment starting at base: the base
// offset in 20 decimal digits, so names sort in log order (as RocketMQ does).
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func parseSegmentName(name string) (int64, bool) {
	if len(name) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return n, err == nil && n >= 0
}

// allocated reports the disk blocks a file uses.
func allocated(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks * 512
	}
	return st.Size()
}

// readAt reads len(p) bytes at file position pos; bytes past the end of a
// short file read as zeros (a preallocated segment is zero there anyway).
func (s *segment) readAt(p []byte, pos int64) error {
	n, err := s.f.ReadAt(p, pos)
	if errors.Is(err, io.EOF) {
		clear(p[n:])
		return nil
	}
	return err
}

func (s *segment) readFooter(size, capacity int64) (footer, bool) {
	b := make([]byte, FooterSize)
	if err := s.readAt(b, size-FooterSize); err != nil {
		return footer{}, false
	}
	return decodeFooter(b, s.base, capacity)
}

// seal writes the footer and makes the whole segment durable.
func (s *segment) seal(size int64, f footer) error {
	if _, err := s.f.WriteAt(f.encode(), size-FooterSize); err != nil {
		return fmt.Errorf("write footer of segment %d: %w", s.base, err)
	}
	if err := unix.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("sync segment %d: %w", s.base, err)
	}
	s.dataEnd.Store(f.dataEnd)
	s.stamp.Store(f.stamp)
	s.frames.Store(f.frames)
	s.sealed.Store(true)
	return nil
}

// zeroFrom overwrites every non-zero byte from file position pos to the end
// of the segment (footer included) and reports how many bytes held data.
// After a cut, stale frames past the new end must not survive: a later
// append shorter than them would leave intact-looking old frames behind it,
// which a future recovery would take for new ones.
func (s *segment) zeroFrom(pos, size int64) (int64, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	zeros := make([]byte, chunk)
	var last int64 = -1
	fd := int(s.f.Fd())
	for from := pos; from < size; {
		// Segments are sparse past what was ever reserved for writes: only
		// data regions can hold bytes to clear, and skipping the holes keeps
		// recovery of a mostly empty 1 GiB segment from reading all of it.
		start, end := dataRegion(fd, from, size)
		if start >= end {
			break
		}
		for p := start; p < end; p += chunk {
			n := min(chunk, end-p)
			if err := s.readAt(buf[:n], p); err != nil {
				return 0, fmt.Errorf("read segment %d at %d: %w", s.base, p, err)
			}
			if isZero(buf[:n]) {
				continue
			}
			for i := n - 1; i >= 0; i-- {
				if buf[i] != 0 {
					last = p + i
					break
				}
			}
			if _, err := s.f.WriteAt(zeros[:n], p); err != nil {
				return 0, fmt.Errorf("zero segment %d at %d: %w", s.base, p, err)
			}
		}
		from = end
	}
	if err := unix.Fdatasync(fd); err != nil {
		return 0, fmt.Errorf("sync segment %d: %w", s.base, err)
	}
	if last < 0 {
		return 0, nil
	}
	return last + 1 - pos, nil
}

// dataRegion returns the next region of [from, size) that may hold data
// (SEEK_DATA/SEEK_HOLE); start >= end when only holes are left. A file
// system without hole reporting makes it the whole rest, which is correct,
// only slower.
func dataRegion(fd int, from, size int64) (start, end int64) {
	start, err := unix.Seek(fd, from, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO):
		return size, size // nothing but holes after from
	case err != nil:
		return from, size
	}
	if start >= size {
		return size, size
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err != nil || end > size {
		end = size
	}
	return start, end
}

// reserve gives [0, end) of the file disk blocks ahead of writes, so that
// fdatasync has no block allocation to journal for most appends.
func (s *segment) reserve(end, chunk, size int64) error {
	have := s.alloc.Load()
	if end <= have {
		return nil
	}
	to := min((end+chunk-1)/chunk*chunk, size)
	err := unix.Fallocate(int(s.f.Fd()), 0, have, to-have)
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("preallocate segment %d: %w", s.base, err)
	}
	s.alloc.Store(to)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// createSegment makes a fresh, sparse segment file of size bytes.
func createSegment(dir string, base, size int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("size segment %s: %w", path, err)
	}
	return &segment{base: base, path: path, f: f}, nil
}
