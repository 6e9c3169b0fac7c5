// Package index maps 64-bit key hashes to commit-log offsets with hash-slot
// files in the manner of RocketMQ's IndexFile: a fixed table of slots, each
// holding the newest entry of its chain, and entries appended in log order,
// each pointing to the previous entry of the same slot. Inserting is two
// stores into a memory-mapped file; a lookup walks one chain per file,
// newest file first. Hashes are not unique, so callers verify candidates
// against the records. May import: store/internal.
//
// File layout (little-endian), named by the commit-log offset of its first
// entry in 20 digits:
//
//	header (64 bytes): magic u32 "OIX1" | version u8 | 3 reserved |
//	    slots u32 | capacity u32 | count u32 | 4 reserved |
//	    begin i64 (first entry's offset) | end i64 (last entry's offset) | 24 reserved
//	slots:   slots × u32, index of the newest entry in the slot, 0 = empty
//	entries: capacity × 20 bytes: hash u64 | offset i64 | prev u32 (0 = end);
//	         entry 0 is never used, so count starts at 1
//
// Only the newest file is written; when it is full it is synced and left
// alone for good. The checkpoint records that file and its count. After a
// crash, entries past the recorded count are dropped and the slot table is
// rebuilt from the entries (the slots, being random writes, may hold links to
// dropped entries); the store then re-adds entries for the records after the
// checkpoint.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/orbitmq/orbit/dataplane/store/internal/mapped"
)

const (
	headerSize = 64
	entrySize  = 20
	magic      = 0x3158494F // "OIX1"
)

// ErrDamaged: the files do not match the checkpoint.
var ErrDamaged = errors.New("index damaged")

// Position identifies how far the index had got: the newest file (by its
// first offset) and its entry count. A zero Count means no file.
type Position struct {
	Begin int64
	Count uint32
}

// Config sizes index files.
type Config struct {
	Dir     string
	Slots   uint32
	Entries uint32 // entries per file
}

type sealed struct {
	begin int64
	path  string
}

// Index is a set of index files. Add and Rotate are for the single writer;
// Lookup, Position, Sync and DeleteBefore may run concurrently with it.
type Index struct {
	cfg      Config
	fileSize int64

	mu     sync.RWMutex
	sealed []sealed     // oldest first
	active *mapped.File // nil until the first Add
	begin  int64
	count  uint32
	dirty  bool
	newDir bool
	closed bool
}

func fileName(begin int64) string { return fmt.Sprintf("%020d", begin) }

// Open loads the index files. With pos nil the directory must be empty (a
// rebuild). Otherwise files newer than pos are removed, the newest kept
// file is cut back to pos.Count entries and, unless the last run closed
// cleanly, its slot table is rebuilt.
func Open(cfg Config, pos *Position, clean bool) (*Index, error) {
	x := &Index{cfg: cfg, fileSize: headerSize + 4*int64(cfg.Slots) + entrySize*int64(cfg.Entries)}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create index directory: %w", err)
	}
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("list index directory: %w", err)
	}
	var begins []int64
	for _, e := range ents {
		b, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 20 {
			return nil, fmt.Errorf("unexpected file %s in the index directory: %w", e.Name(), ErrDamaged)
		}
		begins = append(begins, b)
	}
	slices.Sort(begins)
	if pos == nil || pos.Count == 0 {
		if len(begins) > 0 && pos == nil {
			return nil, fmt.Errorf("index directory is not empty: %w", ErrDamaged)
		}
		for _, b := range begins {
			if err := os.Remove(filepath.Join(cfg.Dir, fileName(b))); err != nil {
				return nil, fmt.Errorf("remove index file past the checkpoint: %w", err)
			}
			x.newDir = true
		}
		return x, nil
	}
	found := false
	for _, b := range begins {
		path := filepath.Join(cfg.Dir, fileName(b))
		switch {
		case b > pos.Begin:
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("remove index file past the checkpoint: %w", err)
			}
			x.newDir = true
		case b < pos.Begin:
			if err := x.checkSealed(path); err != nil {
				return nil, err
			}
			x.sealed = append(x.sealed, sealed{begin: b, path: path})
		default:
			found = true
			if err := x.openActive(path, b, pos.Count, clean); err != nil {
				return nil, err
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("index file %s is missing: %w", fileName(pos.Begin), ErrDamaged)
	}
	return x, nil
}

func (x *Index) checkSealed(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open index file: %w", err)
	}
	defer f.Close()
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil || binary.LittleEndian.Uint32(h) != magic ||
		binary.LittleEndian.Uint32(h[8:]) != x.cfg.Slots || binary.LittleEndian.Uint32(h[12:]) != x.cfg.Entries {
		return fmt.Errorf("index file %s has a bad header or other sizes: %w", path, ErrDamaged)
	}
	return nil
}

