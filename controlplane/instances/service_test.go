package instances_test

import (
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/migrations/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newAccount inserts an account row and returns a principal of it with role.
func newAccount(t *testing.T, db *gorm.DB, id string, role iam.Role) iam.Principal {
	t.Helper()
	require.NoError(t, db.Exec("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)", id, "Account "+id, epoch).Error)
	return iam.Principal{Kind: iam.PrincipalSession, UserID: "user-" + id, AccountID: id, Email: id + "@example.com", Role: role}
}

func newService(db *gorm.DB, max int) *instances.Service {
	return instances.NewService(instances.NewStore(db), instances.Config{MaxInstancesPerAccount: max, Now: func() time.Time { return epoch }}, nil)
}

// setStatus plays the reconciler: it reports what it observed.
func setStatus(t *testing.T, db *gorm.DB, id string, st instances.Status) {
	t.Helper()
	require.NoError(t, db.Exec("UPDATE instances SET status = ? WHERE id = ?", string(st), id).Error)
}

func count(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("instances").Count(&n).Error)
	return n
}

func TestSpecsCatalogue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		specs, err := newService(db, 0).Specs(t.Context())
		require.NoError(t, err)
		require.Len(t, specs, 5)
		var codes []string
		for i, sp := range specs {
			codes = append(codes, sp.Code)
			require.Positive(t, sp.PricePerHourMicros, sp.Code)
			if i > 0 {
				require.Greater(t, sp.SortOrder, specs[i-1].SortOrder)
			}
		}
		require.Equal(t, []string{"rmq.s2.2xlarge", "rmq.s2.4xlarge", "rmq.p2.2xlarge", "rmq.p2.4xlarge", "rmq.p2.10xlarge"}, codes)
		s2 := specs[0]
		require.Equal(t, "standard", s2.Edition)
		require.Equal(t, 2000, s2.MaxTPS)
		require.Equal(t, 300, s2.MaxTopics)
		require.Equal(t, 1000, s2.MaxGroups)
	})
}

func TestCreateDefaults(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 0)
		p := newAccount(t, db, "acct-a", iam.RoleDeveloper)
		in, err := svc.Create(t.Context(), p, instances.CreateInput{Name: "  orders  ", SpecCode: "rmq.s2.2xlarge"})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(in.ID, "rmq-"), in.ID)
		require.Equal(t, "orders", in.Name)
		require.Equal(t, instances.StatusCreating, in.Status)
		require.Equal(t, instances.DesiredRunning, in.Desired)
		require.EqualValues(t, 1, in.Generation)
		require.Equal(t, instances.DefaultRetentionHours, in.RetentionHours)
		require.Equal(t, instances.FlushSync, in.FlushMode)
		raw, err := hex.DecodeString(in.AdminToken)
		require.NoError(t, err)
		require.Len(t, raw, 32)

		got, err := svc.Get(t.Context(), p, in.ID)
		require.NoError(t, err)
		require.Equal(t, in, got, "what Create returns is what is stored")
		require.True(t, got.LeaseUntil.IsZero())

		other, err := svc.Create(t.Context(), p, instances.CreateInput{Name: "b", SpecCode: "rmq.p2.4xlarge", RetentionHours: 1, FlushMode: "async", Remark: "batch jobs"})
		require.NoError(t, err)
		require.NotEqual(t, in.AdminToken, other.AdminToken)
		require.Equal(t, instances.FlushAsync, other.FlushMode)
		require.Equal(t, 1, other.RetentionHours)
	})
}

func TestCreateValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 0)
		p := newAccount(t, db, "acct-v", iam.RoleOwner)
		ok := instances.CreateInput{Name: "ok", SpecCode: "rmq.s2.2xlarge"}
		for _, tc := range []struct {
			name  string
			edit  func(*instances.CreateInput)
			field string
		}{
			{"empty name", func(in *instances.CreateInput) { in.Name = "   " }, "instanceName"},
			{"long name", func(in *instances.CreateInput) { in.Name = strings.Repeat("n", 65) }, "instanceName"},
			{"control character", func(in *instances.CreateInput) { in.Name = "a\nb" }, "instanceName"},
			{"no spec", func(in *instances.CreateInput) { in.SpecCode = "" }, "specCode"},
			{"unknown spec", func(in *instances.CreateInput) { in.SpecCode = "rmq.x9.huge" }, "specCode"},
			{"negative retention", func(in *instances.CreateInput) { in.RetentionHours = -1 }, "messageRetentionHours"},
			{"retention too long", func(in *instances.CreateInput) { in.RetentionHours = 721 }, "messageRetentionHours"},
			{"flush mode", func(in *instances.CreateInput) { in.FlushMode = "never" }, "flushMode"},
			{"long remark", func(in *instances.CreateInput) { in.Remark = strings.Repeat("r", 257) }, "remark"},
		} {
			in := ok
			tc.edit(&in)
			_, err := svc.Create(t.Context(), p, in)
			var verr *iam.ValidationError
			require.ErrorAs(t, err, &verr, tc.name)
			require.Equal(t, tc.field, verr.Field, tc.name)
		}
		require.Zero(t, count(t, db), "nothing invalid was stored")
	})
}

func TestCreateQuota(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 2)
		p := newAccount(t, db, "acct-q", iam.RoleOwner)
		other := newAccount(t, db, "acct-q2", iam.RoleOwner)
		in := instances.CreateInput{Name: "q", SpecCode: "rmq.s2.2xlarge"}
		first, err := svc.Create(t.Context(), p, in)
		require.NoError(t, err)
		_, err = svc.Create(t.Context(), p, in)
		require.NoError(t, err)
		_, err = svc.Create(t.Context(), p, in)
		require.ErrorIs(t, err, instances.ErrQuotaExceeded)
		require.EqualValues(t, 2, count(t, db))

		// The quota is per account.
		_, err = svc.Create(t.Context(), other, in)
		require.NoError(t, err)

		// An instance being deleted no longer counts.
		_, err = svc.Delete(t.Context(), p, first.ID)
		require.NoError(t, err)
		_, err = svc.Create(t.Context(), p, in)
		require.NoError(t, err)
	})
}

// TestCreateQuotaConcurrent: simultaneous creates cannot overshoot the quota.
func TestCreateQuotaConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 3)
		p := newAccount(t, db, "acct-c", iam.RoleOwner)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = svc.Create(t.Context(), p, instances.CreateInput{Name: "c", SpecCode: "rmq.s2.2xlarge"})
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			require.ErrorIs(t, err, instances.ErrQuotaExceeded)
		}
		require.Equal(t, 3, created)
		require.EqualValues(t, 3, count(t, db))
	})
}

