package filestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
	"github.com/orbitmq/orbit/dataplane/store/index"
)

// Store is the on-disk store.Store.
type Store struct {
	cfg       Config
	sync      bool
	maxRecord int
	cqDir     string
	idxDir    string
	lockFile  *os.File

	log *commitlog.Log
	idx *index.Index

	qmu    sync.RWMutex
	queues map[qkey]*queue

	// Append hand-off to the writer goroutine.
	pmu        sync.Mutex
	pending    []*appendReq
	closing    bool
	wake       chan struct{}
	writerDone chan struct{}

	// wmu is held by the writer while it writes and dispatches a batch,
	// and by the checkpoint to take a consistent snapshot. Fields below
	// it are the writer's.
	wmu       sync.Mutex
	failed    error // sticky: after an I/O error no more appends
	lastStamp int64
	lastFrame int64 // offset of the newest dispatched frame, -1 if none
	gen       int64 // batches dispatched; the checkpoint skips if unchanged
	wbuf      []byte
	disp      []dispatch
	touched   []*queue
	dirty     []*queue
	digest    *xxhash.Digest

	replayedTombstones map[string]bool // recovery: topics deleted by replayed tombstones

	visible atomic.Int64 // commit-log offset below which records are dispatched

	// Readers hold rmu shared while they touch mapped files; Close takes
	// it exclusively before unmapping.
	rmu    sync.RWMutex
	closed atomic.Bool

	maintMu sync.Mutex // checkpoint, retention and Close, one at a time
	cpGen   int64      // gen of the last checkpoint
	cpAll   bool       // the last checkpoint failed: sync every queue next time
	bgStop  chan struct{}
	bgDone  chan struct{}
	close   sync.Once

	// Stats.
	appends         atomic.Int64
	batches         atomic.Int64
	deletedSegments atomic.Int64
	deletedBytes    atomic.Int64
	unreadDeletions atomic.Int64
	unreadMessages  atomic.Int64
	retentionRuns   atomic.Int64
	lastRetention   atomic.Int64 // Unix ns
	corruptRecords  atomic.Int64
	truncatedBytes  atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store in cfg.Dir, recovering it first if the
// last run did not close it (see recover.go), and starts the writer and the
// background loop (fsync/checkpoint and retention).
func Open(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("file store config: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	s := &Store{
		cfg:        cfg,
		sync:       cfg.Flush == store.FlushSync,
		cqDir:      filepath.Join(cfg.Dir, "consumequeue"),
		idxDir:     filepath.Join(cfg.Dir, "index"),
		queues:     make(map[qkey]*queue),
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
		bgStop:     make(chan struct{}),
		bgDone:     make(chan struct{}),
		digest:     xxhash.New(),
		lastFrame:  -1,

		replayedTombstones: map[string]bool{},
	}
	if err := s.lockDir(); err != nil {
		return nil, err
	}
	var err error
	s.log, err = commitlog.Open(commitlog.Config{
		Dir: filepath.Join(cfg.Dir, "commitlog"), SegmentBytes: cfg.SegmentBytes,
		Pretouch: !cfg.NoPretouch, Log: cfg.Log,
	})
	if err != nil {
		s.lockFile.Close()
		return nil, err
	}
	s.maxRecord = min(cfg.MaxRecordBytes, s.log.MaxFrame())
	if err := s.recover(); err != nil {
		s.releaseFiles()
		return nil, fmt.Errorf("recover store in %s: %w", cfg.Dir, err)
	}
	// A checkpoint of the recovered state right away: the next crash then
	// replays only what comes after it.
	if err := s.checkpoint(false, true); err != nil {
		s.releaseFiles()
		return nil, err
	}
	go s.writer()
	go s.background()
	return s, nil
}

// lockDir keeps two processes from opening one store: an exclusive flock
// on Dir/LOCK, dropped by the kernel when the process exits in any way.
func (s *Store) lockDir() error {
	f, err := os.OpenFile(filepath.Join(s.cfg.Dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open store lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("lock store directory %s (in use by another process?): %w", s.cfg.Dir, err)
	}
	s.lockFile = f
	return nil
}

// enter admits a reader of mapped files; false once the store is closed.
func (s *Store) enter() bool {
	s.rmu.RLock()
	if s.closed.Load() {
		s.rmu.RUnlock()
		return false
	}
	return true
}

func (s *Store) leave() { s.rmu.RUnlock() }

// Close drains pending appends, fsyncs, writes a clean checkpoint and
// releases the files. Later calls return store.ErrClosed; closing twice is
// harmless.
func (s *Store) Close() error {
	var err error
	s.close.Do(func() {
		close(s.bgStop)
		<-s.bgDone
		s.pmu.Lock()
		s.closing = true
		s.pmu.Unlock()
		s.signal()
		<-s.writerDone
		s.maintMu.Lock()
		s.wmu.Lock()
		failed := s.failed
		s.wmu.Unlock()
		if failed == nil {
			if err = s.log.Sync(); err == nil {
				err = s.checkpointLocked(true, true)
			}
		} else {
			// No clean checkpoint: the next Open recovers from the last
			// good one and finds out what reached the disk.
			err = fmt.Errorf("writes had failed: %w", failed)
		}
		s.maintMu.Unlock()
		s.rmu.Lock()
		s.closed.Store(true)
		s.rmu.Unlock()
		for _, q := range s.allQueues() {
			q.wake()
		}
		if rerr := s.releaseFiles(); err == nil {
			err = rerr
		}
		if err != nil {
			err = fmt.Errorf("close store: %w", err)
		}
	})
	return err
}

func (s *Store) releaseFiles() error {
	var errs []error
	for _, q := range s.allQueues() {
		errs = append(errs, q.cq.Close())
	}
	if s.idx != nil {
		errs = append(errs, s.idx.Close())
	}
	errs = append(errs, s.log.Close())
	if s.lockFile != nil {
		errs = append(errs, s.lockFile.Close())
	}
	return errors.Join(errs...)
}

// Stats reports sizes, retention progress and recovery findings.
func (s *Store) Stats() store.Stats {
	st := store.Stats{
		CommitLogBytes:  s.log.Bytes(),
		DiskUsedBytes:   s.diskUsed(),
		Segments:        len(s.log.Segments()),
		MinCommitLog:    s.log.Min(),
		MaxCommitLog:    s.visible.Load(),
		DeletedSegments: s.deletedSegments.Load(),
		UnreadDeletions: s.unreadDeletions.Load(),
		UnreadMessages:  s.unreadMessages.Load(),
		DeletedBytes:    s.deletedBytes.Load(),
		RetentionRuns:   s.retentionRuns.Load(),
		CorruptRecords:  s.corruptRecords.Load(),
		TruncatedBytes:  s.truncatedBytes.Load(),
		Syncs:           s.log.Syncs(),
		Appends:         s.appends.Load(),
		AppendBatches:   s.batches.Load(),
	}
	if ns := s.lastRetention.Load(); ns != 0 {
		st.LastRetention = time.Unix(0, ns)
	}
	return st
}

// diskUsed adds up the blocks of every file the store keeps.
func (s *Store) diskUsed() int64 {
	n := s.log.Bytes() + s.log.PreparedBytes()
	for _, q := range s.allQueues() {
		n += q.cq.Bytes()
	}
	if s.idx != nil {
		n += s.idx.Bytes()
	}
	if st, err := os.Stat(filepath.Join(s.cfg.Dir, checkpointFile)); err == nil {
		n += st.Size()
	}
	return n
}
