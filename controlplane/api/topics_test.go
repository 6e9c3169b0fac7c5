package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/api"
	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// newResourceEnv is newEnv with the topics and groups service.
func newResourceEnv(t *testing.T, db *gorm.DB) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := iam.DefaultConfig()
	cfg.PasswordParams = iam.TestPasswordParams
	svc := iam.NewService(iamdb.New(db), cfg, log)
	require.NoError(t, svc.EnsureSigningKey(t.Context()))
	srv := api.New(api.Config{Version: "test"}, api.Deps{
		DB: db, IAM: svc, Audit: audit.NewStore(db), Idempotency: idempotency.NewStore(db),
		Instances: instances.NewService(instances.NewStore(db), instances.DefaultConfig(), log),
		Resources: resources.NewService(resources.NewStore(db), instances.NewStore(db), resources.Config{}, log),
		Log:       log,
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testEnv{t: t, url: ts.URL, db: db, iam: svc, logs: logs}
}

// runningInstance creates an instance and plays the reconciler: it runs on n.
func runningInstance(t *testing.T, db *gorm.DB, c *client, n *node.Node) string {
	t.Helper()
	id := createInstance(t, c, "res")["instanceId"].(string)
	require.NoError(t, db.Exec("UPDATE instances SET status = 'RUNNING', observed_generation = 1, endpoint = ?, admin_addr = ?, admin_token = ? WHERE id = ?",
		n.GRPCAddr(), n.AdminAddr(), nodetest.Token, id).Error)
	return id
}

func nodeTopics(n *node.Node) []string {
	var out []string
	for _, t := range n.Broker().ListTopics("", 0) {
		out = append(out, t.Name)
	}
	return out
}

func count(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var c int64
	require.NoError(t, db.Table(table).Count(&c).Error)
	return c
}

func itemNames(t *testing.T, res response, key string) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var out []string
	for _, it := range res.json(t)["items"].([]any) {
		out = append(out, it.(map[string]any)[key].(string))
	}
	return out
}

func TestTopicLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("topics@example.com", "Topics")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/topics"

		res := owner.do("POST", base, map[string]any{"topicName": "orders", "messageType": "FIFO", "queueCount": 4, "maxSendTps": 500, "remark": "prod"})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		body := res.json(t)
		require.Equal(t, "orders", body["topicName"])
		require.Equal(t, "FIFO", body["messageType"])
		require.EqualValues(t, 4, body["queueCount"])
		require.EqualValues(t, 500, body["maxSendTps"])
		require.Equal(t, id, body["instanceId"])
		onNode, err := n.Broker().GetTopic("orders")
		require.NoError(t, err)
		require.Equal(t, broker.TopicFIFO, onNode.Type)
		require.EqualValues(t, 4, onNode.Queues)

		// Defaults: 8 queues.
		res = owner.do("POST", base, map[string]any{"topicName": "events", "messageType": "NORMAL"})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		require.EqualValues(t, 8, res.json(t)["queueCount"])
		res = owner.do("POST", base, map[string]any{"topicName": "delayed-orders", "messageType": "DELAY"})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)

		dup := owner.do("POST", base, map[string]any{"topicName": "orders", "messageType": "NORMAL"})
		require.Equal(t, http.StatusConflict, dup.status)
		require.Equal(t, "topic_exists", dup.problem(t).Code)

		// Idempotent create: the retry replays the first answer.
		first := owner.do("POST", base, map[string]any{"topicName": "once", "messageType": "NORMAL"}, "Idempotency-Key", "topic-1")
		require.Equal(t, http.StatusCreated, first.status, "body: %s", first.body)
		again := owner.do("POST", base, map[string]any{"topicName": "once", "messageType": "NORMAL"}, "Idempotency-Key", "topic-1")
		require.Equal(t, http.StatusCreated, again.status, "body: %s", again.body)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.JSONEq(t, string(first.body), string(again.body))

		// List: by name, filtered, paged.
		require.Equal(t, []string{"delayed-orders", "events", "once", "orders"}, itemNames(t, owner.do("GET", base, nil), "topicName"))
		require.Equal(t, []string{"delayed-orders", "orders"}, itemNames(t, owner.do("GET", base+"?name=ORDER", nil), "topicName"))
		require.Equal(t, []string{"orders"}, itemNames(t, owner.do("GET", base+"?messageType=FIFO", nil), "topicName"))
		var paged []string
		path := base + "?pageSize=3"
		for path != "" {
			res := owner.do("GET", path, nil)
			paged = append(paged, itemNames(t, res, "topicName")...)
			path = ""
			if next, _ := res.json(t)["nextPageToken"].(string); next != "" {
				path = base + "?pageSize=3&pageToken=" + next
			}
		}
		require.Equal(t, []string{"delayed-orders", "events", "once", "orders"}, paged)
		bad := owner.do("GET", base+"?messageType=BULK", nil)
		require.Equal(t, http.StatusBadRequest, bad.status)
		bad.problem(t)

		got := owner.do("GET", base+"/orders", nil)
		require.Equal(t, http.StatusOK, got.status)
		require.Equal(t, "prod", got.json(t)["remark"])
		missing := owner.do("GET", base+"/nope", nil)
		require.Equal(t, http.StatusNotFound, missing.status)
		require.Equal(t, "topic_not_found", missing.problem(t).Code)

		// Update: remark and send limit; the message type is immutable.
		upd := owner.do("PATCH", base+"/orders", map[string]any{"remark": "changed", "maxSendTps": 100, "messageType": "FIFO"})
		require.Equal(t, http.StatusOK, upd.status, "body: %s", upd.body)
		require.Equal(t, "changed", upd.json(t)["remark"])
		require.EqualValues(t, 100, upd.json(t)["maxSendTps"])
		onNode, err = n.Broker().GetTopic("orders")
		require.NoError(t, err)
		require.EqualValues(t, 100, onNode.MaxSendTPS, "the send cap is pushed to the node")
		imm := owner.do("PATCH", base+"/orders", map[string]any{"messageType": "NORMAL"})
		require.Equal(t, http.StatusBadRequest, imm.status)
		p := imm.problem(t)
		require.Equal(t, "validation_failed", p.Code)
		require.Equal(t, "messageType", p.Errors[0].Field)

		// Delete removes it from the node and the database.
		del := owner.do("DELETE", base+"/orders", nil)
		require.Equal(t, http.StatusNoContent, del.status, "body: %s", del.body)
		_, err = n.Broker().GetTopic("orders")
		require.ErrorIs(t, err, broker.ErrTopicNotFound)
		require.Equal(t, http.StatusNotFound, owner.do("GET", base+"/orders", nil).status)
		require.Equal(t, http.StatusNotFound, owner.do("DELETE", base+"/orders", nil).status)

		// A viewer reads but cannot change.
		viewer, _ := env.addUser(owner, "viewer@example.com", "viewer")
		require.Equal(t, http.StatusOK, viewer.do("GET", base, nil).status)
		require.Equal(t, http.StatusForbidden, viewer.do("POST", base, map[string]any{"topicName": "v", "messageType": "NORMAL"}).status)

		// Mutating calls are audited against the topic.
		events := owner.do("GET", "/api/v1/auditEvents?resource=instances/"+id+"/topics/orders&pageSize=200", nil).json(t)["items"].([]any)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		for _, a := range []string{"createTopic", "updateTopic", "deleteTopic"} {
			require.Contains(t, actions, a)
		}
		require.NotContains(t, env.logs.String(), nodetest.Token, "the admin token is never logged")

		// On a stopped instance a remark still changes (it lives in the
		// control plane); a send cap, which the node enforces, cannot.
		require.Equal(t, http.StatusOK, owner.do("PATCH", base+"/once", map[string]any{"remark": "while stopped"}).status)
		require.NoError(t, db.Exec("UPDATE instances SET status = 'STOPPED', desired = 'STOPPED' WHERE id = ?", id).Error)
		require.Equal(t, http.StatusOK, owner.do("PATCH", base+"/once", map[string]any{"remark": "stopped"}).status)
		stopped := owner.do("PATCH", base+"/once", map[string]any{"maxSendTps": 5})
		require.Equal(t, http.StatusConflict, stopped.status, "body: %s", stopped.body)
		require.Equal(t, "instance_not_running", stopped.problem(t).Code)
		require.EqualValues(t, 0, owner.do("GET", base+"/once", nil).json(t)["maxSendTps"], "a refused change changes nothing")
	})
}

