// Package consumequeue keeps one consume queue: the positions of a
// topic/queue's messages in the commit log, as fixed-size entries in
// memory-mapped files, so that queue offset n is found by arithmetic. The
// queue is derived data: the file store rebuilds it from the commit log when
// it is missing, behind or damaged. May import: store/internal.
//
// Entry (32 bytes, little-endian):
//
//	0  offset   i64  commit-log offset of the record
//	8  size     i32  record size
//	12 tagHash  u32  Java String.hashCode of the tag (RocketMQ's tagsCode), 0 without a tag
//	16 stamp    i64  store time, Unix nanoseconds (binary search by time needs no log reads)
//	24 crc      u32  CRC-32C of [0, 24): a torn or stale entry is detectable
//	28 reserved u32
//
// Entry n lives in file n/perFile (named by its first entry index, 20
// digits) at byte (n%perFile)·32. Files are sparse; blocks are reserved ahead
// of the writer (see package mapped).
package consumequeue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/orbitmq/orbit/dataplane/store/internal/mapped"
)

// EntrySize is the size of one entry.
const EntrySize = 32

// reserveChunk is how far ahead of the writer blocks are reserved.
const reserveChunk = 64 << 10

// ErrDamaged: an entry that should be there is missing or fails its CRC.
var ErrDamaged = errors.New("consume queue damaged")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry locates one message.
type Entry struct {
	Offset  int64
	Size    int32
	TagHash uint32
	Stamp   int64
}

func putEntry(b []byte, e Entry) {
	binary.LittleEndian.PutUint64(b[0:], uint64(e.Offset))
	binary.LittleEndian.PutUint32(b[8:], uint32(e.Size))
	binary.LittleEndian.PutUint32(b[12:], e.TagHash)
	binary.LittleEndian.PutUint64(b[16:], uint64(e.Stamp))
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
	binary.LittleEndian.PutUint32(b[28:], 0)
}

func getEntry(b []byte) (Entry, bool) {
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return Entry{}, false
	}
	e := Entry{
		Offset:  int64(binary.LittleEndian.Uint64(b[0:])),
		Size:    int32(binary.LittleEndian.Uint32(b[8:])),
		TagHash: binary.LittleEndian.Uint32(b[12:]),
		Stamp:   int64(binary.LittleEndian.Uint64(b[16:])),
	}
	return e, e.Offset >= 0 && e.Size > 0
}

type file struct {
	m     *mapped.File
	num   int64 // file number: first entry index / perFile
	dirty atomic.Bool
}

// Queue is one consume queue. Put is for the single writer; the other
// methods are safe for concurrent use with it and each other. Readers must
// only read entries the writer has published (below the queue's max, which
// the caller tracks).
type Queue struct {
	dir     string
	perFile int64

	mu     sync.RWMutex // files: read-locked for entry access, locked to add/remove files
	files  []*file      // consecutive file numbers
	closed bool

	needDirSync atomic.Bool // a file or directory was created since the last Sync
}

// New returns an empty queue kept in dir; nothing is created until Put.
func New(dir string, perFile int64) *Queue {
	return &Queue{dir: dir, perFile: perFile}
}

func fileName(first int64) string { return fmt.Sprintf("%020d", first) }

// Open loads a queue that holds entries up to (not including) max, as a
// checkpoint recorded. Files past max are removed; entries past max in the
// last file are left for the writer to overwrite. It fails with ErrDamaged
// when the files do not fit that description, and the caller rebuilds.
func Open(dir string, perFile, max int64) (*Queue, error) {
	q := New(dir, perFile)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("consume queue %s is missing: %w", dir, ErrDamaged)
	}
	if err != nil {
		return nil, fmt.Errorf("list consume queue %s: %w", dir, err)
	}
	var nums []int64
	for _, e := range ents {
		first, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 20 || first%perFile != 0 {
			return nil, fmt.Errorf("unexpected file %s in %s: %w", e.Name(), dir, ErrDamaged)
		}
		nums = append(nums, first/perFile)
	}
	slices.Sort(nums)
	lastNeeded := (max - 1) / perFile
	size := perFile * EntrySize
	for i, n := range nums {
		path := filepath.Join(dir, fileName(n*perFile))
		if max == 0 || n > lastNeeded {
			if err := os.Remove(path); err != nil {
				q.Close()
				return nil, fmt.Errorf("remove consume-queue file past the checkpoint: %w", err)
			}
			q.needDirSync.Store(true)
			continue
		}
		if i > 0 && n != nums[i-1]+1 {
			q.Close()
			return nil, fmt.Errorf("file %d missing in %s: %w", n-1, dir, ErrDamaged)
		}
		st, err := os.Stat(path)
		if err != nil || st.Size() != size {
			q.Close()
			return nil, fmt.Errorf("file %s has the wrong size: %w", path, ErrDamaged)
		}
		used := size
		if n == lastNeeded {
			used = (max - n*perFile) * EntrySize
		}
		m, err := mapped.Open(path, size, reserveChunk, used)
		if err != nil {
			q.Close()
			return nil, err
		}
		q.files = append(q.files, &file{m: m, num: n})
	}
	if max > 0 {
		if len(q.files) == 0 || q.files[len(q.files)-1].num != lastNeeded {
			q.Close()
			return nil, fmt.Errorf("no file for entry %d in %s: %w", max-1, dir, ErrDamaged)
		}
		if _, err := q.Get(max - 1); err != nil {
			q.Close()
			return nil, err
		}
	}
	return q, nil
}

// fileFor returns the file holding entry idx; the caller holds mu.
func (q *Queue) fileFor(idx int64) *file {
	if len(q.files) == 0 || idx < 0 {
		return nil
	}
	i := idx/q.perFile - q.files[0].num
	if i < 0 || i >= int64(len(q.files)) {
		return nil
	}
	return q.files[i]
}

