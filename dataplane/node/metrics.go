package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbitmq/orbit/dataplane/store"
)

// registerStoreMetrics exposes the store's size and retention figures; they
// are read on scrape, so the store keeps no metric state of its own.
func registerStoreMetrics(reg prometheus.Registerer, s store.Store) {
	gauge := func(name, help string, f func(store.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "orbit", Subsystem: "store", Name: name, Help: help},
			func() float64 { return f(s.Stats()) })
	}
	counter := func(name, help string, f func(store.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "orbit", Subsystem: "store", Name: name, Help: help},
			func() float64 { return f(s.Stats()) })
	}
	reg.MustRegister(
		gauge("disk_used_bytes", "Bytes used under the node's data directory.", func(st store.Stats) float64 { return float64(st.DiskUsedBytes) }),
		gauge("commitlog_bytes", "Bytes of commit-log segments on disk.", func(st store.Stats) float64 { return float64(st.CommitLogBytes) }),
		gauge("commitlog_segments", "Commit-log segment files on disk.", func(st store.Stats) float64 { return float64(st.Segments) }),
		counter("retention_deleted_segments_total", "Segments deleted by retention since the node started.", func(st store.Stats) float64 { return float64(st.DeletedSegments) }),
		counter("retention_unconsumed_deletions_total", "Retention deletions that removed messages some consumer group had not yet consumed.", func(st store.Stats) float64 { return float64(st.UnreadDeletions) }),
	)
}
