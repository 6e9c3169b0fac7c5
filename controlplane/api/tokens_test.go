package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestAPITokenLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("tokens@example.com", "Tokens")

		res := owner.do("POST", "/api/v1/tokens", map[string]any{"name": "deploy bot", "role": "viewer"})
		require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
		created := res.json(t)
		secret := created["secret"].(string)
		require.True(t, strings.HasPrefix(secret, "orbit_"))
		tokenID := nested(created, "token", "id").(string)
		prefix := nested(created, "token", "prefix").(string)
		require.True(t, strings.HasPrefix(secret, prefix))
		require.Equal(t, "viewer", nested(created, "token", "role"))

		list := owner.do("GET", "/api/v1/tokens", nil)
		require.Equal(t, http.StatusOK, list.status)
		require.NotContains(t, string(list.body), secret, "the secret is shown only once")
		items := list.json(t)["items"].([]any)
		require.Len(t, items, 1)
		require.Nil(t, items[0].(map[string]any)["lastUsedAt"])

		bot := env.client()
		bot.token = secret
		me := bot.do("GET", "/api/v1/me", nil)
		require.Equal(t, http.StatusOK, me.status)
		require.Equal(t, "tokens@example.com", nested(me.json(t), "user", "email"))
		// The token acts with its own (viewer) role, not its owner's.
		require.Equal(t, http.StatusForbidden, bot.do("POST", "/api/v1/tokens", map[string]any{"name": "escalate"}).status)

		items = owner.do("GET", "/api/v1/tokens", nil).json(t)["items"].([]any)
		lastUsed, err := time.Parse(time.RFC3339, items[0].(map[string]any)["lastUsedAt"].(string))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), lastUsed, time.Minute)

		require.Equal(t, http.StatusNoContent, owner.do("DELETE", "/api/v1/tokens/"+tokenID, nil).status)
		require.Equal(t, http.StatusUnauthorized, bot.do("GET", "/api/v1/me", nil).status)
		require.Empty(t, owner.do("GET", "/api/v1/tokens", nil).json(t)["items"])
		require.Equal(t, http.StatusNotFound, owner.do("DELETE", "/api/v1/tokens/"+tokenID, nil).status)
	})
}

func TestExpiredTokenRejected(t *testing.T) {
	env := newEnv(t, dbtest.SQLite(t))
	owner, _ := env.signUp("expiry@example.com", "Expiry")
	past := owner.do("POST", "/api/v1/tokens", map[string]any{"name": "old", "expiresAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	require.Equal(t, http.StatusBadRequest, past.status)
	require.Equal(t, "expiresAt", past.problem(t).Errors[0].Field)
}

func TestIdempotentCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		env := newEnv(t, db)
		owner, _ := env.signUp("idem@example.com", "Idem")
		body := map[string]any{"name": "once"}
		first := owner.do("POST", "/api/v1/tokens", body, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, first.status)
		again := owner.do("POST", "/api/v1/tokens", body, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, again.status)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		// The replay is the same token, but the secret was shown once and
		// is not kept anywhere, the idempotency table included.
		secret, _ := first.json(t)["secret"].(string)
		require.NotEmpty(t, secret)
		require.Equal(t, first.json(t)["token"], again.json(t)["token"])
		require.NotContains(t, again.json(t), "secret")
		var stored []struct{ ResponseBody []byte }
		require.NoError(t, db.Raw("SELECT response_body FROM idempotency_keys WHERE response_body IS NOT NULL").Scan(&stored).Error)
		require.Len(t, stored, 1)
		require.NotContains(t, string(stored[0].ResponseBody), secret, "the token secret is not stored for replays")
		require.Len(t, owner.do("GET", "/api/v1/tokens", nil).json(t)["items"], 1)

		other := owner.do("POST", "/api/v1/tokens", map[string]any{"name": "different"}, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusUnprocessableEntity, other.status)
		require.Equal(t, "idempotency_key_reused", other.problem(t).Code)
		require.Len(t, owner.do("GET", "/api/v1/tokens", nil).json(t)["items"], 1)

		// A failed create does not burn its key: the corrected retry goes through.
		bad := owner.do("POST", "/api/v1/users", map[string]any{"email": "x@idem.test", "name": "X", "role": "viewer", "password": "short"}, "Idempotency-Key", "key-2")
		require.Equal(t, http.StatusBadRequest, bad.status)
		good := owner.do("POST", "/api/v1/users", map[string]any{"email": "x@idem.test", "name": "X", "role": "viewer", "password": strongPassword}, "Idempotency-Key", "key-2")
		require.Equal(t, http.StatusCreated, good.status, "body: %s", good.body)

		// Keys are per account: another account may use the same key.
		stranger, _ := env.signUp("stranger@example.com", "Stranger")
		mine := stranger.do("POST", "/api/v1/tokens", body, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, mine.status)
		require.NotEqual(t, nested(first.json(t), "token", "id"), nested(mine.json(t), "token", "id"))
	})
}
