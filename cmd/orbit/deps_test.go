package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/orbitmq/orbit/"

// TestDependencyDirection enforces the architecture's import rules: the data
// plane imports nothing from the control-plane side, and iam and billing are
// libraries that import neither plane.
func TestDependencyDirection(t *testing.T) {
	forbidden := map[string][]string{
		"dataplane/": {"controlplane", "iam", "billing", "console", "migrations"},
		"iam":        {"controlplane", "dataplane", "console", "billing"},
		"billing":    {"controlplane", "dataplane", "console", "iam"},
		"console":    {"controlplane", "dataplane", "iam", "billing", "migrations"},
		"migrations": {"controlplane", "dataplane", "iam", "billing", "console"},
	}
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Deps", module+"...").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var pkg struct {
			ImportPath string
			Deps       []string
		}
		require.NoError(t, dec.Decode(&pkg))
		rel := strings.TrimPrefix(pkg.ImportPath, module)
		for prefix, banned := range forbidden {
			if rel != strings.TrimSuffix(prefix, "/") && !strings.HasPrefix(rel, strings.TrimSuffix(prefix, "/")+"/") {
				continue
			}
			checked++
			for _, dep := range pkg.Deps {
				for _, b := range banned {
					require.False(t, dep == module+b || strings.HasPrefix(dep, module+b+"/"), "%s must not import %s", pkg.ImportPath, dep)
				}
			}
		}
	}
	require.Positive(t, checked)
}
