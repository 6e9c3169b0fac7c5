package filestore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/store/commitlog"
)

// Config configures a Store. Zero fields take the DefaultConfig values.
type Config struct {
	// Dir holds everything: commitlog/, consumequeue/, index/, checkpoint, LOCK.
	Dir string
	// Flush is when Append returns: FlushSync after fdatasync (group
	// commit), FlushAsync after the write to the page cache.
	Flush store.FlushMode
	// SegmentBytes is the size of each commit-log file (default 1 GiB). A
	// log keeps the size it was created with.
	SegmentBytes int64
	// FlushInterval is how often the commit log is fsynced in async mode
	// and how often a checkpoint is written in both modes (default 500ms).
	FlushInterval time.Duration
	// MaxRecordBytes caps one stored record, i.e. a message with its
	// metadata (default 8 MiB, and never more than a segment holds);
	// larger messages fail with store.ErrTooLarge.
	MaxRecordBytes int

	// RetentionHours deletes whole segments whose newest message is older
	// than this (0 = keep forever).
	RetentionHours int
	// MaxBytes deletes the oldest segments while everything under Dir
	// takes more than this (0 = no limit).
	MaxBytes int64
	// MaxDiskUsedPercent deletes the oldest segments while the file
	// system holding Dir is fuller than this (0 = off; RocketMQ uses 75-85).
	MaxDiskUsedPercent int
	// RetentionInterval is how often retention runs (default 10s).
	RetentionInterval time.Duration
	// MinConsumed, if set, returns the lowest queue offset some consumer
	// group still needs on a queue (math.MaxInt64 if none). Retention
	// never waits for it: it only counts deletions of unconsumed messages
	// in Stats. It is called from the retention pass with the store's
	// maintenance lock held: it may call Range, but no other Store method.
	MinConsumed func(topic string, queueID int32) int64

	// QueueFileEntries is the number of 32-byte entries per consume-queue
	// file (default 262144, 8 MiB; blocks are reserved as entries arrive).
	QueueFileEntries int
	// IndexSlots and IndexEntries size the hash-slot index files
	// (defaults 4M slots, 16M entries: 16 MiB reserved up front, up to 320
	// MiB of entries reserved as they arrive).
	IndexSlots   int
	IndexEntries int
	// NoPretouch turns off preparing the next segment by writing zeros
	// over it in the background (see commitlog.Config.Pretouch).
	NoPretouch bool

	Log *slog.Logger
	Now func() time.Time // store times and retention ages; default time.Now
}

// DefaultConfig returns the production defaults (Dir still to be set).
func DefaultConfig() Config {
	return Config{
		Flush:             store.FlushSync,
		SegmentBytes:      1 << 30,
		FlushInterval:     500 * time.Millisecond,
		MaxRecordBytes:    8 << 20,
		RetentionInterval: 10 * time.Second,
		QueueFileEntries:  1 << 18,
		IndexSlots:        1 << 22,
		IndexEntries:      1 << 24,
		Now:               time.Now,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Flush == "" {
		c.Flush = d.Flush
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = d.SegmentBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = d.MaxRecordBytes
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = d.RetentionInterval
	}
	if c.QueueFileEntries == 0 {
		c.QueueFileEntries = d.QueueFileEntries
	}
	if c.IndexSlots == 0 {
		c.IndexSlots = d.IndexSlots
	}
	if c.IndexEntries == 0 {
		c.IndexEntries = d.IndexEntries
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports settings that cannot work. Open validates after filling
// in defaults, so zero values pass there.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir is required"))
	}
	if c.Flush != store.FlushSync && c.Flush != store.FlushAsync {
		errs = append(errs, fmt.Errorf("flush mode %q: want %q or %q", c.Flush, store.FlushSync, store.FlushAsync))
	}
	if c.SegmentBytes < commitlog.MinSegmentBytes {
		errs = append(errs, fmt.Errorf("segment bytes %d: want at least %d", c.SegmentBytes, commitlog.MinSegmentBytes))
	}
	if c.FlushInterval <= 0 || c.RetentionInterval <= 0 {
		errs = append(errs, errors.New("flush and retention intervals must be positive"))
	}
	if c.MaxRecordBytes < 256 {
		errs = append(errs, fmt.Errorf("max record bytes %d: want at least 256", c.MaxRecordBytes))
	}
	if c.RetentionHours < 0 || c.MaxBytes < 0 || c.MaxDiskUsedPercent < 0 || c.MaxDiskUsedPercent > 100 {
		errs = append(errs, errors.New("retention hours, max bytes and max disk used percent must be ≥ 0 (percent ≤ 100)"))
	}
	if c.QueueFileEntries < 64 || c.IndexSlots < 1 || c.IndexEntries < 2 || c.IndexEntries > 1<<31 || c.IndexSlots > 1<<30 {
		errs = append(errs, errors.New("queue file entries must be ≥ 64, index slots in [1, 2^30], index entries in [2, 2^31]"))
	}
	return errors.Join(errs...)
}
