package api_test

import (
	"bytes"
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
	"github.com/orbitmq/orbit/controlplane/secrets"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/node"
	"github.com/orbitmq/orbit/dataplane/nodetest"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// newAccessKeyEnv is newResourceEnv with the access key service.
func newAccessKeyEnv(t *testing.T, db *gorm.DB) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := iam.DefaultConfig()
	cfg.PasswordParams = iam.TestPasswordParams
	svc := iam.NewService(iamdb.New(db), cfg, log)
	require.NoError(t, svc.EnsureSigningKey(t.Context()))
	box, err := secrets.New(bytes.Repeat([]byte{9}, secrets.KeySize))
	require.NoError(t, err)
	srv := api.New(api.Config{Version: "test"}, api.Deps{
		DB: db, IAM: svc, Audit: audit.NewStore(db), Idempotency: idempotency.NewStore(db),
		Instances:  instances.NewService(instances.NewStore(db), instances.DefaultConfig(), log),
		Resources:  resources.NewService(resources.NewStore(db), instances.NewStore(db), resources.Config{}, log),
		AccessKeys: resources.NewAccessKeyService(resources.NewAccessKeyStore(db), instances.NewStore(db), resources.AccessKeyConfig{Box: box}, log),
		Log:        log,
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testEnv{t: t, url: ts.URL, db: db, iam: svc, logs: logs}
}

// nodeKeys returns the node's access keys by access key.
func nodeKeys(t *testing.T, n *node.Node) map[string]*adminpb.AccessKey {
	t.Helper()
	c, err := resources.Connect(n.AdminAddr(), nodetest.Token)
	require.NoError(t, err)
	defer c.Close()
	resp, err := c.ListAccessKeys(t.Context(), &adminpb.ListAccessKeysRequest{})
	require.NoError(t, err)
	out := map[string]*adminpb.AccessKey{}
	for _, k := range resp.GetKeys() {
		out[k.GetAccessKey()] = k
	}
	return out
}

var pubOrders = map[string]any{
	"remark": "orders service",
	"permissions": []map[string]any{
		{"resourceType": "TOPIC", "resourceName": "orders*", "actions": []string{"PUB"}, "decision": "ALLOW"},
		{"resourceType": "GROUP", "resourceName": "billing", "actions": []string{"SUB"}, "decision": "ALLOW"},
	},
	"sourceIps": []string{"10.0.0.0/8", "192.168.1.7"},
}

func TestAccessKeyLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t, nodetest.WithAuth())
		env := newAccessKeyEnv(t, db)
		owner, _ := env.signUp("keys@example.com", "Keys")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/accessKeys"

		res := owner.do("POST", base, pubOrders, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		body := res.json(t)
		ak, sk := body["accessKey"].(string), body["secretKey"].(string)
		require.Regexp(t, `^AK[A-Z0-9]{20}$`, ak)
		require.Regexp(t, `^[A-Za-z0-9]{40}$`, sk)
		require.Equal(t, true, body["enabled"])
		require.Equal(t, id, body["instanceId"])
		require.Equal(t, []any{"10.0.0.0/8", "192.168.1.7"}, body["sourceIps"])
		require.Len(t, body["permissions"], 2)
		require.NotContains(t, env.logs.String(), sk, "the secret key is never logged")

		onNode := nodeKeys(t, n)
		require.Contains(t, onNode, ak)
		require.True(t, onNode[ak].GetEnabled())
		require.Equal(t, []string{"10.0.0.0/8", "192.168.1.7"}, onNode[ak].GetSourceCidrs())
		require.Len(t, onNode[ak].GetPermissions(), 2)

		// A retry with the same Idempotency-Key does not create a second
		// key and does not show the secret again.
		again := owner.do("POST", base, pubOrders, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, again.status, "body: %s", again.body)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, ak, again.json(t)["accessKey"])
		require.NotContains(t, string(again.body), sk)
		require.EqualValues(t, 1, count(t, db, "access_keys"))

		// The database holds no plaintext secret, anywhere.
		var row struct {
			SecretCiphertext []byte
			Nonce            []byte
		}
		require.NoError(t, db.Raw("SELECT secret_ciphertext, nonce FROM access_keys WHERE access_key = ?", ak).Scan(&row).Error)
		require.NotEmpty(t, row.SecretCiphertext)
		require.Len(t, row.Nonce, 21, "version byte, key id, GCM nonce (controlplane/secrets)")
		require.NotContains(t, string(row.SecretCiphertext), sk)
		var idem [][]byte
		require.NoError(t, db.Raw("SELECT response_body FROM idempotency_keys").Scan(&idem).Error)
		for _, b := range idem {
			require.NotContains(t, string(b), sk)
		}

		// Get and list never show the secret.
		got := owner.do("GET", base+"/"+ak, nil)
		require.Equal(t, http.StatusOK, got.status, "body: %s", got.body)
		require.NotContains(t, string(got.body), sk)
		require.NotContains(t, got.json(t), "secretKey")
		require.Equal(t, "orders service", got.json(t)["remark"])
		res = owner.do("POST", base, map[string]any{"permissions": []map[string]any{{"resourceType": "TOPIC", "resourceName": "*", "actions": []string{"PUB", "SUB"}, "decision": "DENY"}}})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		ak2 := res.json(t)["accessKey"].(string)
		list := owner.do("GET", base, nil)
		require.ElementsMatch(t, []string{ak, ak2}, itemNames(t, list, "accessKey"))
		require.NotContains(t, string(list.body), "secretKey")
		var paged []string
		path := base + "?pageSize=1"
		for path != "" {
			res := owner.do("GET", path, nil)
			paged = append(paged, itemNames(t, res, "accessKey")...)
			path = ""
			if next, _ := res.json(t)["nextPageToken"].(string); next != "" {
				path = base + "?pageSize=1&pageToken=" + next
			}
		}
		require.ElementsMatch(t, []string{ak, ak2}, paged)

		// Disable: the node has it disabled; enable again.
		res = owner.do("PATCH", base+"/"+ak, map[string]any{"enabled": false})
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.Equal(t, false, res.json(t)["enabled"])
		require.False(t, nodeKeys(t, n)[ak].GetEnabled())
		res = owner.do("PATCH", base+"/"+ak, map[string]any{"enabled": true, "sourceIps": []string{}, "remark": "open",
			"permissions": []map[string]any{{"resourceType": "GROUP", "resourceName": "g", "actions": []string{"SUB"}, "decision": "ALLOW"}}})
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		k := nodeKeys(t, n)[ak]
		require.True(t, k.GetEnabled())
		require.Empty(t, k.GetSourceCidrs())
		require.Len(t, k.GetPermissions(), 1)
		require.Equal(t, adminpb.ResourceType_RESOURCE_TYPE_GROUP, k.GetPermissions()[0].GetResourceType())

		// A viewer reads but cannot change.
		viewer, _ := env.addUser(owner, "viewer@example.com", "viewer")
		require.Equal(t, http.StatusOK, viewer.do("GET", base, nil).status)
		require.Equal(t, http.StatusForbidden, viewer.do("POST", base, pubOrders).status)
		require.Equal(t, http.StatusForbidden, viewer.do("PATCH", base+"/"+ak, map[string]any{"enabled": false}).status)
		require.Equal(t, http.StatusForbidden, viewer.do("DELETE", base+"/"+ak, nil).status)

		// Delete: gone from the node and the database.
		require.Equal(t, http.StatusNoContent, owner.do("DELETE", base+"/"+ak, nil).status)
		require.NotContains(t, nodeKeys(t, n), ak)
		missing := owner.do("GET", base+"/"+ak, nil)
		require.Equal(t, http.StatusNotFound, missing.status)
		require.Equal(t, "access_key_not_found", missing.problem(t).Code)
		require.Equal(t, http.StatusNotFound, owner.do("DELETE", base+"/"+ak, nil).status)
		require.EqualValues(t, 1, count(t, db, "access_keys"))
	})
}

func TestAccessKeyBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		n := nodetest.Start(t, nodetest.WithAuth())
		env := newAccessKeyEnv(t, db)
		owner, _ := env.signUp("badkey@example.com", "BadKey")
		id := runningInstance(t, db, owner, n)
		base := "/api/v1/instances/" + id + "/accessKeys"
		perm := func(typ, name, decision string, actions ...string) map[string]any {
			return map[string]any{"resourceType": typ, "resourceName": name, "actions": actions, "decision": decision}
		}
		for name, body := range map[string]map[string]any{
			"unknown resource type": {"permissions": []any{perm("QUEUE", "a", "ALLOW", "PUB")}},
			"unknown action":        {"permissions": []any{perm("TOPIC", "a", "ALLOW", "READ")}},
			"unknown decision":      {"permissions": []any{perm("TOPIC", "a", "MAYBE", "PUB")}},
			"no actions":            {"permissions": []any{perm("TOPIC", "a", "ALLOW")}},
			"star in the middle":    {"permissions": []any{perm("TOPIC", "a*b", "ALLOW", "PUB")}},
			"no permissions":        {"permissions": []any{}},
			"missing permissions":   {"remark": "x"},
			"bad cidr":              {"permissions": []any{perm("TOPIC", "a", "ALLOW", "PUB")}, "sourceIps": []string{"10.0.0.0/33"}},
			"not an ip":             {"permissions": []any{perm("TOPIC", "a", "ALLOW", "PUB")}, "sourceIps": []string{"example.com"}},
			"long remark":           {"permissions": []any{perm("TOPIC", "a", "ALLOW", "PUB")}, "remark": strings.Repeat("r", 257)},
		} {
			res := owner.do("POST", base, body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", name, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors, "%s: %s", name, res.body)
		}
		res := owner.do("POST", base, map[string]any{"permissions": []any{perm("TOPIC", "a", "ALLOW", "PUB")}, "sourceIps": []string{"10.0.0.0/33"}})
		require.Contains(t, res.problem(t).Errors[0].Field, "sourceIps")
		require.Zero(t, count(t, db, "access_keys"))

		res = owner.do("POST", base, map[string]any{"permissions": []any{perm("TOPIC", "a", "ALLOW", "PUB")}})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		ak := res.json(t)["accessKey"].(string)
		res = owner.do("PATCH", base+"/"+ak, map[string]any{"sourceIps": []string{"nope"}})
		require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
		require.Equal(t, "sourceIps[0]", res.problem(t).Errors[0].Field)
		res = owner.do("PATCH", base+"/"+ak, map[string]any{"permissions": []any{perm("TOPIC", "a*b", "ALLOW", "PUB")}})
		require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
		require.Equal(t, "permissions[0]", res.problem(t).Errors[0].Field)
		require.Len(t, nodeKeys(t, n)[ak].GetSourceCidrs(), 0)
	})
}

