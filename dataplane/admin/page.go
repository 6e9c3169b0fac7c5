package admin

import (
	"encoding/base64"
	"strings"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageSize validates a request's page_size: 0 means the default.
func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, invalid("page_size %d is out of range: want 1..%d (0 means %d)", n, maxPageSize, defaultPageSize)
	}
	return int(n), nil
}

// Page tokens are opaque to callers: the kind of list and the last name
// returned, base64url-encoded. The kind keeps a topics token from being used
// to list groups.

func encodePageToken(kind, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + after))
}

// decodePageToken returns the name to list after ("" for the first page).
func decodePageToken(kind, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", invalid("invalid page_token: pass next_page_token of the previous page unchanged")
	}
	k, after, ok := strings.Cut(string(raw), "\x00")
	if !ok || k != kind || after == "" {
		return "", invalid("invalid page_token: pass next_page_token of the previous page unchanged")
	}
	return after, nil
}
