package password_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/iam/password"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		params password.Params
	}{
		{"test params", password.TestParams},
		{"default params", password.DefaultParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := password.Hash("correct horse battery", tc.params)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(h, "$argon2id$v=19$"), h)

			ok, err := password.Verify("correct horse battery", h)
			require.NoError(t, err)
			require.True(t, ok)

			ok, err = password.Verify("correct horse batterY", h)
			require.NoError(t, err)
			require.False(t, ok)

			require.False(t, password.NeedsRehash(h, tc.params))
		})
	}
}

func TestHashEncodesParams(t *testing.T) {
	t.Parallel()
	h, err := password.Hash("pw", password.DefaultParams)
	require.NoError(t, err)
	require.Contains(t, h, "$m=19456,t=2,p=1$")

	// The same password hashes differently each time (random salt).
	h2, err := password.Hash("pw", password.DefaultParams)
	require.NoError(t, err)
	require.NotEqual(t, h, h2)

	// A hash made with cheap params verifies under its own encoded params and
	// asks for a rehash when the policy is the default.
	cheap, err := password.Hash("pw", password.TestParams)
	require.NoError(t, err)
	require.True(t, password.NeedsRehash(cheap, password.DefaultParams))
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	good, err := password.Hash("pw", password.TestParams)
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu5Q0Yb8b6Qx0b1w1Q5j3F7m5a9sVw8Ba"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1)},
		{"trailing junk in version", strings.Replace(good, "v=19", "v=19x", 1)},
		{"missing field", strings.Join(parts[:5], "$")},
		{"huge memory", strings.Replace(good, "m=64,", "m=99999999,", 1)},
		{"zero time", strings.Replace(good, "t=1,", "t=0,", 1)},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$")},
		{"short key", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := password.Verify("pw", tc.hash)
			require.ErrorIs(t, err, password.ErrMalformedHash)
			require.False(t, ok)
		})
	}
}

func TestCheckPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, password, email string
		want                  error
	}{
		{"ok", "tangerine-orbit-42", "ana@example.com", nil},
		{"ok unicode", "ünïcødé-pässwörd", "", nil},
		{"common at min length", "abcde12345", "", password.ErrTooCommon},
		{"ok 10 fresh", "k7#pLm2$vQ", "", nil},
		{"too short", "Ab1!xyz9", "", password.ErrTooShort},
		{"short in bytes not runes", "日本語のパスワード", "", password.ErrTooShort}, // 9 runes, 27 bytes
		{"too long", strings.Repeat("abcdefgh", 17), "", password.ErrTooLong},
		{"max length ok", strings.Repeat("abcdefgh", 16), "", nil},
		{"is email", "ana.smith@example.com", "ana.smith@example.com", password.ErrIsEmail},
		{"is email other case", "Ana.Smith@Example.com", "ana.smith@example.com", password.ErrIsEmail},
		{"is local part", "ana.smith.dev", "Ana.Smith.Dev@example.com", password.ErrIsEmail},
		{"common", "password123", "", password.ErrTooCommon},
		{"common any case", "QwertyUiop", "", password.ErrTooCommon},
		{"too few distinct", "abababababab", "", password.ErrTooRepetitive},
		{"four distinct", "abcdabcdabcd", "", password.ErrTooRepetitive},
		{"five distinct", "abcdeabcdeab", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := password.Check(tc.password, tc.email)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}
