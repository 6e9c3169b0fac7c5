package broker

import "github.com/orbitmq/orbit/dataplane/trace"

// trace records ev when tracing is on; it never blocks.
func (b *Broker) trace(ev trace.Event) {
	if b.cfg.Tracer == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = b.now()
	}
	b.cfg.Tracer.Record(ev)
}
