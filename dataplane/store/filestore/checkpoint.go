package filestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"github.com/orbitmq/orbit/dataplane/store/index"
)

const checkpointFile = "checkpoint"

// checkpoint is what recovery may trust: every record below end is durable
// in the commit log and dispatched into consume queues and the index, and
// those files were synced up to the positions recorded here.
//
// File layout (little-endian), replaced atomically (write, fsync, rename,
// fsync directory):
//
//	magic u32 "OCP1" | version u8 | flags u8 (1 = clean shutdown) | 2 reserved
//	end i64 | lastFrame i64 (-1: none) | lastStamp i64
//	indexBegin i64 | indexCount u32 | queues u32
//	per queue: uvarint topic length, topic, queueID i32, max i64
//	crc u32: CRC-32C of everything before it
type checkpoint struct {
	clean     bool
	end       int64
	lastFrame int64 // offset of the newest frame below end: proves the log still reaches end
	lastStamp int64
	index     index.Position
	queues    []cpQueue
}

type cpQueue struct {
	topic string
	id    int32
	max   int64
}

const cpMagic = 0x3150434F

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *checkpoint) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, cpMagic)
	flags := byte(0)
	if c.clean {
		flags = 1
	}
	b = append(b, 1, flags, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.end))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.lastFrame))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.lastStamp))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.index.Begin))
	b = binary.LittleEndian.AppendUint32(b, c.index.Count)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.queues)))
	for _, q := range c.queues {
		b = appendStr(b, q.topic)
		b = binary.LittleEndian.AppendUint32(b, uint32(q.id))
		b = binary.LittleEndian.AppendUint64(b, uint64(q.max))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errBadCheckpoint = errors.New("checkpoint damaged")

func decodeCheckpoint(b []byte) (*checkpoint, error) {
	const head = 48
	if len(b) < head+4 || binary.LittleEndian.Uint32(b) != cpMagic || b[4] != 1 {
		return nil, errBadCheckpoint
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadCheckpoint)
	}
	c := &checkpoint{
		clean:     b[5]&1 != 0,
		end:       int64(binary.LittleEndian.Uint64(b[8:])),
		lastFrame: int64(binary.LittleEndian.Uint64(b[16:])),
		lastStamp: int64(binary.LittleEndian.Uint64(b[24:])),
		index:     index.Position{Begin: int64(binary.LittleEndian.Uint64(b[32:])), Count: binary.LittleEndian.Uint32(b[40:])},
	}
	n := binary.LittleEndian.Uint32(b[44:])
	r := strReader{s: string(body[head:])}
	for range n {
		topic := r.str()
		if len(r.s) < 12 || r.err {
			return nil, fmt.Errorf("%w: truncated queue list", errBadCheckpoint)
		}
		id := int32(binary.LittleEndian.Uint32([]byte(r.s[:4])))
		max := int64(binary.LittleEndian.Uint64([]byte(r.s[4:12])))
		r.s = r.s[12:]
		c.queues = append(c.queues, cpQueue{topic: topic, id: id, max: max})
	}
	if len(r.s) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errBadCheckpoint)
	}
	return c, nil
}

// readCheckpoint returns nil, nil when there is none.
func readCheckpoint(dir string) (*checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return decodeCheckpoint(b)
}

func writeCheckpoint(dir string, c *checkpoint) error {
	path := filepath.Join(dir, checkpointFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	_, err = f.Write(c.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// checkpoint syncs the derived files and records how far they are durable.
// Without force it does nothing when no batch was dispatched since the last
// one. clean marks a checkpoint written by Close.
func (s *Store) checkpoint(clean, force bool) error {
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	return s.checkpointLocked(clean, force)
}

func (s *Store) checkpointLocked(clean, force bool) error {
	s.wmu.Lock()
	if s.failed != nil || (!force && !clean && s.gen == s.cpGen) {
		s.wmu.Unlock()
		return nil
	}
	cp := &checkpoint{
		clean: clean, end: s.visible.Load(), lastFrame: s.lastFrame, lastStamp: s.lastStamp,
		index: s.idx.Position(),
	}
	for _, q := range s.allQueues() {
		if q.next > 0 && !q.removed.Load() {
			cp.queues = append(cp.queues, cpQueue{topic: q.topic, id: q.id, max: q.next})
		}
	}
	dirty := s.dirty
	s.dirty = nil
	for _, q := range dirty {
		q.dirty = false
	}
	gen := s.gen
	s.wmu.Unlock()

	err := s.syncDerived(dirty)
	if err == nil {
		err = writeCheckpoint(s.cfg.Dir, cp)
	}
	if err != nil {
		s.cpAll = true // the dirty list is gone: sync everything next time
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.cpGen, s.cpAll = gen, false
	return nil
}

// syncDerived makes the commit log (async mode) and the derived files
// durable up to the snapshot just taken.
func (s *Store) syncDerived(dirty []*queue) error {
	if !s.sync {
		if err := s.log.Sync(); err != nil {
			return err
		}
	}
	if s.cpAll {
		dirty = s.allQueues()
	}
	for _, q := range dirty {
		if err := q.cq.Sync(); err != nil {
			return err
		}
	}
	return s.idx.Sync()
}

// background fsyncs (async mode) and checkpoints every FlushInterval and
// runs retention every RetentionInterval, until Close.
func (s *Store) background() {
	defer close(s.bgDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.bgStop
		cancel()
	}()
	flush := time.NewTicker(s.cfg.FlushInterval)
	defer flush.Stop()
	retention := time.NewTicker(s.cfg.RetentionInterval)
	defer retention.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := s.checkpoint(false, false); err != nil {
				s.cfg.Log.Error("periodic flush failed", "err", err)
			}
		case <-retention.C:
			if _, err := s.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Log.Error("retention failed", "err", err)
			}
		}
	}
}
