package dbtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(reaperChildEnv) != "" {
		reaperChild()
	}
	os.Exit(dbtest.Main(m))
}

// Parallel tests each get a database of their own: every one sees only the
// row it inserted.
func TestEachIsolatesTests(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
				v, err := migrations.Version(t.Context(), db)
				require.NoError(t, err)
				require.Equal(t, migrations.Latest(), v, "databases come migrated")

				require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
					fmt.Sprint("acc-", i), "Acme", time.Now().UTC()).Error)
				var n int64
				require.NoError(t, db.Raw("SELECT count(*) FROM accounts").Scan(&n).Error)
				require.Equal(t, int64(1), n)
			})
		})
	}
}

func TestPostgresURLIsEmpty(t *testing.T) {
	db, err := migrations.Open(t.Context(), migrations.Config{DatabaseURL: dbtest.PostgresURL(t)}, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		sqlDB, err := db.DB()
		require.NoError(t, err)
		require.NoError(t, sqlDB.Close())
	})
	v, err := migrations.Version(t.Context(), db)
	require.NoError(t, err)
	require.Zero(t, v)
	var n int64
	require.NoError(t, db.Raw("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n).Error)
	require.Zero(t, n)
}

// reaperChildEnv marks the re-executed test binary of TestClusterDiesWithProcess.
const reaperChildEnv = "ORBIT_DBTEST_REAPER_CHILD"

// A package that forgets dbtest.Main, or a test binary killed by a timeout,
// must not leave a PostgreSQL server behind. The child below starts the
// throwaway cluster and dies by SIGKILL; the reaper must then stop the server
// and remove its directory.
func TestClusterDiesWithProcess(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), reaperChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Output returning at all shows that no server or reaper process kept the
	// child's stdout open (which would hang go test too).
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	require.True(t, errors.As(err, &exitErr), "child: %v\n%s%s", err, out, stderr.Bytes())
	require.Equal(t, syscall.SIGKILL, exitErr.Sys().(syscall.WaitStatus).Signal())

	var dir string
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if d, ok := strings.CutPrefix(sc.Text(), "CLUSTER_DIR="); ok {
			dir = d
		}
	}
	require.NotEmpty(t, dir, "child output:\n%s", out)
	require.Eventually(t, func() bool {
		_, err := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist)
	}, time.Minute, 20*time.Millisecond, "cluster directory %s still exists", dir)
}

// reaperChild runs in the re-executed test binary: it starts its own
// throwaway cluster, says where, and dies without any cleanup.
func reaperChild() {
	dir, err := dbtest.StartClusterDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		os.Exit(2)
	}
	fmt.Printf("CLUSTER_DIR=%s\n", dir)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
