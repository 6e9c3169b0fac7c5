package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

// setInstanceStatus plays the reconciler reporting what it observed.
func setInstanceStatus(t *testing.T, db *gorm.DB, id, status string) {
	t.Helper()
	require.NoError(t, db.Exec("UPDATE instances SET status = ?, endpoint = ? WHERE id = ?", status, "127.0.0.1:18081", id).Error)
}

func countInstances(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("instances").Count(&n).Error)
	return n
}

func createInstance(t *testing.T, c *client, name string) map[string]any {
	t.Helper()
	res := c.do("POST", "/api/v1/instances", map[string]any{"instanceName": name, "specCode": "rmq.s2.2xlarge"})
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	return res.json(t)
}

func TestSpecsList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("specs@example.com", "Specs")
		res := owner.do("GET", "/api/v1/specs", nil)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		items := res.json(t)["items"].([]any)
		require.Len(t, items, 5)
		first := items[0].(map[string]any)
		require.Equal(t, "rmq.s2.2xlarge", first["specCode"])
		require.Equal(t, "standard", first["edition"])
		require.EqualValues(t, 2000, first["maxTps"])
		require.EqualValues(t, 300, first["maxTopics"])
		require.EqualValues(t, 1000, first["maxGroups"])
		require.InDelta(t, 0.28, first["pricePerHour"], 1e-9)
		require.InDelta(t, 0.28*730, first["pricePerMonth"], 1e-9)
		require.InDelta(t, 0.00033, first["pricePerGbHour"], 1e-12)

		// Paging walks the catalogue in display order.
		var codes []string
		path := "/api/v1/specs?pageSize=2"
		for path != "" {
			page := owner.do("GET", path, nil).json(t)
			for _, it := range page["items"].([]any) {
				codes = append(codes, it.(map[string]any)["specCode"].(string))
			}
			path = ""
			if next, _ := page["nextPageToken"].(string); next != "" {
				path = "/api/v1/specs?pageSize=2&pageToken=" + next
			}
		}
		require.Equal(t, []string{"rmq.s2.2xlarge", "rmq.s2.4xlarge", "rmq.p2.2xlarge", "rmq.p2.4xlarge", "rmq.p2.10xlarge"}, codes)

		require.Equal(t, http.StatusUnauthorized, env.client().do("GET", "/api/v1/specs", nil).status)
	})
}

func TestInstanceLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("inst@example.com", "Inst")

		res := owner.do("POST", "/api/v1/instances", map[string]any{
			"instanceName": "orders", "specCode": "rmq.p2.2xlarge", "messageRetentionHours": 48, "flushMode": "async", "remark": "prod",
		})
		require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
		created := res.json(t)
		id := created["instanceId"].(string)
		require.Equal(t, "orders", created["instanceName"])
		require.Equal(t, "CREATING", created["status"])
		require.Equal(t, "rmq.p2.2xlarge", created["specCode"])
		require.EqualValues(t, 48, created["messageRetentionHours"])
		require.Equal(t, "async", created["flushMode"])
		require.Equal(t, "prod", created["remark"])
		require.Equal(t, "professional", nested(created, "spec", "edition"))
		require.NotContains(t, created, "endpoint", "no endpoint before the instance has run")
		require.NotContains(t, created, "statusReason")
		var token string
		require.NoError(t, db.Table("instances").Select("admin_token").Where("id = ?", id).Scan(&token).Error)
		require.Len(t, token, 64)
		require.NotContains(t, string(res.body), token, "the admin token never leaves the server")
		require.NotContains(t, string(res.body), "adminToken")
		require.NotContains(t, string(res.body), "adminAddr")

		// Defaults.
		def := createInstance(t, owner, "defaults")
		require.EqualValues(t, 72, def["messageRetentionHours"])
		require.Equal(t, "sync", def["flushMode"])

		list := owner.do("GET", "/api/v1/instances", nil)
		require.Equal(t, http.StatusOK, list.status)
		items := list.json(t)["items"].([]any)
		require.Len(t, items, 2)
		require.Equal(t, id, items[0].(map[string]any)["instanceId"])
		require.NotContains(t, string(list.body), token)
		page := owner.do("GET", "/api/v1/instances?pageSize=1", nil).json(t)
		require.Len(t, page["items"], 1)
		require.NotEmpty(t, page["nextPageToken"])

		// Start and stop need the right state.
		wrong := owner.do("POST", "/api/v1/instances/"+id+"/start", nil)
		require.Equal(t, http.StatusConflict, wrong.status)
		require.Equal(t, "invalid_instance_state", wrong.problem(t).Code)
		require.Equal(t, http.StatusConflict, owner.do("POST", "/api/v1/instances/"+id+"/stop", nil).status)

		setInstanceStatus(t, db, id, "RUNNING")
		got := owner.do("GET", "/api/v1/instances/"+id, nil)
		require.Equal(t, http.StatusOK, got.status)
		require.Equal(t, "RUNNING", got.json(t)["status"])
		require.Equal(t, "127.0.0.1:18081", got.json(t)["endpoint"])

		// Renaming is applied at once; a retention change makes a running instance UPDATING.
		patched := owner.do("PATCH", "/api/v1/instances/"+id, map[string]any{"instanceName": "orders-eu", "remark": ""})
		require.Equal(t, http.StatusOK, patched.status, "body: %s", patched.body)
		require.Equal(t, "orders-eu", patched.json(t)["instanceName"])
		require.Equal(t, "", patched.json(t)["remark"])
		require.Equal(t, "RUNNING", patched.json(t)["status"])
		patched = owner.do("PATCH", "/api/v1/instances/"+id, map[string]any{"messageRetentionHours": 24, "specCode": "rmq.p2.4xlarge"})
		require.Equal(t, http.StatusOK, patched.status, "body: %s", patched.body)
		require.Equal(t, "UPDATING", patched.json(t)["status"])
		require.Equal(t, "rmq.p2.4xlarge", nested(patched.json(t), "spec", "specCode"))
		badPatch := owner.do("PATCH", "/api/v1/instances/"+id, map[string]any{"specCode": "rmq.nope"})
		require.Equal(t, http.StatusBadRequest, badPatch.status)
		require.Equal(t, "specCode", badPatch.problem(t).Errors[0].Field)

		setInstanceStatus(t, db, id, "RUNNING")
		stop := owner.do("POST", "/api/v1/instances/"+id+"/stop", nil)
		require.Equal(t, http.StatusAccepted, stop.status, "body: %s", stop.body)
		require.Equal(t, "STOPPING", stop.json(t)["status"])
		setInstanceStatus(t, db, id, "STOPPED")
		start := owner.do("POST", "/api/v1/instances/"+id+"/start", nil)
		require.Equal(t, http.StatusAccepted, start.status)
		require.Equal(t, "STARTING", start.json(t)["status"])

		del := owner.do("DELETE", "/api/v1/instances/"+id, nil)
		require.Equal(t, http.StatusAccepted, del.status, "body: %s", del.body)
		require.Equal(t, "DELETING", del.json(t)["status"])
		require.Equal(t, "DELETING", owner.do("GET", "/api/v1/instances/"+id, nil).json(t)["status"])
		require.Equal(t, http.StatusConflict, owner.do("PATCH", "/api/v1/instances/"+id, map[string]any{"instanceName": "late"}).status)

		missing := owner.do("GET", "/api/v1/instances/rmq-does-not-exist", nil)
		require.Equal(t, http.StatusNotFound, missing.status)
		require.Equal(t, "instance_not_found", missing.problem(t).Code)

		// Every mutating call was audited against the instance.
		events := owner.do("GET", "/api/v1/auditEvents?resource=instances/"+id+"&pageSize=200", nil).json(t)["items"].([]any)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		for _, a := range []string{"createInstance", "updateInstance", "stopInstance", "startInstance", "deleteInstance"} {
			require.Contains(t, actions, a)
		}
	})
}

func TestInstanceCreateInvalid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("bad@example.com", "Bad")
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"instanceName": "x", "specCode": "rmq.x9.huge"}, "specCode"},
			{map[string]any{"instanceName": "x"}, "specCode"},
			{map[string]any{"instanceName": " ", "specCode": "rmq.s2.2xlarge"}, "instanceName"},
			{map[string]any{"instanceName": "x", "specCode": "rmq.s2.2xlarge", "messageRetentionHours": 9999}, "messageRetentionHours"},
			{map[string]any{"instanceName": "x", "specCode": "rmq.s2.2xlarge", "flushMode": "sometimes"}, "flushMode"},
		} {
			res := owner.do("POST", "/api/v1/instances", tc.body)
			require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
			p := res.problem(t)
			require.Equal(t, "validation_failed", p.Code)
			require.Equal(t, tc.field, p.Errors[0].Field, "body: %s", res.body)
		}
		require.Zero(t, countInstances(t, db))
	})
}

func TestInstanceIdempotentCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("idem-inst@example.com", "IdemInst")
		body := map[string]any{"instanceName": "once", "specCode": "rmq.s2.2xlarge"}
		first := owner.do("POST", "/api/v1/instances", body, "Idempotency-Key", "inst-1")
		require.Equal(t, http.StatusAccepted, first.status, "body: %s", first.body)
		again := owner.do("POST", "/api/v1/instances", body, "Idempotency-Key", "inst-1")
		require.Equal(t, http.StatusAccepted, again.status)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.JSONEq(t, string(first.body), string(again.body))
		require.EqualValues(t, 1, countInstances(t, db))

		other := owner.do("POST", "/api/v1/instances", map[string]any{"instanceName": "twice", "specCode": "rmq.s2.2xlarge"}, "Idempotency-Key", "inst-1")
		require.Equal(t, http.StatusUnprocessableEntity, other.status)
		require.Equal(t, "idempotency_key_reused", other.problem(t).Code)
		require.EqualValues(t, 1, countInstances(t, db))
	})
}

func TestInstanceQuota(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("quota@example.com", "Quota")
		for i := range 5 {
			createInstance(t, owner, fmt.Sprintf("q%d", i))
		}
		over := owner.do("POST", "/api/v1/instances", map[string]any{"instanceName": "sixth", "specCode": "rmq.s2.2xlarge"}, "Idempotency-Key", "q6")
		require.Equal(t, http.StatusUnprocessableEntity, over.status, "body: %s", over.body)
		require.Equal(t, "quota_exceeded", over.problem(t).Code)
		require.EqualValues(t, 5, countInstances(t, db))
	})
}

func TestInstanceTenantIsolation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("mine@example.com", "Mine")
		stranger, _ := env.signUp("theirs@example.com", "Theirs")
		id := createInstance(t, owner, "private")["instanceId"].(string)
		setInstanceStatus(t, db, id, "RUNNING")

		for _, call := range []struct{ method, path string }{
			{"GET", "/api/v1/instances/" + id},
			{"PATCH", "/api/v1/instances/" + id},
			{"DELETE", "/api/v1/instances/" + id},
			{"POST", "/api/v1/instances/" + id + "/start"},
			{"POST", "/api/v1/instances/" + id + "/stop"},
		} {
			var body any
			if call.method == "PATCH" {
				body = map[string]any{"instanceName": "stolen"}
			}
			res := stranger.do(call.method, call.path, body)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", call.method, call.path, res.body)
			require.Equal(t, "instance_not_found", res.problem(t).Code)
		}
		require.Empty(t, stranger.do("GET", "/api/v1/instances", nil).json(t)["items"])

		mine := owner.do("GET", "/api/v1/instances/"+id, nil).json(t)
		require.Equal(t, "private", mine["instanceName"])
		require.Equal(t, "RUNNING", mine["status"])
	})
}

func TestInstanceRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("roles@example.com", "Roles")
		viewer, _ := env.addUser(owner, "viewer@roles.test", "viewer")
		dev, _ := env.addUser(owner, "dev@roles.test", "developer")

		denied := viewer.do("POST", "/api/v1/instances", map[string]any{"instanceName": "v", "specCode": "rmq.s2.2xlarge"})
		require.Equal(t, http.StatusForbidden, denied.status)
		require.Equal(t, "forbidden", denied.problem(t).Code)
		require.Zero(t, countInstances(t, db))

		id := createInstance(t, dev, "dev-made")["instanceId"].(string)
		require.Equal(t, http.StatusOK, viewer.do("GET", "/api/v1/instances/"+id, nil).status)
		require.Len(t, viewer.do("GET", "/api/v1/instances", nil).json(t)["items"], 1)
		require.Equal(t, http.StatusOK, viewer.do("GET", "/api/v1/specs", nil).status)
		require.Equal(t, http.StatusForbidden, viewer.do("DELETE", "/api/v1/instances/"+id, nil).status)
		require.Equal(t, http.StatusForbidden, viewer.do("PATCH", "/api/v1/instances/"+id, map[string]any{"remark": "x"}).status)
	})
}
