package filestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
	"github.com/orbitmq/orbit/dataplane/store/index"
)

// errRebuild: replaying from the checkpoint found the derived files out of
// step with the log; everything derived is rebuilt from the whole log.
var errRebuild = errors.New("consume queues out of step with the commit log")

// recover brings the derived files in line with the commit log.
//
// The commit log is the truth; consume queues and the index are derived.
// With a usable checkpoint, the derived files are trusted up to it and only
// the log after it is verified and replayed (the fast path, also after a
// crash). When the checkpoint is missing or damaged, or the files do not
// match it (a queue or index file missing or cut short, entries pointing
// past the log's end, the log no longer reaching the checkpoint, or replay
// finding a queue out of step), consume queues and index are deleted and
// rebuilt from the whole log. Either way the log is verified frame by frame
// from where replay starts, and cut at the first bad frame (see
// commitlog.Log.Recover for why everything after it is given up).
func (s *Store) recover() error {
	began := time.Now()
	if err := os.MkdirAll(s.cqDir, 0o755); err != nil {
		return fmt.Errorf("create consume-queue directory: %w", err)
	}
	cp, err := readCheckpoint(s.cfg.Dir)
	if err != nil {
		s.cfg.Log.Warn("checkpoint unreadable", "err", err)
		cp = nil
	}
	if cp != nil && cp.clean {
		// From here on files change; a crash before the next checkpoint
		// must not find a checkpoint that still promises a clean state
		// (RocketMQ's abort file serves the same purpose).
		unclean := *cp
		unclean.clean = false
		if err := writeCheckpoint(s.cfg.Dir, &unclean); err != nil {
			return err
		}
	}
	full, reason := cp == nil, "no checkpoint"
	var res commitlog.Result
	if !full {
		err = s.loadDerived(cp)
		if err == nil {
			res, err = s.log.Recover(commitlog.RecoverOptions{From: cp.end, Durable: cp.end, Clean: cp.clean}, s.replay(false))
		}
		if err != nil {
			if !errors.Is(err, errRebuild) && !errors.Is(err, commitlog.ErrBadStart) &&
				!errors.Is(err, consumequeue.ErrDamaged) && !errors.Is(err, index.ErrDamaged) && !errors.Is(err, errCheckpointStale) {
				return err
			}
			full, reason = true, err.Error()
		}
	}
	if full {
		if err := s.resetDerived(); err != nil {
			return err
		}
		opt := commitlog.RecoverOptions{From: s.log.Min()}
		if cp != nil {
			opt.Durable, opt.Clean = cp.end, cp.clean
		}
		if res, err = s.log.Recover(opt, s.replay(true)); err != nil {
			return err
		}
	}
	if full && cp != nil && (res.Cut == nil || res.Cut.At >= cp.end) {
		if err := s.keepEmptiedQueues(cp); err != nil {
			return err
		}
	}
	minCL := s.log.Min()
	for _, q := range s.allQueues() {
		q.max.Store(q.next)
		q.min.Store(q.cq.Search(0, q.next, func(e consumequeue.Entry) bool { return e.Offset >= minCL }))
	}
	s.visible.Store(res.End)
	s.log.NoteStamp(s.lastStamp)
	s.cpAll = true // the first checkpoint syncs every queue recovery touched
	if c := res.Cut; c != nil {
		s.truncatedBytes.Store(c.LostBytes)
		attrs := []any{"at", c.At, "reason", c.Reason, "lost_bytes", c.LostBytes, "removed_segments", c.RemovedSegments}
		if c.Corrupt {
			s.corruptRecords.Add(1)
			s.cfg.Log.Error("commit log corrupt: cut at the first bad record; the records after it are lost", attrs...)
		} else {
			s.cfg.Log.Warn("commit log had a torn tail from an interrupted write; removed it", attrs...)
		}
	}
	attrs := []any{"end", res.End, "records_replayed", res.Frames, "queues", len(s.allQueues()), "duration", time.Since(began)}
	if full {
		s.cfg.Log.Info("store recovered by rebuilding consume queues and index from the commit log", append(attrs, "reason", reason)...)
	} else {
		s.cfg.Log.Info("store opened", append(attrs, "clean", cp.clean)...)
	}
	return nil
}

var errCheckpointStale = errors.New("checkpoint does not match the commit log")

