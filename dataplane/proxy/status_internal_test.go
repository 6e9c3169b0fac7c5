package proxy

import (
	"context"
	"errors"
	"fmt"
	"testing"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/namesrv"
	"github.com/orbitmq/orbit/dataplane/store"
)

func TestStatusOfMapsEveryError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code v2.Code
	}{
		{nil, v2.Code_OK},
		{broker.ErrTopicNotFound, v2.Code_TOPIC_NOT_FOUND},
		{fmt.Errorf("route: %w", namesrv.ErrTopicNotFound), v2.Code_TOPIC_NOT_FOUND},
		{broker.ErrGroupNotFound, v2.Code_CONSUMER_GROUP_NOT_FOUND},
		{namesrv.ErrNoReadableQueue, v2.Code_FORBIDDEN},
		{fmt.Errorf("ack: %w", broker.ErrInvalidHandle), v2.Code_INVALID_RECEIPT_HANDLE},
		{broker.ErrTypeMismatch, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{fmt.Errorf("send m: %w", broker.ErrTypeMismatch), v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{fmt.Errorf("end txn-1: %w", broker.ErrTransactionNotFound), v2.Code_INVALID_TRANSACTION_ID},
		{fmt.Errorf("recall: %w", broker.ErrRecallNotFound), v2.Code_NOT_FOUND},
		{fmt.Errorf("%w: due in 100h, beyond 72h", broker.ErrIllegalDeliveryTime), v2.Code_ILLEGAL_DELIVERY_TIME},
		// A broker may refine ErrInvalidArgument; the specific code wins.
		{fmt.Errorf("%w: %w", broker.ErrInvalidArgument, broker.ErrIllegalDeliveryTime), v2.Code_ILLEGAL_DELIVERY_TIME},
		{broker.ErrBadFilter, v2.Code_ILLEGAL_FILTER_EXPRESSION},
		{store.ErrTooLarge, v2.Code_MESSAGE_BODY_TOO_LARGE},
		{fmt.Errorf("%w: m: %w", broker.ErrInvalidArgument, broker.ErrBodyTooLarge), v2.Code_MESSAGE_BODY_TOO_LARGE},
		{fmt.Errorf("%w: m: %w", broker.ErrInvalidArgument, broker.ErrBodyEmpty), v2.Code_MESSAGE_BODY_EMPTY},
		{fmt.Errorf("%w: transaction messages (message m)", broker.ErrUnsupported), v2.Code_UNSUPPORTED},
		{fmt.Errorf("%w: batch too big", broker.ErrInvalidArgument), v2.Code_BAD_REQUEST},
		{ErrForbidden, v2.Code_FORBIDDEN},
		{ErrUnauthorized, v2.Code_UNAUTHORIZED},
		{context.DeadlineExceeded, v2.Code_PROXY_TIMEOUT},
		{broker.ErrClosed, v2.Code_INTERNAL_SERVER_ERROR},
		{reject(v2.Code_CLIENT_ID_REQUIRED, "x"), v2.Code_CLIENT_ID_REQUIRED},
		{reject(v2.Code_ILLEGAL_POLLING_TIME, "x"), v2.Code_ILLEGAL_POLLING_TIME},
		{fmt.Errorf("wrapped: %w", reject(v2.Code_ILLEGAL_MESSAGE_TAG, "bad tag")), v2.Code_ILLEGAL_MESSAGE_TAG},
	}
	for _, c := range cases {
		st := statusOf(c.err)
		require.Equal(t, c.code, st.GetCode(), "%v", c.err)
		require.NotEmpty(t, st.GetMessage())
	}
}

func TestStatusOfTransactionAndRecallMessages(t *testing.T) {
	t.Parallel()
	st := statusOf(fmt.Errorf("end txn-1: %w", broker.ErrTransactionNotFound))
	require.Contains(t, st.GetMessage(), "transaction not found")
	st = statusOf(fmt.Errorf("recall h: %w", broker.ErrRecallNotFound))
	require.Equal(t, "message already delivered, recalled or unknown", st.GetMessage())
}

func TestStatusOfInternalLeaksNothing(t *testing.T) {
	t.Parallel()
	st := statusOf(errors.New("open /var/lib/orbit/secret.key: permission denied"))
	require.Equal(t, v2.Code_INTERNAL_ERROR, st.GetCode())
	require.Equal(t, internalMessage, st.GetMessage())
}

func TestCommonStatus(t *testing.T) {
	t.Parallel()
	ok, bad := okStatus(), statusOf(broker.ErrInvalidHandle)
	require.Equal(t, v2.Code_OK, commonStatus(nil).GetCode())
	require.Equal(t, v2.Code_OK, commonStatus([]*v2.Status{ok, ok}).GetCode())
	require.Equal(t, v2.Code_INVALID_RECEIPT_HANDLE, commonStatus([]*v2.Status{bad, bad}).GetCode())
	require.Equal(t, v2.Code_MULTIPLE_RESULTS, commonStatus([]*v2.Status{ok, bad}).GetCode())
}

func TestStatusResponseCoversUnaryMethods(t *testing.T) {
	t.Parallel()
	st := authStatus(ErrUnauthorized)
	require.Equal(t, v2.Code_UNAUTHORIZED, st.GetCode())
	require.Equal(t, v2.Code_FORBIDDEN, authStatus(fmt.Errorf("acl: %w", ErrForbidden)).GetCode())
	for _, m := range []string{"QueryRoute", "Heartbeat", "SendMessage", "QueryAssignment", "AckMessage",
		"ForwardMessageToDeadLetterQueue", "EndTransaction", "NotifyClientTermination", "ChangeInvisibleDuration",
		"RecallMessage", "SyncLiteSubscription", "UpdateOffset", "GetOffset", "QueryOffset"} {
		resp := statusResponse(m, st, nil)
		require.NotNil(t, resp, m)
		require.Equal(t, v2.Code_UNAUTHORIZED, resp.(statusGetter).GetStatus().GetCode(), m)
	}
	require.Nil(t, statusResponse("Telemetry", st, nil))
	resp := statusResponse("ChangeInvisibleDuration", st, &v2.ChangeInvisibleDurationRequest{ReceiptHandle: "h1"})
	require.Equal(t, "h1", resp.(*v2.ChangeInvisibleDurationResponse).GetReceiptHandle())
}
