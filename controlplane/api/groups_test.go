package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestConsumerGroupLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t, func(c *node.Config) { c.LagSampleInterval = 20 * time.Millisecond })
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("groups@example.com", "Groups")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/consumerGroups"

		res := owner.do("POST", base, map[string]any{"groupId": "billing", "deliveryOrderType": "Concurrently", "remark": "bills"})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		body := res.json(t)
		require.Equal(t, "billing", body["groupId"])
		require.Equal(t, "Concurrently", body["deliveryOrderType"])
		require.EqualValues(t, 16, nested(body, "consumeRetryPolicy", "maxRetryTimes"))
		require.Equal(t, "DefaultRetryPolicy", nested(body, "consumeRetryPolicy", "retryPolicy"))
		g, err := n.Broker().GetGroup("billing")
		require.NoError(t, err)
		require.False(t, g.Orderly)
		require.EqualValues(t, 16, g.MaxRetries)

		res = owner.do("POST", base, map[string]any{"groupId": "audit", "deliveryOrderType": "Orderly",
			"consumeRetryPolicy": map[string]any{"maxRetryTimes": 3}}, "Idempotency-Key", "group-1")
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		require.Equal(t, "FixedRetryPolicy", nested(res.json(t), "consumeRetryPolicy", "retryPolicy"))
		require.EqualValues(t, 10, nested(res.json(t), "consumeRetryPolicy", "fixedIntervalRetryTime"))
		again := owner.do("POST", base, map[string]any{"groupId": "audit", "deliveryOrderType": "Orderly",
			"consumeRetryPolicy": map[string]any{"maxRetryTimes": 3}}, "Idempotency-Key", "group-1")
		require.Equal(t, http.StatusCreated, again.status)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		g, err = n.Broker().GetGroup("audit")
		require.NoError(t, err)
		require.True(t, g.Orderly)
		require.EqualValues(t, 3, g.MaxRetries)

		dup := owner.do("POST", base, map[string]any{"groupId": "audit", "deliveryOrderType": "Orderly"})
		require.Equal(t, http.StatusConflict, dup.status)
		require.Equal(t, "group_exists", dup.problem(t).Code)

		require.Equal(t, []string{"audit", "billing"}, itemNames(t, owner.do("GET", base, nil), "groupId"))
		require.Equal(t, []string{"billing"}, itemNames(t, owner.do("GET", base+"?name=BILL", nil), "groupId"))
		page := owner.do("GET", base+"?pageSize=1", nil).json(t)
		require.Len(t, page["items"], 1)
		require.NotEmpty(t, page["nextPageToken"])

		// Update pushes delivery order and retries to the node.
		upd := owner.do("PATCH", base+"/billing", map[string]any{"deliveryOrderType": "Orderly", "consumeRetryPolicy": map[string]any{"maxRetryTimes": 5}, "maxReceiveTps": 50})
		require.Equal(t, http.StatusOK, upd.status, "body: %s", upd.body)
		require.EqualValues(t, 50, upd.json(t)["maxReceiveTps"])
		g, err = n.Broker().GetGroup("billing")
		require.NoError(t, err)
		require.True(t, g.Orderly)
		require.EqualValues(t, 5, g.MaxRetries)
		require.EqualValues(t, 50, g.MaxReceiveTPS, "the receive cap is pushed to the node")
		fixed := owner.do("PATCH", base+"/billing", map[string]any{"consumeRetryPolicy": map[string]any{"retryPolicy": "FixedRetryPolicy", "fixedIntervalRetryTime": 30}})
		require.Equal(t, http.StatusOK, fixed.status, "body: %s", fixed.body)
		g, err = n.Broker().GetGroup("billing")
		require.NoError(t, err)
		require.Equal(t, 30*time.Second, g.RetryInterval)
		got := owner.do("GET", base+"/billing", nil)
		require.Equal(t, http.StatusOK, got.status)
		require.EqualValues(t, 5, nested(got.json(t), "consumeRetryPolicy", "maxRetryTimes"))

		// Lag per topic and queue, from the node.
		require.Equal(t, http.StatusCreated, owner.do("POST", "/api/v1/instances/"+id+"/topics", map[string]any{"topicName": "orders", "messageType": "NORMAL", "queueCount": 2}).status)
		var msgs []*store.Message
		for i := range 5 {
			msgs = append(msgs, &store.Message{Topic: "orders", QueueID: 0, MessageID: fmt.Sprintf("lag-%d", i), Type: store.TypeNormal, Body: []byte("x"), BornTime: time.Now()})
		}
		_, err = n.Broker().Send(context.Background(), msgs)
		require.NoError(t, err)
		require.NoError(t, n.Broker().ResetOffset(context.Background(), "billing", "orders", broker.ResetTarget{Earliest: true}))
		lag := owner.do("GET", base+"/billing/lag", nil)
		require.Equal(t, http.StatusOK, lag.status, "body: %s", lag.body)
		lb := lag.json(t)
		require.EqualValues(t, 5, lb["totalLag"])
		var sum float64
		for _, it := range lb["items"].([]any) {
			m := it.(map[string]any)
			require.Equal(t, "orders", m["topicName"])
			require.Equal(t, m["maxOffset"].(float64)-m["consumerOffset"].(float64), m["lag"])
			sum += m["lag"].(float64)
		}
		require.EqualValues(t, 5, sum, "body: %s", lag.body)
		// The trend: the node's recent samples of the total lag.
		require.Eventually(t, func() bool {
			lb := owner.do("GET", base+"/billing/lag", nil).json(t)
			trend, _ := lb["trend"].([]any)
			if len(trend) == 0 || lb["trendIntervalSeconds"] == nil {
				return false
			}
			last := trend[len(trend)-1].(map[string]any)
			return last["lag"] == 5.0 && last["time"] != ""
		}, 10*time.Second, 20*time.Millisecond, "the lag trend ends with the current lag")
		require.Equal(t, http.StatusNotFound, owner.do("GET", base+"/nope/lag", nil).status)

		del := owner.do("DELETE", base+"/billing", nil)
		require.Equal(t, http.StatusNoContent, del.status, "body: %s", del.body)
		_, err = n.Broker().GetGroup("billing")
		require.Error(t, err)
		missing := owner.do("GET", base+"/billing", nil)
		require.Equal(t, http.StatusNotFound, missing.status)
		require.Equal(t, "group_not_found", missing.problem(t).Code)
	})
}

