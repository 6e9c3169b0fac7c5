package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// sendOrders stores n messages on queue 0 of topic through the node's broker.
func sendOrders(t *testing.T, b *broker.Broker, topic string, n int) {
	t.Helper()
	var msgs []*store.Message
	for i := range n {
		msgs = append(msgs, &store.Message{Topic: topic, QueueID: int32(i % 2), MessageID: fmt.Sprintf("%s-%d", topic, i), Type: store.TypeNormal, Body: []byte("x"), BornTime: time.Now()})
	}
	_, err := b.Send(context.Background(), msgs)
	require.NoError(t, err)
}

func TestTopicGetHasQueueStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("stats@example.com", "Stats")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/topics"
		require.Equal(t, http.StatusCreated, owner.do("POST", base, map[string]any{"topicName": "orders", "messageType": "NORMAL", "queueCount": 2}).status)
		sendOrders(t, n.Broker(), "orders", 7)

		res := owner.do("GET", base+"/orders", nil)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		body := res.json(t)
		require.EqualValues(t, 7, body["messageCount"])
		qs := body["queues"].([]any)
		require.Len(t, qs, 2)
		var sum float64
		for i, q := range qs {
			m := q.(map[string]any)
			require.EqualValues(t, i, m["queueId"])
			sum += m["maxOffset"].(float64) - m["minOffset"].(float64)
		}
		require.EqualValues(t, 7, sum)

		// Lists carry no stats; another account sees nothing.
		list := owner.do("GET", base, nil).json(t)
		require.NotContains(t, list["items"].([]any)[0].(map[string]any), "queues")
		other, _ := env.signUp("stats-other@example.com", "Other")
		require.Equal(t, http.StatusNotFound, other.do("GET", base+"/orders", nil).status)
		require.Equal(t, http.StatusNotFound, owner.do("GET", base+"/nope", nil).status)
	})
}

func TestResetConsumeOffsetDryRunAndReset(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("reset@example.com", "Reset")
		id := runningInstance(t, db, owner, n)
		inst := "/api/v1/instances/" + id
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/topics", map[string]any{"topicName": "orders", "messageType": "NORMAL", "queueCount": 2}).status)
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/consumerGroups", map[string]any{"groupId": "billing", "deliveryOrderType": "Concurrently"}).status)
		sendOrders(t, n.Broker(), "orders", 6)
		ctx := context.Background()
		require.NoError(t, n.Broker().ResetOffset(ctx, "billing", "orders", broker.ResetTarget{Latest: true}))
		before, err := n.Broker().Offsets("billing", "orders")
		require.NoError(t, err)

		path := inst + "/consumerGroups/billing/consumeOffsets/orders"
		dry := owner.do("PATCH", path+"?dryRun=true", map[string]any{"resetType": "EARLIEST"})
		require.Equal(t, http.StatusOK, dry.status, "body: %s", dry.body)
		db1 := dry.json(t)
		require.Equal(t, true, db1["dryRun"])
		require.EqualValues(t, 6, db1["redeliveredCount"])
		require.EqualValues(t, 0, db1["skippedCount"])
		items := db1["items"].([]any)
		require.Len(t, items, 2)
		for i, it := range items {
			m := it.(map[string]any)
			require.EqualValues(t, i, m["queueId"])
			require.EqualValues(t, 0, m["newOffset"])
		}
		after, err := n.Broker().Offsets("billing", "orders")
		require.NoError(t, err)
		require.Equal(t, before, after, "a dry run changes nothing")

		res := owner.do("PATCH", path, map[string]any{"resetType": "EARLIEST"})
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Equal(t, false, res.json(t)["dryRun"])
		require.EqualValues(t, 6, res.json(t)["redeliveredCount"])
		lag := owner.do("GET", inst+"/consumerGroups/billing/lag", nil)
		require.EqualValues(t, 6, lag.json(t)["totalLag"], "the lag grows back to the total")
		for _, it := range lag.json(t)["items"].([]any) {
			m := it.(map[string]any)
			require.Contains(t, m, "oldestUnconsumedAge")
			require.GreaterOrEqual(t, m["oldestUnconsumedAge"].(float64), 0.0)
			require.Less(t, m["oldestUnconsumedAge"].(float64), 60.0, "stored just now")
		}
		ds, err := n.Broker().Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 10, InvisibleDuration: time.Minute})
		require.NoError(t, err)
		require.NotEmpty(t, ds, "reset to EARLIEST redelivers")

		// A dry run to LATEST counts what would be skipped.
		skip := owner.do("PATCH", path+"?dryRun=true", map[string]any{"resetType": "LATEST"})
		require.Equal(t, http.StatusOK, skip.status, "body: %s", skip.body)
		require.EqualValues(t, 6, skip.json(t)["skippedCount"])

		ts := owner.do("PATCH", path+"?dryRun=true", map[string]any{"resetType": "TIMESTAMP", "resetTime": time.Now().Add(-time.Hour).Format(time.RFC3339)})
		require.Equal(t, http.StatusOK, ts.status, "body: %s", ts.body)

		// Bad input is a 400 problem; unknown names and other accounts 404.
		for _, body := range []map[string]any{{"resetType": "TIMESTAMP"}, {"resetType": "SOMETIME"}, {}} {
			bad := owner.do("PATCH", path, body)
			require.Equal(t, http.StatusBadRequest, bad.status, "%v: %s", body, bad.body)
			require.Contains(t, bad.header.Get("Content-Type"), "application/problem+json")
		}
		require.Equal(t, http.StatusNotFound, owner.do("PATCH", inst+"/consumerGroups/nope/consumeOffsets/orders", map[string]any{"resetType": "EARLIEST"}).status)
		require.Equal(t, http.StatusNotFound, owner.do("PATCH", inst+"/consumerGroups/billing/consumeOffsets/nope", map[string]any{"resetType": "EARLIEST"}).status)
		other, _ := env.signUp("reset-other@example.com", "Other")
		require.Equal(t, http.StatusNotFound, other.do("PATCH", path+"?dryRun=true", map[string]any{"resetType": "EARLIEST"}).status)
		require.Equal(t, http.StatusNotFound, other.do("PATCH", path, map[string]any{"resetType": "EARLIEST"}).status)
	})
}

