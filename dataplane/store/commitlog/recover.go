package commitlog

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// ErrBadStart: the recovery start offset is not inside the log's data (the
// checkpoint that suggested it does not match the files).
var ErrBadStart = errors.New("recovery start is outside the log")

// RecoverOptions say where recovery starts and what is known about the data.
type RecoverOptions struct {
	// From is where scanning starts: a frame boundary, normally the end of
	// the data covered by the last checkpoint, or Min() to scan everything.
	From int64
	// Durable: frames below this offset were durable and verified before,
	// so a bad one there is corruption, never a torn write.
	Durable int64
	// Clean: the previous run closed the log; nothing past the end can be
	// left over, so the tail need not be cleared.
	Clean bool
}

// Cut describes data recovery removed from the end of the log.
type Cut struct {
	At int64 // the log now ends here
	// Corrupt is true when data that should have been intact was bad: a
	// frame below Durable, inside a sealed segment, followed by an intact
	// frame (a flipped bit rather than a torn write), or a missing segment
	// file. False means the torn tail of writes a crash interrupted.
	Corrupt         bool
	Reason          string
	LostBytes       int64 // non-zero bytes removed at and after At (best effort)
	RemovedSegments int
}

// Result summarises recovery.
type Result struct {
	End    int64 // next write position
	Frames int64 // frames passed to the callback
	Stamp  int64 // stamp of the last of them (0 if none)
	Cut    *Cut  // nil if nothing was removed
}

type stopReason int

const (
	stopLimit stopReason = iota // reached the end of the data area / sealed data end
	stopZero                    // a zero header: no more frames
	stopBad                     // an invalid frame
)

type scanEnd struct {
	pos    int64
	frames int64
	stamp  int64
	why    stopReason
	detail string
}

// Recover verifies every frame from opt.From to the end of the log, calls fn
// for each in order (the frame is only valid during the call), and makes the
// log ready for writing at the end of the last good frame.
//
// The first bad frame ends the log. A frame's length cannot be trusted once
// its CRC fails, so there is no safe way to find the next frame boundary:
// guessing could resynchronise on bytes inside a message body and invent
// records. Everything after the cut (the rest of that segment and all later
// segments) is therefore unreachable and is cleared, so that stale frames can
// never be mistaken for new ones by a later recovery; what was lost is
// reported in Result.Cut. An error from fn aborts recovery without changing
// any file, so the caller may retry from another offset.
func (l *Log) Recover(opt RecoverOptions, fn func(off int64, frame []byte) error) (Result, error) {
	var res Result
	t := *l.tab.Load()
	if len(t) == 0 {
		if opt.From != 0 {
			return res, fmt.Errorf("offset %d in an empty log: %w", opt.From, ErrBadStart)
		}
		s, err := l.newSegment(0)
		if err != nil {
			return res, err
		}
		l.install([]*segment{s}, s, 0)
		return res, nil
	}
	first := t[0].base
	if opt.From < first || opt.From > t[len(t)-1].base+l.capacity {
		return res, fmt.Errorf("offset %d, log holds [%d, %d): %w", opt.From, first, t[len(t)-1].base+l.capacity, ErrBadStart)
	}
	i := int((opt.From - first) / l.size)
	for _, s := range t[:i] {
		// Recovery trusts segments below its start, but each must still
		// carry the footer it got when sealed; a file cut short lost it.
		if !s.sealed.Load() {
			return res, fmt.Errorf("segment %d below the start has no footer: %w", s.base, ErrBadStart)
		}
	}
	if s := t[i]; s.sealed.Load() && opt.From > s.dataEnd.Load() {
		return res, fmt.Errorf("offset %d past the data end %d of sealed segment %d: %w", opt.From, s.dataEnd.Load(), s.base, ErrBadStart)
	}
	buf := make([]byte, 1<<20)
	pos := opt.From
	var cut *Cut
	needNext := false
	for {
		s := t[i]
		last := i == len(t)-1
		limit := s.base + l.capacity
		if s.sealed.Load() {
			limit = s.dataEnd.Load()
		}
		e, err := l.scan(s, pos, limit, &buf, fn)
		if err != nil {
			return res, err
		}
		res.Frames += e.frames
		if e.frames > 0 {
			res.Stamp = e.stamp
		}
		pos = e.pos
		switch {
		case e.why == stopBad:
			corrupt := pos < opt.Durable || s.sealed.Load() || !last || l.intactAfter(pos)
			cut = &Cut{At: pos, Corrupt: corrupt, Reason: e.detail}
		case s.sealed.Load() && e.why == stopZero:
			cut = &Cut{At: pos, Corrupt: true, Reason: fmt.Sprintf("sealed segment %d has no frame at %d, before its data end %d", s.base, pos, s.dataEnd.Load())}
		case s.sealed.Load():
			if last {
				needNext = true
			}
		case !last:
			// An unsealed segment with a successor: its footer is
			// damaged, since a roll seals durably before writing on.
			// The frames scanned end cleanly, so seal it again.
			stamp := s.stamp.Load()
			if e.frames > 0 {
				stamp = e.stamp
			}
			l.log.Warn("commit-log segment lost its footer; sealing it again", "segment", s.base, "data_end", pos)
			if err := s.seal(l.size, footer{base: s.base, dataEnd: pos, stamp: stamp, frames: s.frames.Load() + e.frames}); err != nil {
				return res, err
			}
		}
		if cut != nil || last {
			break
		}
		if e.frames > 0 {
			s.stamp.Store(e.stamp)
		}
		i++
		pos = t[i].base
	}
	s := t[i]
	if e := res.Stamp; e > 0 && !s.sealed.Load() {
		s.stamp.Store(e)
	}
	removed := append(slices.Clone(t[i+1:]), l.orphans...)
	if cut == nil && len(l.orphans) > 0 {
		cut = &Cut{At: pos, Corrupt: true, Reason: fmt.Sprintf("segment %d is missing", l.orphans[0].base-l.size)}
		// The gap may be right after a sealed segment: the log goes on
		// in a new segment after it, as usual.
	}
	switch {
	case cut != nil && cut.At == pos && s.sealed.Load() && needNext:
		// Only orphans to drop; the sealed segment stays intact.
	case cut != nil:
		lost, err := s.zeroFrom(pos-s.base, l.size)
		if err != nil {
			return res, err
		}
		cut.LostBytes += lost
		s.sealed.Store(false)
		s.dataEnd.Store(0)
		needNext = false
	case !opt.Clean && !needNext:
		// After a crash, bytes past a zero header can be frames whose
		// predecessor never reached the disk. Clear them (see above).
		lost, err := s.zeroFrom(pos-s.base, l.size)
		if err != nil {
			return res, err
		}
		if lost > 0 {
			cut = &Cut{At: pos, Reason: "bytes after the last frame", LostBytes: lost}
		}
	}
	if cut != nil {
		for _, r := range removed {
			cut.RemovedSegments++
			if r.sealed.Load() {
				cut.LostBytes += r.dataEnd.Load() - r.base
			} else {
				cut.LostBytes += r.alloc.Load()
			}
			r.f.Close()
			if err := os.Remove(r.path); err != nil {
				return res, fmt.Errorf("remove segment %d after the cut: %w", r.base, err)
			}
		}
		if len(removed) > 0 {
			if err := syncDir(l.dir); err != nil {
				return res, err
			}
		}
		l.orphans = nil
		res.Cut = cut
	}
	keep := slices.Clone(t[:i+1])
	if needNext {
		next, err := l.newSegment(s.base + l.size)
		if err != nil {
			return res, err
		}
		keep = append(keep, next)
		l.install(keep, next, next.base)
		res.End = next.base
		return res, nil
	}
	// A segment cut short by damage is grown back to full size (the new
	// part reads as zeros).
	if st, err := s.f.Stat(); err == nil && st.Size() != l.size {
		if err := s.f.Truncate(l.size); err != nil {
			return res, fmt.Errorf("resize segment %d: %w", s.base, err)
		}
	}
	s.alloc.Store(allocated(s.f))
	l.install(keep, s, pos)
	res.End = pos
	return res, nil
}

