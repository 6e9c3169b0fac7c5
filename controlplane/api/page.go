package api

import (
	"encoding/base64"
	"strings"
)

// PageParams are the paging query parameters every list takes.
type PageParams struct {
	PageSize  int    `query:"pageSize" minimum:"1" maximum:"200" default:"50" doc:"Items per page."`
	PageToken string `query:"pageToken" maxLength:"200" doc:"The nextPageToken of the previous page."`
}

const pageTokenPrefix = "v1:"

// cursor decodes the page token into the id to continue after.
func (p PageParams) cursor() (string, error) {
	if p.PageToken == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.PageToken)
	if err != nil || !strings.HasPrefix(string(raw), pageTokenPrefix) {
		return "", badRequest("pageToken", "is not a token this API handed out")
	}
	return strings.TrimPrefix(string(raw), pageTokenPrefix), nil
}

// page trims a result fetched with limit pageSize+1 and returns the token
// of the next page, empty on the last one.
func page[T any](items []T, size int, id func(T) string) ([]T, string) {
	if len(items) <= size {
		return items, ""
	}
	items = items[:size]
	return items, base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + id(items[size-1])))
}