func (x *Index) openActive(path string, begin int64, count uint32, clean bool) error {
	st, err := os.Stat(path)
	if err != nil || st.Size() != x.fileSize {
		return fmt.Errorf("index file %s has the wrong size (the index sizes changed?): %w", path, ErrDamaged)
	}
	used := headerSize + 4*int64(x.cfg.Slots) + entrySize*int64(count)
	m, err := mapped.Open(path, x.fileSize, 1<<20, used)
	if err != nil {
		return err
	}
	d := m.Data()
	if binary.LittleEndian.Uint32(d[0:]) != magic || binary.LittleEndian.Uint32(d[8:]) != x.cfg.Slots ||
		binary.LittleEndian.Uint32(d[12:]) != x.cfg.Entries || binary.LittleEndian.Uint32(d[16:]) < count ||
		count > x.cfg.Entries || count == 0 {
		m.Close()
		return fmt.Errorf("index file %s does not match the checkpoint: %w", path, ErrDamaged)
	}
	x.active, x.begin, x.count = m, begin, count
	binary.LittleEndian.PutUint32(d[16:], count)
	if count > 1 {
		binary.LittleEndian.PutUint64(d[32:], uint64(x.entryOffset(count-1)))
	}
	if !clean {
		x.rebuildSlots()
	}
	x.dirty = true
	return nil
}

func (x *Index) entryAt(i uint32) int64 {
	return headerSize + 4*int64(x.cfg.Slots) + entrySize*int64(i)
}

func (x *Index) entryOffset(i uint32) int64 {
	at := x.entryAt(i)
	return int64(binary.LittleEndian.Uint64(x.active.Data()[at+8:]))
}

// rebuildSlots recomputes the slot table and chains from the entries.
func (x *Index) rebuildSlots() {
	d := x.active.Data()
	clear(d[headerSize : headerSize+4*int64(x.cfg.Slots)])
	for i := uint32(1); i < x.count; i++ {
		at := x.entryAt(i)
		slot := headerSize + 4*int64(binary.LittleEndian.Uint64(d[at:])%uint64(x.cfg.Slots))
		binary.LittleEndian.PutUint32(d[at+16:], binary.LittleEndian.Uint32(d[slot:]))
		binary.LittleEndian.PutUint32(d[slot:], i)
	}
}

// Add records that the record at offset has a key with this hash. Offsets
// must not decrease.
func (x *Index) Add(hash uint64, offset int64) error {
	if x.active == nil || x.count >= x.cfg.Entries {
		if err := x.rotate(offset); err != nil {
			return err
		}
	}
	if err := x.active.Reserve(x.entryAt(x.count + 1)); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	d := x.active.Data()
	at := x.entryAt(x.count)
	slot := headerSize + 4*int64(hash%uint64(x.cfg.Slots))
	binary.LittleEndian.PutUint64(d[at:], hash)
	binary.LittleEndian.PutUint64(d[at+8:], uint64(offset))
	binary.LittleEndian.PutUint32(d[at+16:], binary.LittleEndian.Uint32(d[slot:]))
	binary.LittleEndian.PutUint32(d[slot:], x.count)
	x.count++
	binary.LittleEndian.PutUint32(d[16:], x.count)
	binary.LittleEndian.PutUint64(d[32:], uint64(offset))
	x.dirty = true
	return nil
}

// rotate seals the active file (sync, close) and starts one at offset.
func (x *Index) rotate(offset int64) error {
	path := filepath.Join(x.cfg.Dir, fileName(offset))
	m, err := mapped.Create(path, x.fileSize, 1<<20)
	if err != nil {
		return fmt.Errorf("create index file: %w", err)
	}
	if err := m.Reserve(x.entryAt(1)); err != nil {
		m.Close()
		os.Remove(path)
		return err
	}
	d := m.Data()
	binary.LittleEndian.PutUint32(d[0:], magic)
	d[4] = 1
	binary.LittleEndian.PutUint32(d[8:], x.cfg.Slots)
	binary.LittleEndian.PutUint32(d[12:], x.cfg.Entries)
	binary.LittleEndian.PutUint32(d[16:], 1)
	binary.LittleEndian.PutUint64(d[24:], uint64(offset))
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.active; old != nil {
		if err := old.Sync(); err != nil {
			m.Close()
			os.Remove(path)
			return err
		}
		old.Close()
		x.sealed = append(x.sealed, sealed{begin: x.begin, path: old.Name()})
	}
	x.active, x.begin, x.count, x.dirty, x.newDir = m, offset, 1, true, true
	return nil
}