func TestTransitions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 100)
		p := newAccount(t, db, "acct-t", iam.RoleDeveloper)
		type op func(*instances.Service, iam.Principal, string) (instances.Instance, error)
		start := func(s *instances.Service, p iam.Principal, id string) (instances.Instance, error) {
			return s.Start(t.Context(), p, id)
		}
		stop := func(s *instances.Service, p iam.Principal, id string) (instances.Instance, error) {
			return s.Stop(t.Context(), p, id)
		}
		del := func(s *instances.Service, p iam.Principal, id string) (instances.Instance, error) {
			return s.Delete(t.Context(), p, id)
		}
		for _, tc := range []struct {
			name    string
			from    instances.Status
			op      op
			status  instances.Status // "" = wrong state
			desired instances.Desired
		}{
			{"start stopped", instances.StatusStopped, start, instances.StatusStarting, instances.DesiredRunning},
			{"start failed", instances.StatusFailed, start, instances.StatusStarting, instances.DesiredRunning},
			{"start running", instances.StatusRunning, start, "", ""},
			{"start creating", instances.StatusCreating, start, "", ""},
			{"start stopping", instances.StatusStopping, start, "", ""},
			{"stop running", instances.StatusRunning, stop, instances.StatusStopping, instances.DesiredStopped},
			{"stop failed", instances.StatusFailed, stop, instances.StatusStopping, instances.DesiredStopped},
			{"stop creating", instances.StatusCreating, stop, "", ""},
			{"stop stopped", instances.StatusStopped, stop, "", ""},
			{"stop updating", instances.StatusUpdating, stop, "", ""},
			{"delete creating", instances.StatusCreating, del, instances.StatusDeleting, instances.DesiredDeleted},
			{"delete running", instances.StatusRunning, del, instances.StatusDeleting, instances.DesiredDeleted},
			{"delete stopped", instances.StatusStopped, del, instances.StatusDeleting, instances.DesiredDeleted},
			{"delete failed", instances.StatusFailed, del, instances.StatusDeleting, instances.DesiredDeleted},
		} {
			in, err := svc.Create(t.Context(), p, instances.CreateInput{Name: tc.name, SpecCode: "rmq.s2.2xlarge"})
			require.NoError(t, err)
			setStatus(t, db, in.ID, tc.from)
			got, err := tc.op(svc, p, in.ID)
			after, gerr := svc.Get(t.Context(), p, in.ID)
			require.NoError(t, gerr)
			if tc.status == "" {
				require.ErrorIs(t, err, instances.ErrWrongState, tc.name)
				var se *instances.StateError
				require.ErrorAs(t, err, &se)
				require.Equal(t, tc.from, se.Status)
				require.Equal(t, tc.from, after.Status, "%s: a refused change changes nothing", tc.name)
				require.Equal(t, in.Desired, after.Desired)
				continue
			}
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.status, got.Status, tc.name)
			require.Equal(t, tc.desired, got.Desired, tc.name)
			require.Equal(t, got, after, tc.name)
			require.Equal(t, in.Generation, after.Generation, "%s: desired-state changes keep the generation", tc.name)
		}

		// Deleting twice succeeds and changes nothing; nothing else is allowed while deleting.
		in, err := svc.Create(t.Context(), p, instances.CreateInput{Name: "gone", SpecCode: "rmq.s2.2xlarge"})
		require.NoError(t, err)
		first, err := svc.Delete(t.Context(), p, in.ID)
		require.NoError(t, err)
		again, err := svc.Delete(t.Context(), p, in.ID)
		require.NoError(t, err)
		require.Equal(t, first, again)
		setStatus(t, db, in.ID, instances.StatusDeleting)
		_, err = svc.Start(t.Context(), p, in.ID)
		require.ErrorIs(t, err, instances.ErrWrongState)
		name := "renamed"
		_, err = svc.Update(t.Context(), p, in.ID, instances.UpdateInput{Name: &name})
		require.ErrorIs(t, err, instances.ErrWrongState)
	})
}