func TestAccessKeyNeedsRunningInstanceAndReachableNode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newAccessKeyEnv(t, db)
		owner, _ := env.signUp("keystate@example.com", "KeyState")
		body := map[string]any{"permissions": []any{map[string]any{"resourceType": "TOPIC", "resourceName": "*", "actions": []string{"PUB"}, "decision": "ALLOW"}}}
		creating := createInstance(t, owner, "creating")["instanceId"].(string)
		res := owner.do("POST", "/api/v1/instances/"+creating+"/accessKeys", body)
		require.Equal(t, http.StatusConflict, res.status, "body: %s", res.body)
		require.Equal(t, "instance_not_running", res.problem(t).Code)

		dead := createInstance(t, owner, "dead")["instanceId"].(string)
		require.NoError(t, db.Exec("UPDATE instances SET status = 'RUNNING', admin_addr = '127.0.0.1:1' WHERE id = ?", dead).Error)
		res = owner.do("POST", "/api/v1/instances/"+dead+"/accessKeys", body)
		require.Equal(t, http.StatusServiceUnavailable, res.status, "body: %s", res.body)
		require.Equal(t, "node_unavailable", res.problem(t).Code)
		require.Zero(t, count(t, db, "access_keys"))
	})
}

func TestAccessKeysOfOtherAccountsAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		nA := nodetest.Start(t, nodetest.WithAuth())
		nB := nodetest.Start(t, nodetest.WithAuth())
		env := newAccessKeyEnv(t, db)
		alice, _ := env.signUp("akalice@example.com", "Alice")
		bob, _ := env.signUp("akbob@example.com", "Bob")
		idA := runningInstance(t, db, alice, nA)
		idB := runningInstance(t, db, bob, nB)
		res := alice.do("POST", "/api/v1/instances/"+idA+"/accessKeys", pubOrders)
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		ak := res.json(t)["accessKey"].(string)

		// Instance A's key is on A's node only.
		require.Contains(t, nodeKeys(t, nA), ak)
		require.NotContains(t, nodeKeys(t, nB), ak)

		base := "/api/v1/instances/" + idA + "/accessKeys"
		for _, call := range []struct {
			method, path string
			body         any
		}{
			{"GET", base, nil},
			{"POST", base, pubOrders},
			{"GET", base + "/" + ak, nil},
			{"PATCH", base + "/" + ak, map[string]any{"enabled": false}},
			{"DELETE", base + "/" + ak, nil},
		} {
			res := bob.do(call.method, call.path, call.body)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", call.method, call.path, res.body)
			require.Equal(t, "instance_not_found", res.problem(t).Code)
		}
		// Bob's own instance does not know Alice's key either.
		require.Equal(t, http.StatusNotFound, bob.do("GET", "/api/v1/instances/"+idB+"/accessKeys/"+ak, nil).status)
		require.True(t, nodeKeys(t, nA)[ak].GetEnabled())
		require.EqualValues(t, 1, count(t, db, "access_keys"))
	})
}
