// Package mapped is a fixed-size, memory-mapped, read-write file whose disk
// blocks are reserved with fallocate before they are written. Writing through
// a shared mapping into a hole makes the kernel allocate a block at page-fault
// time; on a full disk that fault is a SIGBUS that kills the process. Reserving
// first turns a full disk into an error the caller can return. May import:
// stdlib, x/sys.
package mapped

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by operations on a closed File.
var ErrClosed = errors.New("mapped file closed")

// File is a mapped file of a fixed size. Data may be read and written by the
// caller, who is responsible for synchronising those accesses; Sync, Reserve
// and Close are safe to call concurrently with each other.
type File struct {
	mu       sync.Mutex
	f        *os.File
	data     []byte
	size     int64
	reserved int64 // [0, reserved) has disk blocks
	chunk    int64
	noAlloc  bool // the file system refused fallocate: reserve nothing
	closed   bool
}

// Create makes a new file of size bytes (sparse) and maps it. chunk is the
// granularity of reservations.
func Create(path string, size, chunk int64) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("size %s: %w", path, err)
	}
	m, err := mapFile(f, size, chunk)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return m, nil
}

// Open maps an existing file, growing it to size if it is shorter (a file
// cut short reads as zeros past its end), and reserves [0, used).
func Open(path string, size, chunk, used int64) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Size() != size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("resize %s from %d to %d: %w", path, st.Size(), size, err)
		}
	}
	m, err := mapFile(f, size, chunk)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := m.Reserve(used); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func mapFile(f *os.File, size, chunk int64) (*File, error) {
	if chunk <= 0 {
		chunk = 1 << 20
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return &File{f: f, data: data, size: size, chunk: chunk}, nil
}

// Data is the mapping. It is invalid after Close.
func (m *File) Data() []byte { return m.data }

// Size is the file's length.
func (m *File) Size() int64 { return m.size }

// Name is the file's path.
func (m *File) Name() string { return m.f.Name() }

// Reserved is how many bytes from the start have disk blocks reserved.
func (m *File) Reserved() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reserved
}

// Reserve makes sure [0, end) has disk blocks, allocating whole chunks ahead
// so that most writes need no call. It never changes existing data.
func (m *File) Reserve(end int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if end <= m.reserved {
		return nil
	}
	to := min((end+m.chunk-1)/m.chunk*m.chunk, m.size)
	if m.noAlloc {
		m.reserved = to
		return nil
	}
	err := unix.Fallocate(int(m.f.Fd()), 0, m.reserved, to-m.reserved)
	switch {
	case err == nil:
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS):
		// Some file systems (tmpfs before 3.5, some FUSE) cannot reserve;
		// we then live with the page-fault allocation.
		m.noAlloc = true
	default:
		return fmt.Errorf("reserve %d bytes of %s: %w", to-m.reserved, m.f.Name(), err)
	}
	m.reserved = to
	return nil
}

// Sync writes the mapping's dirty pages to disk.
func (m *File) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := unix.Msync(m.data, unix.MS_SYNC); err != nil {
		return fmt.Errorf("msync %s: %w", m.f.Name(), err)
	}
	return nil
}

// Close unmaps and closes the file. The caller must make sure no one reads
// Data any more. Closing twice is harmless.
func (m *File) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	err := unix.Munmap(m.data)
	m.data = nil
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}
