package password

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Entries shorter than MinLength or with upper case could never match, so
// they would only pretend to protect.
func TestCommonListEntriesCanMatch(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, len(commonList), 200)
	for _, p := range commonList {
		require.GreaterOrEqual(t, utf8.RuneCountInString(p), MinLength, p)
		require.Equal(t, strings.ToLower(p), p)
	}
}
