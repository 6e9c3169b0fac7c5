package filestore

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
	"github.com/orbitmq/orbit/dataplane/store/consumequeue"
)

// RetentionReport describes one retention pass.
type RetentionReport struct {
	DeletedSegments int
	DeletedBytes    int64
	UnreadMessages  int64 // messages removed before every group had consumed them
	MinCommitLog    int64 // oldest retained offset afterwards
}

// EnforceRetention runs one retention pass now (the background loop runs
// one every RetentionInterval). Whole segments go, oldest first, while the
// oldest's newest message is older than RetentionHours, or the store is
// above MaxBytes, or the disk is above MaxDiskUsedPercent; the active
// segment never goes. Consume-queue entries pointing into deleted segments
// become unreadable: each queue's Min moves up past them, and consume-queue
// and index files entirely below the log are deleted.
func (s *Store) EnforceRetention(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	if !s.enter() {
		return rep, store.ErrClosed
	}
	defer s.leave()
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	now := s.cfg.Now()
	checkpointed := false
	for ctx.Err() == nil {
		segs := s.log.Segments()
		if len(segs) < 2 {
			break
		}
		old := segs[0]
		reason := s.retentionReason(old, now)
		if reason == "" {
			break
		}
		if !checkpointed {
			// Keep the checkpoint's last record out of the segments
			// about to go, so the next Open can use the checkpoint.
			if err := s.checkpointLocked(false, false); err != nil {
				return rep, err
			}
			checkpointed = true
		}
		if err := s.log.DeleteOldest(old.Base); err != nil {
			return rep, fmt.Errorf("retention: %w", err)
		}
		unread, affected := s.advanceMins(s.log.Min())
		rep.DeletedSegments++
		rep.DeletedBytes += old.Bytes
		rep.UnreadMessages += unread
		s.deletedSegments.Add(1)
		s.deletedBytes.Add(old.Bytes)
		s.unreadMessages.Add(unread)
		attrs := []any{"segment", old.Base, "reason", reason, "newest", time.Unix(0, old.Stamp).UTC(), "bytes", old.Bytes}
		if affected {
			s.unreadDeletions.Add(1)
			s.cfg.Log.Warn("retention deleted messages some consumer group had not consumed", append(attrs, "unread_messages", unread)...)
		} else {
			s.cfg.Log.Info("retention deleted a segment", attrs...)
		}
	}
	rep.MinCommitLog = s.log.Min()
	for _, q := range s.allQueues() {
		if _, err := q.cq.DeleteBefore(q.min.Load()); err != nil {
			return rep, fmt.Errorf("retention: %w", err)
		}
	}
	if _, _, err := s.idx.DeleteBefore(rep.MinCommitLog); err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	s.retentionRuns.Add(1)
	s.lastRetention.Store(now.UnixNano())
	return rep, ctx.Err()
}

func (s *Store) retentionReason(old commitlog.Info, now time.Time) string {
	if h := s.cfg.RetentionHours; h > 0 && old.Sealed && now.Sub(time.Unix(0, old.Stamp)) > time.Duration(h)*time.Hour {
		return "age"
	}
	if s.cfg.MaxBytes > 0 && s.diskUsed() > s.cfg.MaxBytes {
		return "size"
	}
	if p := s.cfg.MaxDiskUsedPercent; p > 0 {
		var st unix.Statfs_t
		if err := unix.Statfs(s.cfg.Dir, &st); err == nil {
			used := st.Blocks - st.Bfree
			if total := used + st.Bavail; total > 0 && used*100 > uint64(p)*total {
				return "disk"
			}
		}
	}
	return ""
}

// advanceMins moves each queue's Min past entries below minCL and counts the
// messages removed that MinConsumed says a group still needed. MinConsumed is
// called without store locks held other than maintMu.
func (s *Store) advanceMins(minCL int64) (unread int64, affected bool) {
	for _, q := range s.allQueues() {
		lo, hi := q.min.Load(), q.max.Load()
		if lo >= hi {
			continue
		}
		if e, err := q.cq.Get(lo); err == nil && e.Offset >= minCL {
			continue // this queue had nothing in the deleted segment
		}
		newMin := q.cq.Search(lo, hi, func(e consumequeue.Entry) bool { return e.Offset >= minCL })
		q.min.Store(newMin)
		if f := s.cfg.MinConsumed; f != nil {
			if c := f(q.topic, q.id); c < newMin {
				unread += newMin - max(lo, c)
				affected = true
			}
		}
	}
	return unread, affected
}
