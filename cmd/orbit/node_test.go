package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNodeHelpDocumentsBrokerSettings(t *testing.T) {
	out, err := run(t, t.Context(), "node", "--help")
	require.NoError(t, err)
	for _, want := range []string{
		`--max-delay duration`, `(default 72h0m0s)`, "ORBIT_NODE_MAX_DELAY",
		`--txn-check-delay duration`, `(default 6s)`, "ORBIT_NODE_TXN_CHECK_DELAY",
		`--txn-check-interval duration`, `(default 30s)`, "ORBIT_NODE_TXN_CHECK_INTERVAL",
		`--txn-check-max-interval duration`, `(default 5m0s)`, "ORBIT_NODE_TXN_CHECK_MAX_INTERVAL",
		`--txn-check-max int`, `(default 15)`, "ORBIT_NODE_TXN_CHECK_MAX",
	} {
		require.Contains(t, out, want)
	}
}

func TestNodeRefusesNegativeBrokerSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"max delay", nil, []string{"--max-delay", "-1h"}, "--max-delay must not be negative"},
		{"txn check delay", nil, []string{"--txn-check-delay", "-1s"}, "--txn-check-delay must not be negative"},
		{"txn check interval", nil, []string{"--txn-check-interval", "-1s"}, "--txn-check-interval must not be negative"},
		{"txn check max interval", nil, []string{"--txn-check-max-interval", "-1m"}, "--txn-check-max-interval must not be negative"},
		{"txn check max", nil, []string{"--txn-check-max", "-1"}, "--txn-check-max must not be negative"},
		{"from the environment", map[string]string{"ORBIT_NODE_TXN_CHECK_MAX": "-2"}, nil, "--txn-check-max must not be negative"},
		{"flag beats the environment", map[string]string{"ORBIT_NODE_MAX_DELAY": "1h"}, []string{"--max-delay", "-1s"}, "--max-delay must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"node", "--data-dir", t.TempDir(), "--admin-token", "t",
				"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--http-addr", ""}, tc.args...)
			_, err := run(t, t.Context(), args...)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
