package admin_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

func TestResendDeadLetters(t *testing.T) {
	n := startNode(t)
	c, ctx := n.client, t.Context()
	_, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: "orders", QueueCount: 1})
	require.NoError(t, err)
	_, err = c.CreateGroup(ctx, &adminpb.CreateGroupRequest{Name: "billing"})
	require.NoError(t, err)
	send(t, n, "orders", 1)
	ds, err := n.broker.Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 1, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, n.broker.ForwardToDLQ(ctx, "billing", "orders", "orders-0", ds[0].ReceiptHandle))

	resp, err := c.ResendDeadLetters(ctx, &adminpb.ResendDeadLettersRequest{Group: "billing", MessageIds: []string{"orders-0", "nope"}})
	require.NoError(t, err)
	require.Len(t, resp.GetResults(), 2)
	require.Equal(t, "orders", resp.GetResults()[0].GetTopic())
	require.Empty(t, resp.GetResults()[0].GetErrorCode())
	require.Equal(t, "NOT_FOUND", resp.GetResults()[1].GetErrorCode())
	require.Contains(t, resp.GetResults()[1].GetErrorMessage(), `"%DLQ%billing"`)

	_, err = c.ResendDeadLetters(ctx, &adminpb.ResendDeadLettersRequest{MessageIds: []string{"x"}})
	requireCode(t, err, codes.InvalidArgument, "group is required")
	_, err = c.ResendDeadLetters(ctx, &adminpb.ResendDeadLettersRequest{Group: "billing"})
	requireCode(t, err, codes.InvalidArgument, "message_ids")
	_, err = c.ResendDeadLetters(ctx, &adminpb.ResendDeadLettersRequest{Group: "nobody", MessageIds: []string{"x"}})
	requireCode(t, err, codes.NotFound, `consumer group "nobody" not found`)
}
