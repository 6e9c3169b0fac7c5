package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/console"
)

func TestHandlerServesAssetsAndFallsBackToIndex(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"index.html":         {Data: []byte("<html>app</html>")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	}
	h, err := console.Handler(files)
	require.NoError(t, err)

	tests := []struct {
		name, method, path string
		status             int
		body, cache        string
	}{
		{"root", "GET", "/", 200, "<html>app</html>", "no-cache"},
		{"deep link", "GET", "/access/tokens", 200, "<html>app</html>", "no-cache"},
		{"hashed asset", "GET", "/assets/app-1a2b.js", 200, "console.log(1)", "public, max-age=31536000, immutable"},
		{"plain file", "GET", "/favicon.svg", 200, "<svg/>", ""},
		{"missing asset", "GET", "/assets/gone.js", 404, "", ""},
		{"post refused", "POST", "/", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.status, rec.Code)
			if tc.body != "" {
				require.Equal(t, tc.body, rec.Body.String())
			}
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			if tc.status == 200 {
				require.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")
			}
		})
	}
}

func TestHandlerNeedsIndex(t *testing.T) {
	_, err := console.Handler(fstest.MapFS{})
	require.Error(t, err)
}

func TestFilesHasIndex(t *testing.T) {
	h, err := console.Handler(console.Files())
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
}
