package api_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/controlplane/api"
)

var update = flag.Bool("update", false, "rewrite web/openapi.json from the server")

// committedDoc is the document the web console's typed client is generated from.
var committedDoc = filepath.Join("..", "..", "web", "openapi.json")

func renderDoc(t *testing.T) []byte {
	t.Helper()
	doc, err := json.MarshalIndent(api.New(api.Config{Version: "v1"}, api.Deps{}).OpenAPI(), "", "  ")
	require.NoError(t, err)
	return append(doc, '\n')
}

// TestOpenAPIMatchesCommittedClientDocument fails when handlers change without
// regenerating the console's client (`make gen`).
func TestOpenAPIMatchesCommittedClientDocument(t *testing.T) {
	doc := renderDoc(t)
	if *update {
		require.NoError(t, os.WriteFile(committedDoc, doc, 0o644))
	}
	want, err := os.ReadFile(committedDoc)
	require.NoError(t, err, "run `make gen` to create web/openapi.json")
	require.JSONEq(t, string(want), string(doc), "web/openapi.json is stale: run `make gen`")
}

// TestOpenAPIMatchesRoutes checks that every /api/v1 route the router serves is
// in the document and every documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv := api.New(api.Config{Version: "v1"}, api.Deps{})
	var served []string
	for _, r := range srv.Routes() {
		if !strings.HasPrefix(r.Path, api.BasePath+"/") || strings.HasPrefix(r.Path, api.BasePath+"/openapi") || r.Path == api.BasePath+"/docs" {
			continue
		}
		// gin writes path parameters as :name, OpenAPI as {name}.
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served = append(served, r.Method+" "+strings.Join(parts, "/"))
	}
	var documented []string
	for path, item := range srv.OpenAPI().Paths {
		for method, op := range operations(item) {
			_ = op
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	require.NotEmpty(t, served)
	require.Equal(t, documented, served)
}

func operations(item *huma.PathItem) map[string]*huma.Operation {
	ops := map[string]*huma.Operation{}
	for method, op := range map[string]*huma.Operation{
		http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
	} {
		if op != nil {
			ops[method] = op
		}
	}
	return ops
}

// TestOpenAPIOnlyAuthEntryPointsArePublic: every operation but sign-up, login
// and refresh must declare bearer security (which the middleware enforces).
func TestOpenAPIOnlyAuthEntryPointsArePublic(t *testing.T) {
	public := map[string]bool{"signUp": true, "login": true, "refreshSession": true}
	srv := api.New(api.Config{Version: "v1"}, api.Deps{})
	for path, item := range srv.OpenAPI().Paths {
		for _, op := range operations(item) {
			if public[op.OperationID] {
				require.Empty(t, op.Security, "%s should be public", op.OperationID)
				continue
			}
			require.NotEmpty(t, op.Security, "%s %s must require a token", path, op.OperationID)
		}
	}
}
