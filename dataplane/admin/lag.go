package admin

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

// Defaults of the lag history: a sample every 30 s, an hour of them.
const (
	DefaultLagInterval = 30 * time.Second
	DefaultLagPoints   = 120
	// maxLagGroups bounds a GetLagHistory request.
	maxLagGroups = 100
)

// lagPoint is one sample of a group's total lag.
type lagPoint struct {
	at  time.Time
	lag int64
}

// lagRing keeps a group's latest samples, at most len(buf).
type lagRing struct {
	buf  []lagPoint
	next int // where the next sample goes
	n    int // how many samples are kept
}

func (r *lagRing) add(p lagPoint) {
	r.buf[r.next] = p
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// points returns the samples, oldest first.
func (r *lagRing) points() []lagPoint {
	out := make([]lagPoint, 0, r.n)
	for i := range r.n {
		out = append(out, r.buf[(r.next-r.n+i+len(r.buf))%len(r.buf)])
	}
	return out
}

// lagHistory is every group's recent lag, in memory.
type lagHistory struct {
	interval time.Duration
	size     int

	mu     sync.Mutex
	series map[string]*lagRing
}

func newLagHistory(interval time.Duration, size int) *lagHistory {
	return &lagHistory{interval: interval, size: size, series: map[string]*lagRing{}}
}

// RunLagSampler records every group's total lag each LagInterval (and once
// at the start) until ctx ends; GetLagHistory reports the samples. It returns
// nil when ctx ends or the broker closes.
func (s *Server) RunLagSampler(ctx context.Context) error {
	t := time.NewTicker(s.lag.interval)
	defer t.Stop()
	for {
		if err := s.sampleLag(); err != nil {
			return nil // the broker closed: the node is stopping
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sampleLag records the total lag of every group, the sum GetGroupOffsets
// reports, and forgets the groups that no longer exist. It fails only when
// the broker is closed.
func (s *Server) sampleLag() error {
	at := s.now()
	exists := map[string]bool{}
	totals := map[string]int64{}
	for after := ""; ; {
		groups := s.broker.ListGroups(after, maxPageSize)
		for _, g := range groups {
			exists[g.Name] = true
			qs, err := s.broker.Offsets(g.Name, "")
			switch {
			case errors.Is(err, broker.ErrGroupNotFound):
				delete(exists, g.Name) // deleted meanwhile
				continue
			case errors.Is(err, broker.ErrClosed):
				return err
			case err != nil:
				// The group keeps its history, without this sample.
				s.log.Warn("sample group lag", "group", g.Name, "err", err)
				continue
			}
			var total int64
			for _, q := range qs {
				total += q.Lag
			}
			totals[g.Name] = total
		}
		if len(groups) < maxPageSize {
			break
		}
		after = groups[len(groups)-1].Name
	}
	h := s.lag
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.series {
		if !exists[name] {
			delete(h.series, name)
		}
	}
	for name, total := range totals {
		r := h.series[name]
		if r == nil {
			r = &lagRing{buf: make([]lagPoint, h.size)}
			h.series[name] = r
		}
		r.add(lagPoint{at: at, lag: total})
	}
	return nil
}

// points returns a group's samples, oldest first.
func (h *lagHistory) points(group string) []lagPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.series[group]; r != nil {
		return r.points()
	}
	return nil
}

func (v *service) GetLagHistory(ctx context.Context, req *adminpb.GetLagHistoryRequest) (*adminpb.GetLagHistoryResponse, error) {
	groups := req.GetGroups()
	if len(groups) > maxLagGroups {
		return nil, invalid("%d groups: at most %d per call", len(groups), maxLagGroups)
	}
	if len(groups) == 0 {
		for _, g := range v.s.broker.ListGroups("", maxLagGroups) {
			groups = append(groups, g.Name)
		}
	} else {
		groups = slices.Clone(groups)
		for _, g := range groups {
			if g == "" {
				return nil, invalid("groups: a group name is empty")
			}
			if _, err := v.s.broker.GetGroup(g); err != nil {
				return nil, v.s.toStatus(ctx, "GetLagHistory", subject{group: g}, err)
			}
		}
	}
	resp := &adminpb.GetLagHistoryResponse{Interval: durationpb.New(v.s.lag.interval)}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			continue
		}
		seen[g] = true
		series := &adminpb.LagSeries{Group: g}
		for _, p := range v.s.lag.points(g) {
			series.Points = append(series.Points, &adminpb.LagPoint{Time: timestamppb.New(p.at), Lag: p.lag})
		}
		resp.Series = append(resp.Series, series)
	}
	return resp, nil
}
