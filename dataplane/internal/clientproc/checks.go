package clientproc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// The parent side's checks of what a child reports.

// FIFOParams are a FIFO scenario's: Groups message groups of PerGroup
// messages each; the consumer fails message FailSeq of message group
// FailGroup once.
type FIFOParams struct {
	Groups, PerGroup, FailGroup, FailSeq int
}

// FIFOResult is a FIFO scenario's result.
type FIFOResult struct {
	Sent     int
	Complete bool
	Events   []FIFOEvent
}

// RequireFIFOOrder checks a FIFO consumer's listener calls: per message
// group, the first receipts of the messages are in send order, no message
// is first received before the one sent before it was consumed (repeats
// are allowed), and the chosen message failed once and then succeeded on
// its local retry (attempt + 1) before its group went on. It returns how
// many calls were repeats.
func RequireFIFOOrder(t *testing.T, res FIFOResult, p FIFOParams) (repeats int) {
	t.Helper()
	type key struct{ group, seq int }
	first, firstOK := map[key]int{}, map[key]int{}
	order := make([][]int, p.Groups)
	var failing []FIFOEvent
	for i, e := range res.Events {
		require.True(t, e.Group >= 0 && e.Group < p.Groups && e.Seq >= 0 && e.Seq < p.PerGroup, "unexpected message %+v", e)
		k := key{e.Group, e.Seq}
		if _, seen := first[k]; seen {
			repeats++
		} else {
			first[k] = i
			order[e.Group] = append(order[e.Group], e.Seq)
		}
		if _, ok := firstOK[k]; e.OK && !ok {
			firstOK[k] = i
		}
		if e.Group == p.FailGroup && e.Seq == p.FailSeq {
			failing = append(failing, e)
		}
	}
	require.True(t, res.Complete, "%d of %d messages consumed", len(firstOK), res.Sent)
	want := make([]int, p.PerGroup)
	for i := range want {
		want[i] = i
	}
	// history is a group's listener calls, for failure messages.
	history := func(g int) string {
		var b strings.Builder
		for i, e := range res.Events {
			if e.Group == g {
				fmt.Fprintf(&b, "#%d msg %d attempt %d ok=%v id=%s\n", i, e.Seq, e.Attempt, e.OK, e.ID)
			}
		}
		return b.String()
	}
	for g := range p.Groups {
		require.Equal(t, want, order[g], "message group fifo-%d: first receipts out of send order; calls:\n%s", g, history(g))
		for s := 1; s < p.PerGroup; s++ {
			require.Greater(t, first[key{g, s}], firstOK[key{g, s - 1}],
				"message group fifo-%d: message %d received (call #%d) before message %d was consumed (call #%d); calls:\n%s",
				g, s, first[key{g, s}], s-1, firstOK[key{g, s - 1}], history(g))
		}
	}
	require.GreaterOrEqual(t, len(failing), 2, "the failed message is consumed again: %+v", failing)
	require.False(t, failing[0].OK)
	require.True(t, failing[1].OK)
	require.Equal(t, failing[0].Attempt+1, failing[1].Attempt, "the local retry counts an attempt: %+v", failing)
	return repeats
}

// DelayResult is a delay scenario's result.
type DelayResult struct {
	Sent []DelaySent
	Got  []DelayReceipt
}

// RequireConsumed waits until group has acked everything on topic.
func RequireConsumed(t *testing.T, b *broker.Broker, group, topic string) {
	t.Helper()
	require.Eventually(t, func() bool {
		offs, err := b.Offsets(group, topic)
		if err != nil || len(offs) == 0 {
			return false
		}
		for _, o := range offs {
			if o.Lag != 0 || o.Inflight != 0 {
				return false
			}
		}
		return true
	}, time.Minute, 20*time.Millisecond)
}

// RequireOnTime checks that each of the count sent delay messages was
// delivered exactly once, not before its delivery timestamp, carrying that
// timestamp, and at most maxLate after it; it logs how late each one was.
func RequireOnTime(t *testing.T, res DelayResult, count int, maxLate time.Duration) {
	t.Helper()
	require.Len(t, res.Sent, count)
	byID := map[string][]DelayReceipt{}
	for _, g := range res.Got {
		byID[g.ID] = append(byID[g.ID], g)
	}
	var late []time.Duration
	for _, s := range res.Sent {
		got := byID[s.ID]
		require.Len(t, got, 1, "message %s is delivered exactly once: %+v", s.ID, got)
		due := s.Due.Truncate(time.Millisecond) // the wire carries milliseconds
		require.False(t, got[0].Got.Before(due), "message %s delivered %s before its delivery time", s.ID, due.Sub(got[0].Got))
		require.WithinDuration(t, due, got[0].Stamp, time.Millisecond, "message %s carries its delivery timestamp", s.ID)
		late = append(late, got[0].Got.Sub(s.Due))
	}
	t.Logf("delay messages delivered %v after their delivery time", late)
	for i, l := range late {
		require.LessOrEqual(t, l, maxLate, "message %s delivered too late", res.Sent[i].ID)
	}
}
