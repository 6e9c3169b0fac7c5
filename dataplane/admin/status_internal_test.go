package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestToStatus(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	about := subject{topic: "orders", group: "billing"}
	tests := []struct {
		err  error
		code codes.Code
		msg  string
	}{
		{fmt.Errorf("get: %w", broker.ErrTopicNotFound), codes.NotFound, `topic "orders" not found`},
		{broker.ErrGroupNotFound, codes.NotFound, `consumer group "billing" not found`},
		{broker.ErrTopicExists, codes.AlreadyExists, `topic "orders" already exists`},
		{broker.ErrGroupExists, codes.AlreadyExists, `consumer group "billing" already exists`},
		{fmt.Errorf("%w: queues must be 1..64", broker.ErrInvalidArgument), codes.InvalidArgument, "queues must be 1..64"},
		{fmt.Errorf("create topic %q: %w: the instance allows 10 topics", "orders", broker.ErrQuotaExceeded), codes.ResourceExhausted, "the instance allows 10 topics"},
		{broker.ErrClosed, codes.Unavailable, "shutting down"},
		{fmt.Errorf("append: %w", store.ErrClosed), codes.Unavailable, "shutting down"},
		{context.Canceled, codes.Canceled, "canceled"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "deadline"},
		{errors.New("write /var/lib/orbit/meta: disk on fire"), codes.Internal, "internal error in CreateTopic"},
	}
	for _, tc := range tests {
		st := status.Convert(s.toStatus(t.Context(), "CreateTopic", about, tc.err))
		require.Equal(t, tc.code, st.Code(), "%v", tc.err)
		require.Contains(t, st.Message(), tc.msg)
	}
	st := status.Convert(s.toStatus(t.Context(), "CreateTopic", about, errors.New("write /var/lib/orbit/meta: disk on fire")))
	require.NotContains(t, st.Message(), "disk on fire", "internal details stay in the log")
	require.Contains(t, logs.String(), "disk on fire")
	require.Contains(t, logs.String(), "op=CreateTopic")
}

func TestPageToken(t *testing.T) {
	t.Parallel()
	tok := encodePageToken("topics", "orders")
	after, err := decodePageToken("topics", tok)
	require.NoError(t, err)
	require.Equal(t, "orders", after)
	_, err = decodePageToken("groups", tok)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	after, err = decodePageToken("topics", "")
	require.NoError(t, err)
	require.Empty(t, after)
}
