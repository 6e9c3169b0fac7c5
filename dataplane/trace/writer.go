package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbitmq/orbit/dataplane/store"
)

// Topic is the system topic trace batches are stored under (queue 0). The
// broker refuses user topics with the RMQ_SYS_ prefix in any case, so no
// user topic can collide with it.
const Topic = "rmq_sys_trace"

// Config configures a Writer. Zero fields take DefaultConfig's values.
type Config struct {
	Store   store.Store           // where batches go; required
	Log     *slog.Logger          // nil: discard
	Metrics prometheus.Registerer // nil: no metrics
	// FlushInterval is how long an event may wait in the buffer before its
	// batch is written (100 ms).
	FlushInterval time.Duration
	// MaxBatch is the most events one stored batch holds (1,000); a full
	// buffer of them is written at once, without waiting for FlushInterval.
	// A batch also ends at 64 distinct message IDs (maxBatchKeys).
	MaxBatch int
	// BufferSize is how many events may wait to be written (16,384); Record
	// drops events beyond it and counts them. While a flush is under way a
	// second buffer of the same size fills, so memory is bounded by about
	// 2 × BufferSize × 240 bytes (8 MB by default).
	BufferSize int
	// Now fills in events recorded without a Time (time.Now).
	Now func() time.Time
}

// DefaultConfig returns the defaults; Store has none.
func DefaultConfig() Config {
	return Config{FlushInterval: 100 * time.Millisecond, MaxBatch: 1000, BufferSize: 1 << 14, Now: time.Now}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.BufferSize == 0 {
		c.BufferSize = d.BufferSize
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports settings that cannot work; zero values are valid except Store.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("trace config: Store is required"))
	}
	if c.FlushInterval < 0 || c.MaxBatch < 0 || c.BufferSize < 0 {
		errs = append(errs, errors.New("trace config: FlushInterval, MaxBatch and BufferSize must not be negative"))
	}
	return errors.Join(errs...)
}

// maxBatchKeys caps the distinct message IDs of one batch, i.e. the Keys of
// its store message. The file store deduplicates a message's keys pairwise
// before indexing them (quadratic in their number): 1,000-key batches cost
// about 1 µs per event there, 64-key ones about 100 ns, for 2 more bytes of
// record overhead per event.
const maxBatchKeys = 64

// Reasons an event is dropped, the "reason" label of orbit_trace_dropped_events_total.
const (
	dropBufferFull = "buffer_full" // Record found the buffer full
	dropStore      = "store_error" // the batch could not be appended
	dropClosed     = "closed"      // Record after Close
)

// Writer is a Recorder that stores events in the node's store in batches:
// Record only appends to a bounded in-memory buffer (it never blocks on I/O
// and drops events when the buffer is full), and Run writes the buffer as
// one message per batch of up to MaxBatch events every FlushInterval.
//
// Lifecycle: NewWriter, then go Run(ctx); Close after the last Record
// (after the broker closed) and before the store closes. Run returns when
// ctx ends or Close is called, flushing what is buffered; Close waits for
// that and flushes anything recorded since.
type Writer struct {
	cfg Config
	log *slog.Logger
	st  store.Store

	mu     sync.Mutex
	buf    []Event // waiting to be written
	spare  []Event // the other buffer, nil while a flush holds it
	closed bool

	kick    chan struct{} // a full batch is waiting
	stop    chan struct{} // closed by Close
	runDone chan struct{} // closed when Run returns
	running atomic.Bool

	flushMu sync.Mutex // one flush at a time; guards enc
	enc     encoder

	closeOnce sync.Once
	closeErr  error
	lastWarn  time.Time // guarded by flushMu: store errors are logged at most every 10 s

	reg                      prometheus.Registerer
	dropped                  *prometheus.CounterVec
	written, batches, bytesW prometheus.Counter
	droppedTotal             atomic.Int64
}

// NewWriter checks cfg and returns a Writer; it registers the writer's
// metrics (orbit_trace_*) with cfg.Metrics. Start Run to write anything.
func NewWriter(cfg Config) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &Writer{
		cfg:     cfg,
		log:     cfg.Log,
		st:      cfg.Store,
		buf:     make([]Event, 0, min(cfg.BufferSize, cfg.MaxBatch)),
		spare:   make([]Event, 0, min(cfg.BufferSize, cfg.MaxBatch)),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		runDone: make(chan struct{}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_trace_dropped_events_total",
			Help: "Trace events lost: buffer_full (recorded faster than the store took them), store_error, closed."}, []string{"reason"}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "orbit_trace_events_written_total",
			Help: "Trace events stored."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "orbit_trace_batches_written_total",
			Help: "Trace batches stored (one store message each)."}),
		bytesW: prometheus.NewCounter(prometheus.CounterOpts{Name: "orbit_trace_batch_bytes_written_total",
			Help: "Encoded bytes of the trace batches stored (bodies, keys included)."}),
	}
	for _, r := range []string{dropBufferFull, dropStore, dropClosed} {
		w.dropped.WithLabelValues(r) // export zeros, so alerts see the series
	}
	if cfg.Metrics != nil {
		cs := []prometheus.Collector{w.dropped, w.written, w.batches, w.bytesW}
		for i, c := range cs {
			if err := cfg.Metrics.Register(c); err != nil {
				for _, done := range cs[:i] {
					cfg.Metrics.Unregister(done)
				}
				return nil, fmt.Errorf("register trace metrics: %w", err)
			}
		}
		w.reg = cfg.Metrics
	}
	return w, nil
}