func TestDeadLettersListAndResend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("dlq@example.com", "DLQ")
		id := runningInstance(t, db, owner, n)
		inst := "/api/v1/instances/" + id
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/topics", map[string]any{"topicName": "orders", "messageType": "NORMAL", "queueCount": 2}).status)
		require.Equal(t, http.StatusCreated, owner.do("POST", inst+"/consumerGroups", map[string]any{"groupId": "billing", "deliveryOrderType": "Concurrently"}).status)
		base := inst + "/consumerGroups/billing/deadLetters"

		empty := owner.do("GET", base, nil)
		require.Equal(t, http.StatusOK, empty.status, "body: %s", empty.body)
		require.Empty(t, empty.json(t)["items"], "nothing dead-lettered yet")

		sendOrders(t, n.Broker(), "orders", 2)
		ctx := context.Background()
		ds, err := n.Broker().Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 10, InvisibleDuration: time.Minute})
		require.NoError(t, err)
		require.Len(t, ds, 2)
		for _, d := range ds {
			require.NoError(t, n.Broker().ForwardToDLQ(ctx, "billing", "orders", d.Message.MessageID, d.ReceiptHandle))
		}

		list := owner.do("GET", base, nil)
		require.Equal(t, http.StatusOK, list.status, "body: %s", list.body)
		items := list.json(t)["items"].([]any)
		require.Len(t, items, 2)
		first := items[0].(map[string]any)
		require.Equal(t, "orders", first["originTopic"])
		require.Equal(t, "x", first["bodyPreview"])
		require.EqualValues(t, 1, first["attempts"])
		require.NotEmpty(t, first["storeTime"])
		require.NotEmpty(t, first["bornTime"])
		paged := owner.do("GET", base+"?pageSize=1", nil).json(t)
		require.Len(t, paged["items"], 1)

		msgID := first["messageId"].(string)
		res := owner.do("POST", base+"/resend", map[string]any{"messageIds": []string{msgID, "nope"}})
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		rs := res.json(t)["items"].([]any)
		require.Len(t, rs, 2)
		require.Equal(t, map[string]any{"messageId": msgID, "resent": true, "topicName": "orders"}, rs[0])
		require.Equal(t, false, rs[1].(map[string]any)["resent"])
		require.Equal(t, "NOT_FOUND", rs[1].(map[string]any)["error"])
		again, err := n.Broker().Receive(ctx, broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: -1, MaxMessages: 10, InvisibleDuration: time.Minute})
		require.NoError(t, err)
		require.Len(t, again, 1, "the resent copy is delivered again")
		require.Equal(t, msgID, again[0].Message.MessageID)

		// Bad input is a 400 problem; unknown groups and other accounts 404.
		for _, body := range []map[string]any{{"messageIds": []string{}}, {}, {"messageIds": []string{""}}} {
			bad := owner.do("POST", base+"/resend", body)
			require.Equal(t, http.StatusBadRequest, bad.status, "%v: %s", body, bad.body)
			require.Contains(t, bad.header.Get("Content-Type"), "application/problem+json")
		}
		badTok := owner.do("GET", base+"?pageToken=garbage", nil)
		require.Equal(t, http.StatusBadRequest, badTok.status, "body: %s", badTok.body)
		require.Equal(t, http.StatusNotFound, owner.do("GET", inst+"/consumerGroups/nope/deadLetters", nil).status)
		other, _ := env.signUp("dlq-other@example.com", "Other")
		require.Equal(t, http.StatusNotFound, other.do("GET", base, nil).status)
		require.Equal(t, http.StatusNotFound, other.do("POST", base+"/resend", map[string]any{"messageIds": []string{msgID}}).status)
	})
}
