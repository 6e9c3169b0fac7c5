package clientproc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Proc is one child process running a client scenario.
type Proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan [2]string // name, JSON payload
	mu     sync.Mutex
	output bytes.Buffer // everything but events
	exited chan error
	logDir string
}

// Start runs scenario in a child process with params (JSON-encoded) and
// kills it when the test ends.
func Start(t *testing.T, scenario string, params any) *Proc {
	t.Helper()
	p, err := json.Marshal(params)
	require.NoError(t, err)
	logDir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envScenario+"="+scenario,
		envParams+"="+string(p),
		// The client logs to $HOME/logs/rocketmq unless told otherwise.
		"rocketmq.client.logRoot="+logDir,
		// The client's own races go to a file, not into the test's verdict.
		"GORACE=exitcode=0 log_path="+filepath.Join(logDir, "client-race"),
	)
	c := &Proc{t: t, cmd: cmd, events: make(chan [2]string, 16), exited: make(chan error, 1), logDir: logDir}
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.output}
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			if ev, ok := strings.CutPrefix(line, eventPrefix); ok {
				name, payload, _ := strings.Cut(ev, " ")
				c.events <- [2]string{name, payload}
				continue
			}
			c.mu.Lock()
			c.output.WriteString(line + "\n")
			c.mu.Unlock()
		}
		c.exited <- cmd.Wait()
		close(c.events)
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		_ = cmd.Process.Kill()
	})
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Fail ends the test with the child's output (stderr and non-event stdout).
func (c *Proc) Fail(format string, args ...any) {
	c.t.Helper()
	c.mu.Lock()
	out := c.output.String()
	c.mu.Unlock()
	c.t.Fatalf(format+"\nclient output:\n%s\nclient logs in %s", append(args, out, c.logDir)...)
}

// Expect waits for the named event, skipping others, and decodes its
// payload into v.
func (c *Proc) Expect(name string, v any, timeout time.Duration) {
	c.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.Fail("client exited before %q: %v", name, <-c.exited)
			}
			if ev[0] != name {
				continue
			}
			require.NoError(c.t, json.Unmarshal([]byte(ev[1]), v))
			return
		case <-timer.C:
			c.Fail("no %q from the client within %s", name, timeout)
		}
	}
}

// Say writes a line to the child's stdin (see [Heard]).
func (c *Proc) Say(line string) {
	c.t.Helper()
	_, err := io.WriteString(c.stdin, line+"\n")
	require.NoError(c.t, err)
}

// CloseStdin closes the child's stdin, which ends its [WaitParent].
func (c *Proc) CloseStdin() { _ = c.stdin.Close() }

// Kill kills the child once its result is in. The example flows end with
// GracefulStop, which for a push consumer waits out its in-flight long polls
// (request timeout + the server's long polling) and then sleeps a second:
// the scenarios that do not test shutdown skip that.
func (c *Proc) Kill() {
	c.t.Helper()
	_ = c.stdin.Close()
	_ = c.cmd.Process.Kill()
	for range c.events {
	}
	<-c.exited
}

// Finish lets the child stop and requires a clean exit.
func (c *Proc) Finish() {
	c.t.Helper()
	_ = c.stdin.Close()
	for range c.events {
	}
	select {
	case err := <-c.exited:
		if err != nil {
			c.Fail("client failed: %v", err)
		}
	case <-time.After(time.Minute):
		c.Fail("client did not exit")
	}
}