// Position reports the newest file and its count.
func (x *Index) Position() Position {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.active == nil {
		return Position{}
	}
	return Position{Begin: x.begin, Count: x.count}
}

// Lookup calls fn with the offsets of entries whose hash matches, newest
// first, until fn returns false. fn runs without the index lock held, so it
// may read records; the writer is never kept waiting by a lookup.
func (x *Index) Lookup(hash uint64, fn func(offset int64) bool) error {
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return fmt.Errorf("lookup: %w", mapped.ErrClosed)
	}
	var active []int64
	if x.active != nil {
		d := x.active.Data()
		read := func(p []byte, off int64) error { copy(p, d[off:off+int64(len(p))]); return nil }
		x.walk(read, x.count, hash, func(off int64) bool {
			active = append(active, off)
			return len(active) < maxActiveMatches
		})
	}
	sealed := slices.Clone(x.sealed)
	x.mu.RUnlock()
	for _, off := range active {
		if !fn(off) {
			return nil
		}
	}
	for i := len(sealed) - 1; i >= 0; i-- {
		more, err := x.lookupSealed(sealed[i].path, hash, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// maxActiveMatches bounds what one lookup collects from the newest file.
const maxActiveMatches = 100000

func (x *Index) lookupSealed(path string, hash uint64, fn func(int64) bool) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true, nil // deleted by retention meanwhile
		}
		return false, fmt.Errorf("open index file: %w", err)
	}
	defer f.Close()
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return false, fmt.Errorf("read index file %s: %w", path, err)
	}
	if binary.LittleEndian.Uint32(h) != magic || binary.LittleEndian.Uint32(h[8:]) != x.cfg.Slots {
		return false, fmt.Errorf("index file %s: %w", path, ErrDamaged)
	}
	count := binary.LittleEndian.Uint32(h[16:])
	read := func(p []byte, off int64) error { _, err := f.ReadAt(p, off); return err }
	return x.walk(read, count, hash, fn), nil
}

// walk follows the chain of hash's slot through entries below count.
func (x *Index) walk(read func([]byte, int64) error, count uint32, hash uint64, fn func(int64) bool) bool {
	var b [entrySize]byte
	if err := read(b[:4], headerSize+4*int64(hash%uint64(x.cfg.Slots))); err != nil {
		return true
	}
	i := binary.LittleEndian.Uint32(b[:4])
	for i != 0 && i < count {
		if err := read(b[:], x.entryAt(i)); err != nil {
			return true
		}
		if binary.LittleEndian.Uint64(b[0:]) == hash {
			if !fn(int64(binary.LittleEndian.Uint64(b[8:]))) {
				return false
			}
		}
		prev := binary.LittleEndian.Uint32(b[16:])
		if prev >= i {
			break // links only point backwards; anything else is damage
		}
		i = prev
	}
	return true
}

// DeleteBefore removes files all of whose entries are below offset; the
// newest file is kept. It returns how many were removed and their bytes.
func (x *Index) DeleteBefore(offset int64) (int, int64, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, freed := 0, int64(0)
	for len(x.sealed) > 0 {
		next := x.begin
		if len(x.sealed) > 1 {
			next = x.sealed[1].begin
		}
		if next > offset {
			break
		}
		if st, err := os.Stat(x.sealed[0].path); err == nil {
			freed += blocks(st)
		}
		if err := os.Remove(x.sealed[0].path); err != nil {
			return n, freed, fmt.Errorf("delete index file: %w", err)
		}
		x.sealed = x.sealed[1:]
		x.newDir = true
		n++
	}
	return n, freed, nil
}

// Sync makes the active file's entries, and new file names, durable.
func (x *Index) Sync() error {
	x.mu.Lock()
	m, dirty, newDir := x.active, x.dirty, x.newDir
	x.dirty, x.newDir = false, false
	x.mu.Unlock()
	if m != nil && dirty {
		if err := m.Sync(); err != nil && !errors.Is(err, mapped.ErrClosed) {
			return err
		}
	}
	if newDir {
		d, err := os.Open(x.cfg.Dir)
		if err != nil {
			return fmt.Errorf("open index directory: %w", err)
		}
		defer d.Close()
		if err := d.Sync(); err != nil {
			return fmt.Errorf("sync index directory: %w", err)
		}
	}
	return nil
}

// Bytes is the disk space of the index files.
func (x *Index) Bytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var n int64
	if x.active != nil {
		n += x.active.Reserved()
	}
	// Sealed files are full: their whole size is in use.
	return n + int64(len(x.sealed))*x.fileSize
}

// Close releases the active file.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed = true
	if x.active == nil {
		return nil
	}
	err := x.active.Close()
	x.active = nil
	return err
}