// loadDerived opens the consume queues and the index as the checkpoint
// describes them.
func (s *Store) loadDerived(cp *checkpoint) error {
	if cp.lastFrame >= 0 && cp.lastFrame >= s.log.Min() {
		// The log must still reach the checkpoint's end, or the queues
		// would point past it.
		frame, err := s.log.ReadFrame(cp.lastFrame, nil)
		if err != nil {
			return fmt.Errorf("%w: its last record: %v", errCheckpointStale, err)
		}
		end := cp.lastFrame + int64(len(frame))
		if end > cp.end || (end < cp.end && cp.end%s.log.SegmentBytes() != 0) {
			return fmt.Errorf("%w: end %d does not follow the last record at %d", errCheckpointStale, cp.end, cp.lastFrame)
		}
	}
	s.lastFrame, s.lastStamp = cp.lastFrame, cp.lastStamp
	want := make(map[string]bool)
	for _, c := range cp.queues {
		k := qkey{c.topic, c.id}
		dir := s.queueDir(k)
		cq, err := consumequeue.Open(dir, int64(s.cfg.QueueFileEntries), c.max)
		if err != nil {
			return err
		}
		q := &queue{qkey: k, cq: cq, next: c.max, started: true}
		s.queues[k] = q
		if e, err := cq.Get(c.max - 1); err != nil || e.Offset >= cp.end {
			return fmt.Errorf("queue %s/%d: last entry points past the checkpoint: %w", c.topic, c.id, consumequeue.ErrDamaged)
		}
		want[dir] = true
		want[filepath.Dir(dir)] = true
	}
	// Queues the checkpoint does not know were made after it (replay makes
	// them again) or deleted before it.
	topics, err := os.ReadDir(s.cqDir)
	if err != nil {
		return fmt.Errorf("list consume queues: %w", err)
	}
	for _, t := range topics {
		tdir := filepath.Join(s.cqDir, t.Name())
		if !want[tdir] {
			if err := os.RemoveAll(tdir); err != nil {
				return fmt.Errorf("remove stale consume queues: %w", err)
			}
			continue
		}
		qs, err := os.ReadDir(tdir)
		if err != nil {
			return fmt.Errorf("list consume queues: %w", err)
		}
		for _, qd := range qs {
			if d := filepath.Join(tdir, qd.Name()); !want[d] {
				if err := os.RemoveAll(d); err != nil {
					return fmt.Errorf("remove stale consume queue: %w", err)
				}
			}
		}
	}
	idx, err := index.Open(s.indexConfig(), &cp.index, cp.clean)
	if err != nil {
		return err
	}
	s.idx = idx
	return nil
}

func (s *Store) indexConfig() index.Config {
	return index.Config{Dir: s.idxDir, Slots: uint32(s.cfg.IndexSlots), Entries: uint32(s.cfg.IndexEntries)}
}

// resetDerived deletes every consume queue and index file.
func (s *Store) resetDerived() error {
	for _, q := range s.allQueues() {
		q.cq.Close()
	}
	s.queues = make(map[qkey]*queue)
	if s.idx != nil {
		s.idx.Close()
		s.idx = nil
	}
	for _, d := range []string{s.cqDir, s.idxDir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove derived files: %w", err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	idx, err := index.Open(s.indexConfig(), nil, false)
	if err != nil {
		return err
	}
	s.idx = idx
	s.lastFrame = -1
	s.replayedTombstones = map[string]bool{}
	return nil
}

// keepEmptiedQueues runs after a rebuild: a queue the checkpoint knew but
// the log no longer has a record of had all its messages removed by
// retention (the log is intact up to the checkpoint, and no tombstone
// deleted it). Rebuilt from the log alone it would vanish and restart at
// offset 0 under consumers that committed higher offsets, so it keeps its
// end offset, with a filler entry pointing below the log (RocketMQ pads
// consume queues with filler entries too) so the next Open finds it.
func (s *Store) keepEmptiedQueues(cp *checkpoint) error {
	minCL := s.log.Min()
	if minCL == 0 {
		return nil // nothing was ever deleted
	}
	for _, c := range cp.queues {
		if s.lookup(c.topic, c.id) != nil || s.replayedTombstones[c.topic] {
			continue
		}
		q := s.getQueue(c.topic, c.id)
		if err := q.cq.Put(c.max-1, consumequeue.Entry{Offset: minCL - 1, Size: 1}); err != nil {
			return err
		}
		q.next, q.started = c.max, true
		s.cfg.Log.Info("queue keeps its end offset although retention removed all its messages", "topic", c.topic, "queue", c.id, "offset", c.max)
	}
	return nil
}

// replay dispatches one recovered frame, like the writer does for new ones.
// In a rebuild (full) a queue may begin at any offset, because retention
// may have removed its start; out-of-sequence records there are skipped and
// counted. After a checkpoint they mean the files are wrong: errRebuild.
func (s *Store) replay(full bool) func(off int64, frame []byte) error {
	var m store.Message
	return func(off int64, frame []byte) error {
		s.lastFrame, s.lastStamp = off, commitlog.Stamp(frame)
		switch commitlog.Type(frame) {
		case typeTombstone:
			topic, err := tombstoneTopic(frame)
			if err != nil {
				return fmt.Errorf("tombstone at %d: %w", off, err)
			}
			s.replayedTombstones[topic] = true
			return s.removeTopic(topic)
		case typeMessage:
		default:
			s.cfg.Log.Warn("skipping a record of unknown type (written by a newer version?)", "commitlog_offset", off, "type", commitlog.Type(frame))
			return nil
		}
		if err := decodeMessage(frame, &m, ""); err != nil {
			s.corruptRecords.Add(1)
			s.cfg.Log.Error("undecodable record with a good checksum; not dispatched", "commitlog_offset", off, "err", err)
			return nil
		}
		q := s.getQueue(m.Topic, m.QueueID)
		if !q.started && full {
			q.next = m.QueueOffset
		}
		if m.QueueOffset != q.next {
			if !full {
				return fmt.Errorf("%w: record at %d has %s/%d offset %d, queue is at %d", errRebuild, off, m.Topic, m.QueueID, m.QueueOffset, q.next)
			}
			s.corruptRecords.Add(1)
			s.cfg.Log.Error("record out of sequence; not dispatched", "commitlog_offset", off, "topic", m.Topic, "queue", m.QueueID, "offset", m.QueueOffset, "expected", q.next)
			return nil
		}
		e := consumequeue.Entry{Offset: off, Size: int32(len(frame)), TagHash: tagHash(m.Tag), Stamp: commitlog.Stamp(frame)}
		if err := q.cq.Put(m.QueueOffset, e); err != nil {
			return err
		}
		if err := s.indexMessage(m.Topic, m.MessageID, m.Keys, off); err != nil {
			return err
		}
		q.next++
		q.started = true
		return nil
	}
}