// Put writes entry idx. Entries are put in increasing order; the first put
// to an empty queue may start anywhere (a queue rebuilt after retention
// starts at its oldest surviving message).
func (q *Queue) Put(idx int64, e Entry) error {
	q.mu.RLock()
	f := q.fileFor(idx)
	closed := q.closed
	q.mu.RUnlock()
	if closed {
		return fmt.Errorf("put entry %d in %s: %w", idx, q.dir, mapped.ErrClosed)
	}
	if f == nil {
		var err error
		if f, err = q.addFile(idx / q.perFile); err != nil {
			return err
		}
	}
	at := (idx % q.perFile) * EntrySize
	if err := f.m.Reserve(at + EntrySize); err != nil {
		return err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return fmt.Errorf("put entry %d in %s: %w", idx, q.dir, mapped.ErrClosed)
	}
	putEntry(f.m.Data()[at:at+EntrySize], e)
	if !f.dirty.Load() {
		f.dirty.Store(true)
	}
	return nil
}

func (q *Queue) addFile(num int64) (*file, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := len(q.files); n > 0 && num != q.files[n-1].num+1 {
		return nil, fmt.Errorf("consume queue %s: entry file %d does not follow %d", q.dir, num, q.files[n-1].num)
	}
	if len(q.files) == 0 {
		if err := os.MkdirAll(q.dir, 0o755); err != nil {
			return nil, fmt.Errorf("create consume-queue directory: %w", err)
		}
	}
	m, err := mapped.Create(filepath.Join(q.dir, fileName(num*q.perFile)), q.perFile*EntrySize, reserveChunk)
	if err != nil {
		return nil, err
	}
	f := &file{m: m, num: num}
	q.files = append(q.files, f)
	q.needDirSync.Store(true)
	return f, nil
}

// Get reads entry idx.
func (q *Queue) Get(idx int64) (Entry, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	f := q.fileFor(idx)
	if f == nil || q.closed {
		return Entry{}, fmt.Errorf("entry %d of %s has no file: %w", idx, q.dir, ErrDamaged)
	}
	at := (idx % q.perFile) * EntrySize
	e, ok := getEntry(f.m.Data()[at : at+EntrySize])
	if !ok {
		return Entry{}, fmt.Errorf("entry %d of %s: %w", idx, q.dir, ErrDamaged)
	}
	return e, nil
}

// Read fills dst with the entries from index from on.
func (q *Queue) Read(from int64, dst []Entry) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	for i := range dst {
		idx := from + int64(i)
		f := q.fileFor(idx)
		if f == nil || q.closed {
			return fmt.Errorf("entry %d of %s has no file: %w", idx, q.dir, ErrDamaged)
		}
		at := (idx % q.perFile) * EntrySize
		e, ok := getEntry(f.m.Data()[at : at+EntrySize])
		if !ok {
			return fmt.Errorf("entry %d of %s: %w", idx, q.dir, ErrDamaged)
		}
		dst[i] = e
	}
	return nil
}

// Search returns the first index in [lo, hi) whose entry satisfies pred, or
// hi. pred must be false for a prefix of the range and true after; missing
// or invalid entries count as false (they only occur below the data).
func (q *Queue) Search(lo, hi int64, pred func(Entry) bool) int64 {
	q.mu.RLock()
	defer q.mu.RUnlock()
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok := false
		if f := q.fileFor(mid); f != nil && !q.closed {
			at := (mid % q.perFile) * EntrySize
			e, valid := getEntry(f.m.Data()[at : at+EntrySize])
			ok = valid && pred(e)
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// DeleteBefore removes the files whose entries are all below idx and
// returns the bytes freed. The newest file always stays, even when all its
// entries point at deleted records: it holds the queue's last entry, and so
// the queue's end offset, which must survive a restart (RocketMQ keeps the
// last consume-queue file for the same reason).
func (q *Queue) DeleteBefore(idx int64) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var freed int64
	for len(q.files) > 1 && (q.files[0].num+1)*q.perFile <= idx {
		f := q.files[0]
		freed += f.m.Reserved()
		f.m.Close()
		if err := os.Remove(f.m.Name()); err != nil {
			return freed, fmt.Errorf("delete consume-queue file: %w", err)
		}
		q.files = q.files[1:]
		q.needDirSync.Store(true)
	}
	return freed, nil
}

// Sync makes the entries written so far, and new file names, durable.
func (q *Queue) Sync() error {
	q.mu.RLock()
	files := slices.Clone(q.files)
	q.mu.RUnlock()
	for _, f := range files {
		if f.dirty.CompareAndSwap(true, false) {
			if err := f.m.Sync(); err != nil && !errors.Is(err, mapped.ErrClosed) {
				return err
			}
		}
	}
	if q.needDirSync.CompareAndSwap(true, false) {
		// The queue's directory and its parent (the topic's) may be new.
		for _, d := range []string{q.dir, filepath.Dir(q.dir), filepath.Dir(filepath.Dir(q.dir))} {
			if err := syncDir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Bytes is the disk space the queue's files reserve.
func (q *Queue) Bytes() int64 {
	q.mu.RLock()
	defer q.mu.RUnlock()
	var n int64
	for _, f := range q.files {
		n += f.m.Reserved()
	}
	return n
}

// Close releases the files; later calls fail or find nothing.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	var err error
	for _, f := range q.files {
		if cerr := f.m.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	q.files = nil
	return err
}

// Remove closes the queue and deletes its directory.
func (q *Queue) Remove() error {
	q.Close()
	if err := os.RemoveAll(q.dir); err != nil {
		return fmt.Errorf("remove consume queue %s: %w", q.dir, err)
	}
	return nil
}
