package token_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/iam/token"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T, id string) token.Key {
	t.Helper()
	k, err := token.GenerateKey(id, t0)
	require.NoError(t, err)
	return k
}

func lookup(keys ...token.Key) token.KeyLookup {
	return func(kid string) (ed25519.PublicKey, bool) {
		for _, k := range keys {
			if k.ID == kid {
				return k.Public(), true
			}
		}
		return nil, false
	}
}

func claims() token.Claims {
	return token.Claims{
		UserID: "u1", AccountID: "a1", Role: "admin", Issuer: "orbit",
		IssuedAt: t0, ExpiresAt: t0.Add(15 * time.Minute),
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1")
	s, err := token.Sign(k, claims())
	require.NoError(t, err)

	got, err := token.Verify(s, lookup(k), "orbit", t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "u1", got.UserID)
	require.Equal(t, "a1", got.AccountID)
	require.Equal(t, "admin", got.Role)
	require.Equal(t, "orbit", got.Issuer)
	require.True(t, got.IssuedAt.Equal(t0))
	require.True(t, got.ExpiresAt.Equal(t0.Add(15*time.Minute)))
	require.NotEmpty(t, got.ID, "jti is filled in")

	// The header names the key.
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(hdr, &h))
	require.Equal(t, "k1", h["kid"])
	require.Equal(t, "EdDSA", h["alg"])
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	signed := func(c token.Claims) string {
		s, err := token.Sign(k1, c)
		require.NoError(t, err)
		return s
	}
	good := signed(claims())

	// An HMAC token whose secret is the public key: the classic alg confusion.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "u1", "acct": "a1", "role": "owner", "iss": "orbit",
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	})
	hs.Header["kid"] = "k1"
	hsSigned, err := hs.SignedString([]byte(k1.Public()))
	require.NoError(t, err)

	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u1", "exp": t0.Add(time.Hour).Unix()})
	none.Header["kid"] = "k1"
	noneSigned, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	tampered := func() string {
		parts := strings.Split(good, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = []byte(strings.Replace(string(payload), `"admin"`, `"owner"`, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}()

	noSub := claims()
	noSub.UserID = ""

	for _, tc := range []struct {
		name   string
		token  string
		keys   token.KeyLookup
		issuer string
		now    time.Time
		want   error
	}{
		{"expired", good, lookup(k1), "orbit", t0.Add(16 * time.Minute), token.ErrExpired},
		{"wrong issuer", good, lookup(k1), "other", t0, token.ErrInvalid},
		{"unknown kid", good, lookup(k2), "orbit", t0, token.ErrUnknownKey},
		{"hmac alg confusion", hsSigned, lookup(k1), "orbit", t0, token.ErrInvalid},
		{"alg none", noneSigned, lookup(k1), "orbit", t0, token.ErrInvalid},
		{"tampered payload", tampered, lookup(k1), "orbit", t0, token.ErrInvalid},
		{"garbage", "not.a.jwt", lookup(k1), "orbit", t0, token.ErrInvalid},
		{"missing subject", signed(noSub), lookup(k1), "orbit", t0, token.ErrInvalid},
		{"signed by other key under same kid", func() string {
			k := k2
			k.ID = "k1"
			s, err := token.Sign(k, claims())
			require.NoError(t, err)
			return s
		}(), lookup(k1), "orbit", t0, token.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := token.Verify(tc.token, tc.keys, tc.issuer, tc.now)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestKeyFromSeedRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1")
	back, err := token.KeyFromSeed("k1", k.Seed(), t0)
	require.NoError(t, err)
	require.Equal(t, k.Private, back.Private)

	_, err = token.KeyFromSeed("k1", []byte("short"), t0)
	require.Error(t, err)
}

func TestOpaqueTokens(t *testing.T) {
	t.Parallel()
	secret, prefix, hash, err := token.NewAPIToken()
	require.NoError(t, err)
	require.True(t, token.IsAPIToken(secret))
	require.Len(t, secret, len("orbit_")+43)
	require.Equal(t, secret[:12], prefix)
	require.Regexp(t, `^orbit_[0-9A-Za-z]{43}$`, secret)
	sum := sha256.Sum256([]byte(secret))
	require.True(t, hmac.Equal(sum[:], hash))
	require.Equal(t, hash, token.Hash(secret))

	other, _, _, err := token.NewAPIToken()
	require.NoError(t, err)
	require.NotEqual(t, secret, other)

	rt, rhash, err := token.NewRefreshToken()
	require.NoError(t, err)
	require.False(t, token.IsAPIToken(rt))
	raw, err := base64.RawURLEncoding.DecodeString(rt)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	require.Equal(t, token.Hash(rt), rhash)
}