func TestTopicBadInputIsProblemAndNothingOnNode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("badtopic@example.com", "BadTopic")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/topics"
		before := nodeTopics(n)
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"empty name", map[string]any{"topicName": "", "messageType": "NORMAL"}, "topicName"},
			{"bad characters", map[string]any{"topicName": "orders.v1", "messageType": "NORMAL"}, "topicName"},
			{"space", map[string]any{"topicName": "my topic", "messageType": "NORMAL"}, "topicName"},
			{"too long", map[string]any{"topicName": strings.Repeat("t", 128), "messageType": "NORMAL"}, "topicName"},
			{"reserved name", map[string]any{"topicName": "TBW102", "messageType": "NORMAL"}, "topicName"},
			{"reserved DLQ prefix", map[string]any{"topicName": "%DLQ%g", "messageType": "NORMAL"}, "topicName"},
			{"reserved retry prefix", map[string]any{"topicName": "%RETRY%g", "messageType": "NORMAL"}, "topicName"},
			{"reserved system prefix", map[string]any{"topicName": "rmq_sys_mine", "messageType": "NORMAL"}, "topicName"},
			{"unknown message type", map[string]any{"topicName": "x", "messageType": "BULK"}, "messageType"},
			{"missing message type", map[string]any{"topicName": "x"}, "messageType"},
			{"too many queues", map[string]any{"topicName": "x", "messageType": "NORMAL", "queueCount": 65}, "queueCount"},
			{"negative queues", map[string]any{"topicName": "x", "messageType": "NORMAL", "queueCount": -1}, "queueCount"},
			{"negative tps", map[string]any{"topicName": "x", "messageType": "NORMAL", "maxSendTps": -5}, "maxSendTps"},
		} {
			res := owner.do("POST", base, tc.body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.name, res.body)
			p := res.problem(t)
			require.Equal(t, "validation_failed", p.Code, tc.name)
			require.NotEmpty(t, p.Errors, tc.name)
			require.Equal(t, tc.field, p.Errors[0].Field, "%s: %s", tc.name, res.body)
		}
		require.Zero(t, count(t, db, "topics"))
		require.Equal(t, before, nodeTopics(n), "nothing reached the node")

		// Over the spec's quota: 422, nothing on the node.
		require.NoError(t, db.Exec("UPDATE specs SET max_topics = 1").Error)
		require.Equal(t, http.StatusCreated, owner.do("POST", base, map[string]any{"topicName": "first", "messageType": "NORMAL"}).status)
		over := owner.do("POST", base, map[string]any{"topicName": "second", "messageType": "NORMAL"})
		require.Equal(t, http.StatusUnprocessableEntity, over.status)
		require.Equal(t, "quota_exceeded", over.problem(t).Code)
		_, err := n.Broker().GetTopic("second")
		require.ErrorIs(t, err, broker.ErrTopicNotFound)
		require.EqualValues(t, 1, count(t, db, "topics"))
	})
}

func TestTopicNeedsRunningInstanceAndReachableNode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newResourceEnv(t, db)
		owner, _ := env.signUp("state@example.com", "State")
		creating := createInstance(t, owner, "creating")["instanceId"].(string)
		res := owner.do("POST", "/api/v1/instances/"+creating+"/topics", map[string]any{"topicName": "t", "messageType": "NORMAL"})
		require.Equal(t, http.StatusConflict, res.status)
		p := res.problem(t)
		require.Equal(t, "instance_not_running", p.Code)
		require.Equal(t, "The instance is not running.", p.Detail)

		// RUNNING, but its node does not answer: 503 and no row is kept.
		dead := createInstance(t, owner, "dead")["instanceId"].(string)
		require.NoError(t, db.Exec("UPDATE instances SET status = 'RUNNING', admin_addr = '127.0.0.1:1' WHERE id = ?", dead).Error)
		res = owner.do("POST", "/api/v1/instances/"+dead+"/topics", map[string]any{"topicName": "t", "messageType": "NORMAL"})
		require.Equal(t, http.StatusServiceUnavailable, res.status, "body: %s", res.body)
		require.Equal(t, "node_unavailable", res.problem(t).Code)
		require.Zero(t, count(t, db, "topics"))
	})
}

func TestTopicsAndGroupsOfOtherAccountsAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t)
		env := newResourceEnv(t, db)
		alice, _ := env.signUp("alice@example.com", "Alice")
		bob, _ := env.signUp("bob@example.com", "Bob")
		id := runningInstance(t, db, alice, n)
		base := "/api/v1/instances/" + id
		require.Equal(t, http.StatusCreated, alice.do("POST", base+"/topics", map[string]any{"topicName": "secret", "messageType": "NORMAL"}).status)
		require.Equal(t, http.StatusCreated, alice.do("POST", base+"/consumerGroups", map[string]any{"groupId": "secret-g", "deliveryOrderType": "Concurrently"}).status)
		for _, call := range []struct {
			method, path string
			body         any
		}{
			{"GET", base + "/topics", nil},
			{"POST", base + "/topics", map[string]any{"topicName": "mine", "messageType": "NORMAL"}},
			{"GET", base + "/topics/secret", nil},
			{"PATCH", base + "/topics/secret", map[string]any{"remark": "x"}},
			{"DELETE", base + "/topics/secret", nil},
			{"GET", base + "/consumerGroups", nil},
			{"POST", base + "/consumerGroups", map[string]any{"groupId": "mine", "deliveryOrderType": "Concurrently"}},
			{"GET", base + "/consumerGroups/secret-g", nil},
			{"PATCH", base + "/consumerGroups/secret-g", map[string]any{"remark": "x"}},
			{"DELETE", base + "/consumerGroups/secret-g", nil},
			{"GET", base + "/consumerGroups/secret-g/lag", nil},
		} {
			res := bob.do(call.method, call.path, call.body)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", call.method, call.path, res.body)
			require.Equal(t, "instance_not_found", res.problem(t).Code)
		}
		_, err := n.Broker().GetTopic("secret")
		require.NoError(t, err, "bob's delete did not reach the node")
		_, err = n.Broker().GetTopic("mine")
		require.ErrorIs(t, err, broker.ErrTopicNotFound)
		require.EqualValues(t, 1, count(t, db, "topics"))
		require.EqualValues(t, 1, count(t, db, "consumer_groups"))
	})
}
