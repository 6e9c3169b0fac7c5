package admin

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

func (v *service) GetNodeStats(_ context.Context, _ *adminpb.GetNodeStatsRequest) (*adminpb.NodeStats, error) {
	st := v.s.store.Stats()
	return &adminpb.NodeStats{
		Version:   v.s.version,
		StartTime: timestamppb.New(v.s.startedAt),
		Uptime:    durationpb.New(time.Since(v.s.startedAt).Truncate(time.Millisecond)),
		Store: &adminpb.StoreStats{
			CommitLogBytes:     st.CommitLogBytes,
			DiskUsedBytes:      st.DiskUsedBytes,
			Segments:           int64(st.Segments),
			MinCommitLogOffset: st.MinCommitLog,
			MaxCommitLogOffset: st.MaxCommitLog,
			DeletedSegments:    st.DeletedSegments,
			UnreadDeletions:    st.UnreadDeletions,
		},
		TopicCount: v.countTopics(),
		GroupCount: v.countGroups(),
	}, nil
}

// countPage is how many names the counts read from the broker at a time.
const countPage = 1000

func (v *service) countTopics() int64 {
	var n int64
	for after := ""; ; {
		page := v.s.broker.ListTopics(after, countPage)
		n += int64(len(page))
		if len(page) < countPage {
			return n
		}
		after = page[len(page)-1].Name
	}
}

func (v *service) countGroups() int64 {
	var n int64
	for after := ""; ; {
		page := v.s.broker.ListGroups(after, countPage)
		n += int64(len(page))
		if len(page) < countPage {
			return n
		}
		after = page[len(page)-1].Name
	}
}