func TestConsumerGroupBadInputIsProblemAndNothingOnNode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("badgroup@example.com", "BadGroup")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/consumerGroups"
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"bad characters", map[string]any{"groupId": "g.1", "deliveryOrderType": "Concurrently"}, "groupId"},
			{"too long", map[string]any{"groupId": strings.Repeat("g", 121), "deliveryOrderType": "Concurrently"}, "groupId"},
			{"reserved name", map[string]any{"groupId": "DEFAULT_CONSUMER", "deliveryOrderType": "Concurrently"}, "groupId"},
			{"reserved prefix", map[string]any{"groupId": "CID_RMQ_SYS_x", "deliveryOrderType": "Concurrently"}, "groupId"},
			{"retry prefix", map[string]any{"groupId": "%RETRY%x", "deliveryOrderType": "Concurrently"}, "groupId"},
			{"unknown order", map[string]any{"groupId": "g", "deliveryOrderType": "Random"}, "deliveryOrderType"},
			{"too many retries", map[string]any{"groupId": "g", "deliveryOrderType": "Concurrently", "consumeRetryPolicy": map[string]any{"maxRetryTimes": 1001}}, "consumeRetryPolicy.maxRetryTimes"},
			{"unknown policy", map[string]any{"groupId": "g", "deliveryOrderType": "Concurrently", "consumeRetryPolicy": map[string]any{"retryPolicy": "Sometimes"}}, "consumeRetryPolicy.retryPolicy"},
		} {
			res := owner.do("POST", base, tc.body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.name, res.body)
			p := res.problem(t)
			require.Equal(t, "validation_failed", p.Code, tc.name)
			require.Equal(t, tc.field, p.Errors[0].Field, "%s: %s", tc.name, res.body)
		}
		require.Zero(t, count(t, db, "consumer_groups"))
		require.Empty(t, n.Broker().ListGroups("", 0))

		require.NoError(t, db.Exec("UPDATE specs SET max_groups = 1").Error)
		require.Equal(t, http.StatusCreated, owner.do("POST", base, map[string]any{"groupId": "one", "deliveryOrderType": "Concurrently"}).status)
		over := owner.do("POST", base, map[string]any{"groupId": "two", "deliveryOrderType": "Concurrently"})
		require.Equal(t, http.StatusUnprocessableEntity, over.status)
		require.Equal(t, "quota_exceeded", over.problem(t).Code)
		require.Len(t, n.Broker().ListGroups("", 0), 1)
	})
}
