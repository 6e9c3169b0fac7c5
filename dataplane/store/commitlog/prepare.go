package commitlog

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// startPrepare asks for a zero-filled segment file to be made in the
// background, unless one is ready or being made. Files are prepared under a
// temporary name because the base they will get is only known at the roll;
// Open removes leftovers.
func (l *Log) startPrepare() {
	l.prepMu.Lock()
	defer l.prepMu.Unlock()
	if l.closed || l.prepBusy || l.prepReady != "" {
		return
	}
	l.prepBusy = true
	l.prepSeq++
	path := filepath.Join(l.dir, fmt.Sprintf("prepare-%d.tmp", l.prepSeq))
	l.prepWG.Add(1)
	go l.prepare(path)
}

func (l *Log) prepare(path string) {
	defer l.prepWG.Done()
	err := l.writeZeros(path)
	l.prepMu.Lock()
	defer l.prepMu.Unlock()
	l.prepBusy = false
	if err != nil {
		os.Remove(path)
		if !l.closed {
			// Not fatal: the roll falls back to a sparse file.
			l.log.Warn("prepare next commit-log segment", "err", err)
		}
		return
	}
	if l.closed {
		os.Remove(path)
		return
	}
	l.prepReady = path
}

func (l *Log) writeZeros(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	zeros := make([]byte, 1<<20)
	for at := int64(0); at < l.size; at += int64(len(zeros)) {
		select {
		case <-l.prepStop:
			return fmt.Errorf("log closed")
		default:
		}
		n := min(int64(len(zeros)), l.size-at)
		if _, err := f.WriteAt(zeros[:n], at); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