func TestUpdateGeneration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 0)
		p := newAccount(t, db, "acct-u", iam.RoleDeveloper)
		in, err := svc.Create(t.Context(), p, instances.CreateInput{Name: "u", SpecCode: "rmq.s2.2xlarge"})
		require.NoError(t, err)
		setStatus(t, db, in.ID, instances.StatusRunning)

		name, remark := "renamed", "a note"
		got, err := svc.Update(t.Context(), p, in.ID, instances.UpdateInput{Name: &name, Remark: &remark})
		require.NoError(t, err)
		require.Equal(t, "renamed", got.Name)
		require.Equal(t, "a note", got.Remark)
		require.EqualValues(t, 1, got.Generation, "renaming needs nothing from the node")
		require.Equal(t, instances.StatusRunning, got.Status)

		same := in.RetentionHours
		got, err = svc.Update(t.Context(), p, in.ID, instances.UpdateInput{RetentionHours: &same})
		require.NoError(t, err)
		require.EqualValues(t, 1, got.Generation, "an unchanged value is no change")

		hours := 24
		got, err = svc.Update(t.Context(), p, in.ID, instances.UpdateInput{RetentionHours: &hours})
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Generation)
		require.Equal(t, instances.StatusUpdating, got.Status)
		require.Equal(t, 24, got.RetentionHours)

		// A stopped instance takes the new spec at its next start.
		setStatus(t, db, in.ID, instances.StatusStopped)
		spec := "rmq.s2.4xlarge"
		got, err = svc.Update(t.Context(), p, in.ID, instances.UpdateInput{SpecCode: &spec})
		require.NoError(t, err)
		require.EqualValues(t, 3, got.Generation)
		require.Equal(t, instances.StatusStopped, got.Status)
		require.Equal(t, spec, got.SpecCode)
		stored, err := svc.Get(t.Context(), p, in.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)

		bad, zero, empty := "rmq.nope", 0, " "
		for field, u := range map[string]instances.UpdateInput{
			"specCode":              {SpecCode: &bad},
			"messageRetentionHours": {RetentionHours: &zero},
			"instanceName":          {Name: &empty},
		} {
			_, err = svc.Update(t.Context(), p, in.ID, u)
			var verr *iam.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, field, verr.Field)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 0)
		owner := newAccount(t, db, "acct-mine", iam.RoleOwner)
		stranger := newAccount(t, db, "acct-theirs", iam.RoleOwner)
		in, err := svc.Create(t.Context(), owner, instances.CreateInput{Name: "mine", SpecCode: "rmq.s2.2xlarge"})
		require.NoError(t, err)
		setStatus(t, db, in.ID, instances.StatusRunning)

		_, err = svc.Get(t.Context(), stranger, in.ID)
		require.ErrorIs(t, err, instances.ErrNotFound)
		name := "stolen"
		_, err = svc.Update(t.Context(), stranger, in.ID, instances.UpdateInput{Name: &name})
		require.ErrorIs(t, err, instances.ErrNotFound)
		_, err = svc.Stop(t.Context(), stranger, in.ID)
		require.ErrorIs(t, err, instances.ErrNotFound)
		_, err = svc.Start(t.Context(), stranger, in.ID)
		require.ErrorIs(t, err, instances.ErrNotFound)
		_, err = svc.Delete(t.Context(), stranger, in.ID)
		require.ErrorIs(t, err, instances.ErrNotFound)
		list, err := svc.List(t.Context(), stranger, "", 0)
		require.NoError(t, err)
		require.Empty(t, list)

		mine, err := svc.Get(t.Context(), owner, in.ID)
		require.NoError(t, err)
		require.Equal(t, "mine", mine.Name)
		require.Equal(t, instances.StatusRunning, mine.Status)
	})
}

func TestAuthorization(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 0)
		dev := newAccount(t, db, "acct-r", iam.RoleDeveloper)
		viewer := dev
		viewer.Role = iam.RoleViewer
		in, err := svc.Create(t.Context(), dev, instances.CreateInput{Name: "r", SpecCode: "rmq.s2.2xlarge"})
		require.NoError(t, err)

		_, err = svc.Get(t.Context(), viewer, in.ID)
		require.NoError(t, err)
		list, err := svc.List(t.Context(), viewer, "", 10)
		require.NoError(t, err)
		require.Len(t, list, 1)

		name := "x"
		for opName, op := range map[string]func() error{
			"create": func() error {
				_, err := svc.Create(t.Context(), viewer, instances.CreateInput{Name: "v", SpecCode: "rmq.s2.2xlarge"})
				return err
			},
			"update": func() error {
				_, err := svc.Update(t.Context(), viewer, in.ID, instances.UpdateInput{Name: &name})
				return err
			},
			"start":  func() error { _, err := svc.Start(t.Context(), viewer, in.ID); return err },
			"stop":   func() error { _, err := svc.Stop(t.Context(), viewer, in.ID); return err },
			"delete": func() error { _, err := svc.Delete(t.Context(), viewer, in.ID); return err },
		} {
			require.ErrorIs(t, op(), iam.ErrForbidden, opName)
		}
		require.EqualValues(t, 1, count(t, db))
	})
}

func TestListPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		svc := newService(db, 10)
		p := newAccount(t, db, "acct-p", iam.RoleOwner)
		var ids []string
		for range 5 {
			in, err := svc.Create(t.Context(), p, instances.CreateInput{Name: "p", SpecCode: "rmq.s2.2xlarge"})
			require.NoError(t, err)
			ids = append(ids, in.ID)
		}
		var seen []string
		after := ""
		for {
			page, err := svc.List(t.Context(), p, after, 2)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			for _, in := range page {
				seen = append(seen, in.ID)
			}
			after = page[len(page)-1].ID
		}
		require.Equal(t, ids, seen, "UUIDv7 ids list in creation order")
	})
}
