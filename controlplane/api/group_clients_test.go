package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// consumerSession is a RocketMQ client speaking the v2 protocol the way the
// official clients start: a Telemetry stream carrying its Settings.
type consumerSession struct {
	rpc    v2.MessagingServiceClient
	ctx    context.Context
	stream grpc.BidiStreamingClient[v2.TelemetryCommand, v2.TelemetryCommand]
}

// startConsumer opens a simple consumer of group subscribed to topic with
// the tag expression, and waits for the server's Settings reply.
func startConsumer(t *testing.T, endpoint, clientID, group, topic, tags string) *consumerSession {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", clientID, "x-mq-language", "GOLANG",
		"x-mq-client-version", "5.1.4", "x-mq-protocol", "v2")
	rpc := v2.NewMessagingServiceClient(conn)
	stream, err := rpc.Telemetry(ctx)
	require.NoError(t, err)
	ct := v2.ClientType_SIMPLE_CONSUMER
	require.NoError(t, stream.Send(&v2.TelemetryCommand{Command: &v2.TelemetryCommand_Settings{Settings: &v2.Settings{
		ClientType: &ct, RequestTimeout: durationpb.New(3 * time.Second),
		PubSub: &v2.Settings_Subscription{Subscription: &v2.Subscription{
			Group: &v2.Resource{Name: group},
			Subscriptions: []*v2.SubscriptionEntry{{
				Topic: &v2.Resource{Name: topic}, Expression: &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: tags},
			}},
		}},
	}}}))
	reply, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, v2.Code_OK, reply.GetStatus().GetCode())
	return &consumerSession{rpc: rpc, ctx: ctx, stream: stream}
}

// stop ends the client as the official clients do on Shutdown.
func (c *consumerSession) stop(t *testing.T, group string) {
	t.Helper()
	_, err := c.rpc.NotifyClientTermination(c.ctx, &v2.NotifyClientTerminationRequest{Group: &v2.Resource{Name: group}})
	require.NoError(t, err)
	_ = c.stream.CloseSend()
}

// TestGroupConnectionsAndSubscriptions: two consumers of one group that
// subscribe to a topic with different tags show up as connections, and the
// topic is flagged inconsistent until the odd one leaves.
func TestGroupConnectionsAndSubscriptions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("conn@example.com", "Conn")
		id := runningInstance(t, db, owner, n)
		inst := "/api/v1/instances/" + id
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/topics", map[string]any{"topicName": "orders", "messageType": "NORMAL"}).status)
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/consumerGroups", map[string]any{"groupId": "billing", "deliveryOrderType": "Concurrently"}).status)
		base := inst + "/consumerGroups/billing"

		// Nobody online yet.
		subs := owner.do("GET", base+"/subscriptions", nil)
		require.Equal(t, http.StatusOK, subs.status, "body: %s", subs.body)
		require.Equal(t, true, subs.json(t)["consistent"])
		require.EqualValues(t, 0, subs.json(t)["onlineClients"])
		require.Empty(t, itemNames(t, owner.do("GET", base+"/connections", nil), "clientId"))

		startConsumer(t, n.GRPCAddr(), "host@1@a", "billing", "orders", "paid")
		b := startConsumer(t, n.GRPCAddr(), "host@2@b", "billing", "orders", "paid||refund")

		conns := owner.do("GET", base+"/connections", nil)
		require.Equal(t, []string{"host@1@a", "host@2@b"}, itemNames(t, conns, "clientId"))
		first := conns.json(t)["items"].([]any)[0].(map[string]any)
		require.Equal(t, "SIMPLE_CONSUMER", first["clientType"])
		require.Equal(t, "GOLANG", first["language"])
		require.Equal(t, "5.1.4", first["version"])
		require.Contains(t, first["address"], "127.0.0.1:")
		require.Equal(t, []any{map[string]any{"topicName": "orders", "filterType": "TAG", "expression": "paid"}}, first["subscriptions"])
		require.WithinDuration(t, time.Now(), mustTime(t, first["lastHeartbeat"]), time.Minute)

		paged := owner.do("GET", base+"/connections?pageSize=1", nil).json(t)
		require.Len(t, paged["items"], 1)
		next, _ := paged["nextPageToken"].(string)
		require.NotEmpty(t, next)
		require.Equal(t, []string{"host@2@b"}, itemNames(t, owner.do("GET", base+"/connections?pageSize=1&pageToken="+next, nil), "clientId"))
		bad := owner.do("GET", base+"/connections?pageToken=garbage", nil)
		require.Equal(t, http.StatusBadRequest, bad.status, "body: %s", bad.body)
		bad.problem(t)

		subs = owner.do("GET", base+"/subscriptions", nil)
		require.Equal(t, http.StatusOK, subs.status, "body: %s", subs.body)
		body := subs.json(t)
		require.Equal(t, false, body["consistent"], "body: %s", subs.body)
		require.EqualValues(t, 2, body["onlineClients"])
		topic := body["items"].([]any)[0].(map[string]any)
		require.Equal(t, "orders", topic["topicName"])
		require.Equal(t, false, topic["consistent"])
		require.Len(t, topic["variants"], 2)

		// The odd one leaves: the group agrees again.
		b.stop(t, "billing")
		require.Equal(t, []string{"host@1@a"}, itemNames(t, owner.do("GET", base+"/connections", nil), "clientId"))
		body = owner.do("GET", base+"/subscriptions", nil).json(t)
		require.Equal(t, true, body["consistent"])
		require.EqualValues(t, 1, body["onlineClients"])

		// Another account sees nothing; an unknown group is 404.
		other, _ := env.signUp("conn-other@example.com", "Other")
		require.Equal(t, http.StatusNotFound, other.do("GET", base+"/connections", nil).status)
		require.Equal(t, http.StatusNotFound, other.do("GET", base+"/subscriptions", nil).status)
		require.Equal(t, http.StatusNotFound, owner.do("GET", inst+"/consumerGroups/nope/connections", nil).status)

		// A stopped instance cannot be asked.
		require.NoError(t, db.Exec("UPDATE instances SET status = 'STOPPED' WHERE id = ?", id).Error)
		stopped := owner.do("GET", base+"/connections", nil)
		require.Equal(t, http.StatusConflict, stopped.status, "body: %s", stopped.body)
		stopped.problem(t)
	})
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "not a string: %v", v)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}