func (l *Log) install(segs []*segment, active *segment, pos int64) {
	l.tabMu.Lock()
	l.tab.Store(&segs)
	l.tabMu.Unlock()
	l.active.Store(active)
	l.pos.Store(pos)
}

// intactAfter reports whether the bad frame at off is followed by an intact
// frame, i.e. its length field was right and only its contents changed.
func (l *Log) intactAfter(off int64) bool {
	hdr := make([]byte, HeaderSize)
	if err := l.ReadAt(hdr, off); err != nil {
		return false
	}
	n, ok := Length(hdr)
	if !ok {
		return false
	}
	_, err := l.ReadFrame(off+int64(n), nil)
	return err == nil
}

// scan walks the frames of s from offset from up to limit.
func (l *Log) scan(s *segment, from, limit int64, bufp *[]byte, fn func(int64, []byte) error) (scanEnd, error) {
	var e scanEnd
	var have []byte
	haveAt := int64(-1)
	ensure := func(p, n int64) ([]byte, error) {
		if haveAt >= 0 && p >= haveAt && p+n <= haveAt+int64(len(have)) {
			return have[p-haveAt : p-haveAt+n], nil
		}
		want := min(max(n, int64(len(*bufp))), l.capacity-p)
		if int64(len(*bufp)) < want {
			*bufp = make([]byte, want)
		}
		if err := s.readAt((*bufp)[:want], p); err != nil {
			return nil, fmt.Errorf("read segment %d at %d: %w", s.base, s.base+p, err)
		}
		have, haveAt = (*bufp)[:want], p
		return have[:n], nil
	}
	p, lim := from-s.base, limit-s.base
	e.why = stopLimit
	for p < lim {
		if lim-p < HeaderSize {
			rest, err := ensure(p, lim-p)
			if err != nil {
				return e, err
			}
			if isZero(rest) {
				e.why = stopZero
			} else {
				e.why, e.detail = stopBad, fmt.Sprintf("partial frame header at %d", s.base+p)
			}
			break
		}
		hdr, err := ensure(p, HeaderSize)
		if err != nil {
			return e, err
		}
		if isZero(hdr[:8]) {
			e.why = stopZero
			break
		}
		n, ok := Length(hdr)
		if !ok {
			e.why, e.detail = stopBad, fmt.Sprintf("bad frame header at %d", s.base+p)
			break
		}
		if p+int64(n) > lim {
			e.why, e.detail = stopBad, fmt.Sprintf("frame of %d bytes at %d runs past the data end %d", n, s.base+p, limit)
			break
		}
		frame, err := ensure(p, int64(n))
		if err != nil {
			return e, err
		}
		if err := Check(frame, s.base+p); err != nil {
			e.why, e.detail = stopBad, err.Error()
			break
		}
		if err := fn(s.base+p, frame); err != nil {
			return e, err
		}
		e.stamp = Stamp(frame)
		e.frames++
		p += int64(n)
	}
	e.pos = s.base + p
	return e, nil
}

// NoteStamp tells the log the newest stamp written before recovery's start
// (from the caller's checkpoint), for the active segment's footer.
func (l *Log) NoteStamp(stamp int64) {
	if a := l.active.Load(); a != nil && stamp > a.stamp.Load() {
		a.stamp.Store(stamp)
	}
}
