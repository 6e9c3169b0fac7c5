package brokerrpc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// TestSentinelsCrossTheWire: every sentinel survives toStatus/fromStatus,
// so errors.Is works on a remote broker's errors as on a local one's.
func TestSentinelsCrossTheWire(t *testing.T) {
	t.Parallel()
	for _, s := range sentinels {
		err := fromStatus("Op", toStatus(fmt.Errorf("op: %w", s.err)))
		require.ErrorIs(t, err, s.err, s.name)
	}
	err := fromStatus("CreateTopic", toStatus(fmt.Errorf("create topic %q: %w: the instance allows 1 topics", "x", broker.ErrQuotaExceeded)))
	require.ErrorIs(t, err, broker.ErrQuotaExceeded)
	require.False(t, errors.Is(err, broker.ErrInvalidArgument))
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	require.ErrorContains(t, err, "the instance allows 1 topics")
}