// Record buffers ev; it never blocks on I/O. When the buffer is full (or
// the writer closed) the event is dropped and counted.
func (w *Writer) Record(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = w.cfg.Now()
	}
	w.mu.Lock()
	if w.closed || len(w.buf) >= w.cfg.BufferSize {
		closed := w.closed
		w.mu.Unlock()
		if closed {
			w.drop(dropClosed, 1)
		} else {
			w.drop(dropBufferFull, 1)
		}
		return
	}
	w.buf = append(w.buf, ev)
	n := len(w.buf)
	w.mu.Unlock()
	if n == w.cfg.MaxBatch {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *Writer) drop(reason string, n int) {
	w.droppedTotal.Add(int64(n))
	w.dropped.WithLabelValues(reason).Add(float64(n))
}

// Dropped is how many events were lost since NewWriter, for any reason.
func (w *Writer) Dropped() int64 { return w.droppedTotal.Load() }

// Run writes buffered events until ctx ends or Close is called, then
// flushes what is left and returns nil. Call it once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("trace writer: Run called twice")
	}
	defer close(w.runDone)
	t := time.NewTicker(w.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = w.finalFlush(ctx)
			return nil
		case <-w.stop:
			_ = w.finalFlush(ctx)
			return nil
		case <-t.C:
		case <-w.kick:
		}
		_ = w.flush(ctx)
	}
}

// Close stops Run, flushes every buffered event and unregisters the
// metrics. Events recorded later are dropped. It returns the last store
// error of the final flush, if any.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
		if w.running.Load() {
			<-w.runDone
		}
		w.closeErr = w.finalFlush(context.Background())
		if w.reg != nil {
			for _, c := range []prometheus.Collector{w.dropped, w.written, w.batches, w.bytesW} {
				w.reg.Unregister(c)
			}
		}
	})
	return w.closeErr
}

// finalFlush flushes even when ctx has ended, within a short deadline.
func (w *Writer) finalFlush(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return w.flush(fctx)
}

// flush writes what is buffered. It swaps the buffers so Record keeps
// appending meanwhile, and goes round again while full batches are waiting.
func (w *Writer) flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	var last error
	for {
		w.mu.Lock()
		evs := w.buf
		w.buf, w.spare = w.spare, nil
		w.mu.Unlock()
		if len(evs) == 0 {
			w.mu.Lock()
			w.spare = evs
			w.mu.Unlock()
			return last
		}
		if err := w.write(ctx, evs); err != nil {
			last = err
		}
		full := len(evs) >= w.cfg.MaxBatch
		clear(evs) // release the strings the events point to
		w.mu.Lock()
		w.spare = evs[:0]
		w.mu.Unlock()
		if !full {
			return last
		}
	}
}

// write stores evs as batches of up to MaxBatch events in one append.
func (w *Writer) write(ctx context.Context, evs []Event) error {
	msgs := make([]*store.Message, 0, (len(evs)+w.cfg.MaxBatch-1)/w.cfg.MaxBatch)
	count, size := len(evs), 0
	for len(evs) > 0 {
		n, keys, body := w.enc.encode(evs[:min(len(evs), w.cfg.MaxBatch)], maxBatchKeys)
		msgs = append(msgs, &store.Message{Topic: Topic, Type: store.TypeNormal, Keys: keys, Body: body, BornTime: w.cfg.Now()})
		size += len(body)
		for _, k := range keys {
			size += len(k)
		}
		evs = evs[n:]
	}
	if err := w.st.Append(ctx, msgs); err != nil {
		w.drop(dropStore, count)
		if now := time.Now(); now.Sub(w.lastWarn) >= 10*time.Second {
			w.lastWarn = now
			w.log.Warn("trace events lost: store append failed", "events", count, "err", err)
		}
		return fmt.Errorf("store %d trace events: %w", count, err)
	}
	w.written.Add(float64(count))
	w.batches.Add(float64(len(msgs)))
	w.bytesW.Add(float64(size))
	return nil
}
