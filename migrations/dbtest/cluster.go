package dbtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// cluster is a throwaway PostgreSQL server owned by this test binary.
type cluster struct {
	dir    string   // holds data/, the unix socket and postgres.log
	url    string   // superuser URL of the "postgres" database, over the socket
	reaper *os.File // write end of the reaper's stdin; closing it stops the server
	wait   func() error
}

// startCluster runs initdb and pg_ctl start in a fresh temp directory.
//
// PostgreSQL refuses to run as root, so as root both run as the postgres user
// through runuser, in a directory chowned to it (see clusterBase for where).
//
// Before initdb it starts a reaper: a small shell process, in its own session
// so Ctrl-C does not reach it, that blocks reading a pipe only this process
// holds open. Whenever this process ends (Main returning, a panic, a test
// timeout, kill -9), the pipe closes and the reaper stops the server and
// removes the directory. That needs neither TestMain nor a finalizer.
func startCluster() (_ *cluster, retErr error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	root := os.Geteuid() == 0
	dir, err := os.MkdirTemp(clusterBase(root), "orbit-pg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	var asPG []string
	if root {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("running as root needs the postgres user to run PostgreSQL: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("chown cluster directory to postgres: %w", err)
		}
		asPG = []string{"runuser", "-u", "postgres", "--"}
	}

	c := &cluster{dir: dir}
	if err := c.startReaper(filepath.Join(bin, "pg_ctl"), asPG); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, c.stop())
		}
	}()

	data := filepath.Join(dir, "data")
	if out, err := run(asPG, filepath.Join(bin, "initdb"),
		"-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Durability settings are off: the cluster dies with the tests. Each test
	// gets its own database and pool, hence the generous max_connections.
	opts := "-k " + dir + " -c listen_addresses='' -c fsync=off -c full_page_writes=off" +
		" -c synchronous_commit=off -c max_connections=200"
	logFile := filepath.Join(dir, "postgres.log")
	if out, err := run(asPG, filepath.Join(bin, "pg_ctl"),
		"-D", data, "-l", logFile, "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	c.url = (&url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Path:     "/postgres",
		RawQuery: url.Values{"host": {dir}}.Encode(),
	}).String()
	return c, nil
}

const reaperScript = `
dir=$1 pg_ctl=$2
shift 2
# Blocks until every copy of the pipe's write end is closed: the test process ended.
read -r _
if [ -f "$dir/data/postmaster.pid" ]; then
	"$@" "$pg_ctl" -D "$dir/data" -m immediate -w stop
fi
rm -rf "$dir"
`

func (c *cluster) startReaper(pgCtl string, asPG []string) error {
	r, w, err := os.Pipe() // both ends close-on-exec: no other child inherits w.
	if err != nil {
		return fmt.Errorf("start cluster reaper: %w", err)
	}
	args := append([]string{"-c", reaperScript, "orbit-pg-reaper", c.dir, pgCtl}, asPG...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Stdin = r
	// Stdout and stderr stay nil (/dev/null): if the reaper held go test's
	// output pipe, go test would wait for it after the binary exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("start cluster reaper: %w", err)
	}
	r.Close()
	c.reaper = w
	c.wait = cmd.Wait
	return nil
}

// stop shuts the server down and removes its directory, waiting until done.
func (c *cluster) stop() error {
	if err := c.reaper.Close(); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	if err := c.wait(); err != nil {
		return fmt.Errorf("stop postgres: reaper: %w", err)
	}
	return nil
}

// minShmFree is the free space /dev/shm needs before the cluster goes
// there: a container's default 64 MiB would fill up mid-run.
const minShmFree = 1 << 30

// clusterBase picks the parent of the cluster directory. tmpfs first: on
// disk, CREATE DATABASE spends most of its time creating a few hundred small
// files (about 240 ms per test database on the CI VM's ext4, 10 ms on tmpfs).
// As root the directory must be reachable by the postgres user, and TMPDIR
// may sit under /root, so root falls back to /tmp instead of TMPDIR. Either
// way the socket path must fit in sockaddr_un.sun_path (108 bytes).
func clusterBase(root bool) string {
	// Only a /tmp-like /dev/shm (mode 1777) is used: anyone, the postgres
	// user included, can create a private directory there.
	var st syscall.Statfs_t
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.Mode()&(os.ModeSticky|os.ModePerm) == os.ModeSticky|os.ModePerm &&
		syscall.Statfs("/dev/shm", &st) == nil && st.Bavail*uint64(st.Bsize) >= minShmFree {
		return "/dev/shm"
	}
	if base := os.TempDir(); !root && len(base) < 60 {
		return base
	}
	return "/tmp"
}

// pgBinDir finds initdb and pg_ctl: Debian's PostgreSQL 15 first (what CI
// installs), then the newest other Debian version, then $PATH.
func pgBinDir() (string, error) {
	ok := func(dir string) bool {
		_, err1 := os.Stat(filepath.Join(dir, "initdb"))
		_, err2 := os.Stat(filepath.Join(dir, "pg_ctl"))
		return err1 == nil && err2 == nil
	}
	if dir := "/usr/lib/postgresql/15/bin"; ok(dir) {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, dir := range dirs {
		if ok(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && ok(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: " +
		"install Debian's postgresql package or set ORBIT_TEST_DATABASE_URL")
}

func run(prefix []string, name string, args ...string) ([]byte, error) {
	argv := slices.Concat(prefix, []string{name}, args)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return bytes.TrimSpace(out.Bytes()), err
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		// Do not echo base: ORBIT_TEST_DATABASE_URL may hold a password.
		return "", errors.New("ORBIT_TEST_DATABASE_URL is not a postgres:// URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}
