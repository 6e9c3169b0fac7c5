package instances

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Leases let several `orbit serve` replicas share one database without two
// of them reconciling the same instance at once. A replica claims rows whose
// lease is free or expired with a conditional UPDATE (the database decides
// who wins), renews its leases by claiming again, and writes status only
// while it still holds the lease. On SQLite there is one replica, and the
// same code works unchanged.

// ErrLeaseLost: the write did not happen because the caller no longer holds
// the instance's lease, or the instance's desired state or generation
// changed since it was claimed (the caller should plan again from fresh data).
var ErrLeaseLost = errors.New("instance lease lost or instance changed")

// leaseNow is the lease clock: UTC with microseconds, as both databases keep it.
func leaseNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Claim takes up to limit instances whose lease is free, expired or already
// owner's, and returns them with the lease held by owner until now+ttl.
// Calling it again renews owner's leases. Rows are taken one conditional
// UPDATE at a time, so a concurrent replica wins some rows and this one the
// others, never both the same row.
func Claim(ctx context.Context, db *gorm.DB, owner string, ttl time.Duration, limit int) ([]Instance, error) {
	if owner == "" {
		return nil, errors.New("claim instances: owner is required")
	}
	if limit <= 0 {
		limit = 100
	}
	db = db.WithContext(ctx)
	now := leaseNow()
	until := now.Add(ttl)
	const free = "(lease_owner = '' OR lease_until IS NULL OR lease_until < ? OR lease_owner = ?)"
	var ids []string
	// The oldest leases first, so that with more instances than limit every
	// instance gets its turn.
	err := db.Model(&instanceRow{}).Where(free, now, owner).
		Order("COALESCE(lease_until, created_at), id").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("claim instances: %w", err)
	}
	won := make([]string, 0, len(ids))
	for _, id := range ids {
		res := db.Model(&instanceRow{}).Where("id = ? AND "+free, id, now, owner).
			Updates(map[string]any{"lease_owner": owner, "lease_until": until})
		if res.Error != nil {
			return nil, fmt.Errorf("claim instance %s: %w", id, res.Error)
		}
		if res.RowsAffected == 1 {
			won = append(won, id)
		}
	}
	if len(won) == 0 {
		return nil, nil
	}
	var rows []instanceRow
	if err := db.Where("id IN ? AND lease_owner = ?", won, owner).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("claim instances: read: %w", err)
	}
	out := make([]Instance, len(rows))
	for i, r := range rows {
		out[i] = r.toInstance()
	}
	return out, nil
}

// Release gives up owner's leases on ids (all of owner's leases when ids is
// empty), e.g. when a replica shuts down, so another can take over at once.
func Release(ctx context.Context, db *gorm.DB, owner string, ids ...string) error {
	q := db.WithContext(ctx).Model(&instanceRow{}).Where("lease_owner = ?", owner)
	if len(ids) > 0 {
		q = q.Where("id IN ?", ids)
	}
	if err := q.UpdateColumns(map[string]any{"lease_owner": "", "lease_until": nil}).Error; err != nil {
		return fmt.Errorf("release instance leases: %w", err)
	}
	return nil
}

// StatusReport is what the reconciler observed of an instance it planned
// for at Desired and Generation (the values it claimed the row with).
type StatusReport struct {
	// Preconditions: the row is written only if it still asks for these.
	Desired    Desired
	Generation int64

	Status             Status
	StatusReason       string
	ObservedGeneration int64
	Endpoint           string
	AdminAddr          string
}

// Report writes an instance's observed status if owner still holds its
// lease and its desired state and generation are still r's; otherwise it
// returns ErrLeaseLost. updated_at changes only with the status.
func Report(ctx context.Context, db *gorm.DB, id, owner string, r StatusReport) error {
	db = db.WithContext(ctx)
	cond := "id = ? AND lease_owner = ? AND desired = ? AND generation = ?"
	args := []any{id, owner, string(r.Desired), r.Generation}
	fields := map[string]any{
		"status_reason":       r.StatusReason,
		"observed_generation": r.ObservedGeneration,
		"endpoint":            r.Endpoint,
		"admin_addr":          r.AdminAddr,
	}
	// Two statements keep updated_at the time of the last status change
	// (UpdateColumns: gorm would otherwise set it on every write).
	res := db.Model(&instanceRow{}).Where(cond+" AND status <> ?", append(args, string(r.Status))...).
		Updates(withStatus(fields, r.Status, leaseNow()))
	if res.Error != nil {
		return fmt.Errorf("report instance %s: %w", id, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	res = db.Model(&instanceRow{}).Where(cond, args...).UpdateColumns(fields)
	if res.Error != nil {
		return fmt.Errorf("report instance %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		// MySQL-style "0 rows changed" never happens here: PostgreSQL and
		// SQLite count matched rows.
		return ErrLeaseLost
	}
	return nil
}

func withStatus(fields map[string]any, s Status, now time.Time) map[string]any {
	out := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		out[k] = v
	}
	out["status"] = string(s)
	out["updated_at"] = now
	return out
}

// Purge deletes the row of an instance whose desired state is DELETED, once
// its resources are gone, if owner holds its lease; ErrLeaseLost otherwise.
func Purge(ctx context.Context, db *gorm.DB, id, owner string) error {
	res := db.WithContext(ctx).Where("id = ? AND lease_owner = ? AND desired = ?", id, owner, string(DesiredDeleted)).
		Delete(&instanceRow{})
	if res.Error != nil {
		return fmt.Errorf("purge instance %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrLeaseLost
	}
	return nil
}
