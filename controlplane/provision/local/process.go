package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one node process: either a child this Provisioner started (own;
// reaped by cmd.Wait) or one found running after a restart (adopted; its
// parent is gone, so its exit is noticed by polling the pid).
type proc struct {
	pid       int
	own       bool
	startedAt time.Time
	done      chan struct{} // closed when the process has exited

	mu     sync.Mutex
	exit   string // how it ended, e.g. "exit status 1" or "signal: killed"
	detach chan struct{}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// startProcess runs exe with args in its own session (so that a signal to
// `orbit serve`'s process group, or its exit, does not reach the node),
// stdout and stderr appended to logPath. A file, not a pipe: a Go program
// writing to a broken pipe on fd 1 or 2 dies of SIGPIPE, and the node must
// outlive the provisioner.
func startProcess(exe string, args, env []string, dir, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open node log: %w", err)
	}
	defer logf.Close() // the child has its own copy of the descriptor
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	p := &proc{pid: cmd.Process.Pid, own: true, startedAt: time.Now(), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if err != nil {
			p.exit = err.Error()
		} else {
			p.exit = "exit status 0"
		}
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// adoptProcess watches a process this Provisioner did not start.
func adoptProcess(pid int, startedAt time.Time) *proc {
	p := &proc{pid: pid, startedAt: startedAt, done: make(chan struct{}), detach: make(chan struct{})}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.detach:
				return
			case <-t.C:
			}
			if !alive(pid) {
				p.mu.Lock()
				p.exit = "exited"
				p.mu.Unlock()
				close(p.done)
				return
			}
		}
	}()
	return p
}

// release stops watching an adopted process (the Provisioner is closing and
// leaves it running).
func (p *proc) release() {
	if p.detach != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-p.detach:
		default:
			close(p.detach)
		}
	}
}

// signal sends sig to the process unless it is known to have exited.
func (p *proc) signal(sig syscall.Signal) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(p.pid, sig)
}

// terminate asks the node to shut down (SIGTERM), waits up to timeout and
// then kills it. It returns once the process is gone.
func (p *proc) terminate(timeout time.Duration) {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	p.signal(syscall.SIGKILL)
	<-p.done
}

// alive reports whether pid names a live process (a zombie is not alive).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: trust kill(0)
	}
	s := string(raw)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// runsDataDir reports whether pid's command line names dataDir (so that a
// reused pid is not mistaken for our node); ok is false when the command
// line cannot be read (no /proc).
func runsDataDir(pid int, dataDir string) (match, ok bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false, false
	}
	return bytes.Contains(raw, []byte("\x00--data-dir\x00"+dataDir+"\x00")), true
}

// freePort finds a loopback port nobody listens on now. The node binds it a
// moment later; if another process took it meanwhile, the node fails to
// start and the next attempt picks new ports.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lastLogLine returns the last non-empty line of the node's log, for the
// reason of a failure.
func lastLogLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		_, _ = f.Seek(fi.Size()-tail, io.SeekStart)
	}
	raw, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}

// rotateLog keeps one previous log when the current one grew large.
func rotateLog(path string, max int64) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > max {
		_ = os.Rename(path, path+".1")
	}
}
