package instances_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

// leaseFixture inserts an account with n RUNNING-desired instances i0..i<n-1>.
func leaseFixture(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	now := time.Now().UTC()
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES ('acc-lease', 'Lease', ?)", now).Error)
	for i := range n {
		require.NoError(t, db.Exec(`INSERT INTO instances (id, account_id, name, spec_code, retention_hours, flush_mode,
			desired, generation, status, admin_token, created_at, updated_at)
			VALUES (?, 'acc-lease', ?, 'rmq.s2.2xlarge', 72, 'sync', 'RUNNING', 1, 'CREATING', 'tok', ?, ?)`,
			fmt.Sprintf("i%d", i), fmt.Sprintf("inst %d", i), now, now).Error)
	}
}

func ids(in []instances.Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.ID
	}
	return out
}

func TestLeaseClaimIsExclusive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		leaseFixture(t, db, 6)
		ctx := t.Context()
		var wg sync.WaitGroup
		got := make([][]instances.Instance, 2)
		errs := make([]error, 2)
		for r := range 2 {
			wg.Go(func() { got[r], errs[r] = instances.Claim(ctx, db, fmt.Sprintf("replica-%d", r), time.Minute, 100) })
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		seen := map[string]string{}
		for r, list := range got {
			for _, in := range list {
				require.NotContains(t, seen, in.ID, "two replicas claimed %s", in.ID)
				seen[in.ID] = fmt.Sprintf("replica-%d", r)
				require.Equal(t, seen[in.ID], in.LeaseOwner)
				require.WithinDuration(t, time.Now().Add(time.Minute), in.LeaseUntil, 30*time.Second)
				require.Equal(t, "tok", in.AdminToken)
			}
		}
		require.Len(t, seen, 6, "every instance is claimed by someone")

		// A claim again renews its own leases and takes nothing of the other's.
		again, err := instances.Claim(ctx, db, "replica-0", time.Minute, 100)
		require.NoError(t, err)
		require.ElementsMatch(t, ids(got[0]), ids(again))

		// limit bounds a claim.
		require.NoError(t, instances.Release(ctx, db, "replica-0"))
		require.NoError(t, instances.Release(ctx, db, "replica-1"))
		some, err := instances.Claim(ctx, db, "replica-2", time.Minute, 4)
		require.NoError(t, err)
		require.Len(t, some, 4)
		rest, err := instances.Claim(ctx, db, "replica-3", time.Minute, 4)
		require.NoError(t, err)
		require.Len(t, rest, 2)
	})
}

func TestLeaseExpiredIsTakenOverAndReleaseFrees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		leaseFixture(t, db, 2)
		ctx := t.Context()
		// A lease that has already run out (a replica that died).
		got, err := instances.Claim(ctx, db, "dead", -time.Second, 100)
		require.NoError(t, err)
		require.Len(t, got, 2)
		got, err = instances.Claim(ctx, db, "alive", time.Minute, 100)
		require.NoError(t, err)
		require.Len(t, got, 2, "expired leases are taken over")
		none, err := instances.Claim(ctx, db, "other", time.Minute, 100)
		require.NoError(t, err)
		require.Empty(t, none)

		require.NoError(t, instances.Release(ctx, db, "alive", "i0"))
		got, err = instances.Claim(ctx, db, "other", time.Minute, 100)
		require.NoError(t, err)
		require.Equal(t, []string{"i0"}, ids(got))
		require.NoError(t, instances.Release(ctx, db, "other"))
		var owner string
		require.NoError(t, db.Raw("SELECT lease_owner FROM instances WHERE id = 'i0'").Scan(&owner).Error)
		require.Empty(t, owner)
	})
}

func TestLeaseReportNeedsLeaseAndCurrentDesire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		leaseFixture(t, db, 1)
		ctx := t.Context()
		_, err := instances.Claim(ctx, db, "a", time.Minute, 100)
		require.NoError(t, err)
		rep := instances.StatusReport{Desired: instances.DesiredRunning, Generation: 1, Status: instances.StatusRunning,
			ObservedGeneration: 1, Endpoint: "127.0.0.1:1", AdminAddr: "127.0.0.1:2"}

		require.ErrorIs(t, instances.Report(ctx, db, "i0", "b", rep), instances.ErrLeaseLost)
		stale := rep
		stale.Generation = 0
		require.ErrorIs(t, instances.Report(ctx, db, "i0", "a", stale), instances.ErrLeaseLost, "the generation moved on")
		stale = rep
		stale.Desired = instances.DesiredStopped
		require.ErrorIs(t, instances.Report(ctx, db, "i0", "a", stale), instances.ErrLeaseLost, "the desired state changed")

		require.NoError(t, instances.Report(ctx, db, "i0", "a", rep))
		got := readInstance(t, db, "i0")
		require.Equal(t, instances.StatusRunning, got.Status)
		require.Equal(t, "127.0.0.1:1", got.Endpoint)
		require.Equal(t, "127.0.0.1:2", got.AdminAddr)
		require.EqualValues(t, 1, got.ObservedGeneration)
		changed := got.UpdatedAt

		// The same status again (with a new reason) keeps updated_at.
		rep.StatusReason = "still fine"
		require.NoError(t, instances.Report(ctx, db, "i0", "a", rep))
		got = readInstance(t, db, "i0")
		require.Equal(t, "still fine", got.StatusReason)
		require.True(t, changed.Equal(got.UpdatedAt))
	})
}

func TestLeasePurgeOnlyDeletedRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		leaseFixture(t, db, 1)
		ctx := t.Context()
		_, err := instances.Claim(ctx, db, "a", time.Minute, 100)
		require.NoError(t, err)
		require.ErrorIs(t, instances.Purge(ctx, db, "i0", "a"), instances.ErrLeaseLost, "a running instance is never purged")
		require.NoError(t, db.Exec("UPDATE instances SET desired = 'DELETED', status = 'DELETING' WHERE id = 'i0'").Error)
		require.ErrorIs(t, instances.Purge(ctx, db, "i0", "b"), instances.ErrLeaseLost)
		require.NoError(t, instances.Purge(ctx, db, "i0", "a"))
		var n int64
		require.NoError(t, db.Raw("SELECT COUNT(*) FROM instances").Scan(&n).Error)
		require.Zero(t, n)
	})
}

func readInstance(t *testing.T, db *gorm.DB, id string) instances.Instance {
	t.Helper()
	var r struct {
		Status             string
		StatusReason       string
		ObservedGeneration int64
		Endpoint           string
		AdminAddr          string
		UpdatedAt          time.Time
	}
	require.NoError(t, db.Raw("SELECT status, status_reason, observed_generation, endpoint, admin_addr, updated_at FROM instances WHERE id = ?", id).Scan(&r).Error)
	return instances.Instance{ID: id, Status: instances.Status(r.Status), StatusReason: r.StatusReason,
		ObservedGeneration: r.ObservedGeneration, Endpoint: r.Endpoint, AdminAddr: r.AdminAddr, UpdatedAt: r.UpdatedAt}
}
