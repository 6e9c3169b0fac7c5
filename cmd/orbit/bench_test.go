package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

type benchReport struct {
	Sent, Received, SendErrors int64
	FirstSendError             string
	SendRate                   float64
	SendLatency                struct{ Count int }
	NodeCPUPerMessage          int64
	Type                       string
	Lateness                   struct{ Count int }
	Early, OrderViolations     int64
}

// runBenchProcess runs `orbit bench` as a real process: it starts its own
// `orbit node`, sends with the official client and reads everything back.
// The client runs outside this race-checked process (it has races of its
// own), so this test binary re-executes itself as the orbit command.
func runBenchProcess(t *testing.T, args ...string) benchReport {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"bench", "--flush", "async", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), runAsOrbitEnv+"=1", "GORACE=exitcode=0 log_path="+t.TempDir()+"/race",
		"rocketmq.client.logRoot="+t.TempDir(), "rocketmq.client.logLevel=error")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	var rep benchReport
	require.NoError(t, json.Unmarshal(out, &rep), "output: %s", out)
	require.Positive(t, rep.Sent)
	require.Zero(t, rep.SendErrors)
	require.Equal(t, rep.Sent, rep.Received, "every message sent is received")
	require.EqualValues(t, rep.Sent, rep.SendLatency.Count)
	require.Positive(t, rep.SendRate)
	require.Positive(t, rep.NodeCPUPerMessage, "node CPU per message is measured")
	return rep
}

func TestBenchAgainstItsOwnNode(t *testing.T) {
	rep := runBenchProcess(t, "--duration", "2s", "--producers", "2", "--consumers", "1")
	require.Equal(t, "normal", rep.Type)
}

func TestBenchMessageTypes(t *testing.T) {
	t.Run("fifo keeps each message group in order", func(t *testing.T) {
		t.Parallel()
		rep := runBenchProcess(t, "--type", "fifo", "--duration", "2s", "--producers", "4", "--message-groups", "40", "--consumers", "1")
		require.Zero(t, rep.OrderViolations)
	})
	t.Run("delay messages arrive no earlier than due", func(t *testing.T) {
		t.Parallel()
		rep := runBenchProcess(t, "--type", "delay", "--delay", "2s", "--messages", "300", "--producers", "4", "--consumers", "1",
			"--node-flag=--max-delay=1h")
		require.EqualValues(t, 300, rep.Sent)
		require.EqualValues(t, rep.Sent, rep.Lateness.Count, "every delivered message carries its due time")
		require.Zero(t, rep.Early, "no message arrives before it is due")
	})
}
