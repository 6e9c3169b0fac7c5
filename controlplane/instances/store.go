package instances

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store keeps specs and instances in the tables of
// migrations/*/00006_specs_instances.sql, with gorm on PostgreSQL or SQLite.
// Every method on instances of a tenant takes the account ID and answers
// ErrNotFound for rows of other accounts.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db, which must be migrated (migrations.Up).
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// The rows mirror the SQL files column for column; they are never AutoMigrated.

type specRow struct {
	Code                          string `gorm:"column:code;primaryKey"`
	Edition                       string `gorm:"column:edition"`
	MaxTPS                        int    `gorm:"column:max_tps"`
	MaxTopics                     int    `gorm:"column:max_topics"`
	MaxGroups                     int    `gorm:"column:max_groups"`
	StorageGB                     int    `gorm:"column:storage_gb"`
	PricePerHourMicros            int64  `gorm:"column:price_per_hour_micros"`
	PricePerMillionRequestsMicros int64  `gorm:"column:price_per_million_requests_micros"`
	PricePerGBHourMicros          int64  `gorm:"column:price_per_gb_hour_micros"`
	SortOrder                     int    `gorm:"column:sort_order"`
}

func (specRow) TableName() string { return "specs" }

func (r specRow) toSpec() Spec { return Spec(r) }

type instanceRow struct {
	ID                 string     `gorm:"column:id;primaryKey"`
	AccountID          string     `gorm:"column:account_id"`
	Name               string     `gorm:"column:name"`
	SpecCode           string     `gorm:"column:spec_code"`
	Remark             string     `gorm:"column:remark"`
	RetentionHours     int        `gorm:"column:retention_hours"`
	FlushMode          string     `gorm:"column:flush_mode"`
	Desired            string     `gorm:"column:desired"`
	Generation         int64      `gorm:"column:generation"`
	Status             string     `gorm:"column:status"`
	StatusReason       string     `gorm:"column:status_reason"`
	ObservedGeneration int64      `gorm:"column:observed_generation"`
	Endpoint           string     `gorm:"column:endpoint"`
	AdminAddr          string     `gorm:"column:admin_addr"`
	AdminToken         string     `gorm:"column:admin_token"`
	LeaseOwner         string     `gorm:"column:lease_owner"`
	LeaseUntil         *time.Time `gorm:"column:lease_until"`
	CreatedAt          time.Time  `gorm:"column:created_at"`
	UpdatedAt          time.Time  `gorm:"column:updated_at"`
}

func (instanceRow) TableName() string { return "instances" }

func fromInstance(in Instance) instanceRow {
	r := instanceRow{
		ID: in.ID, AccountID: in.AccountID, Name: in.Name, SpecCode: in.SpecCode, Remark: in.Remark,
		RetentionHours: in.RetentionHours, FlushMode: in.FlushMode, Desired: string(in.Desired),
		Generation: in.Generation, Status: string(in.Status), StatusReason: in.StatusReason,
		ObservedGeneration: in.ObservedGeneration, Endpoint: in.Endpoint, AdminAddr: in.AdminAddr,
		AdminToken: in.AdminToken, LeaseOwner: in.LeaseOwner,
		CreatedAt: in.CreatedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC(),
	}
	if !in.LeaseUntil.IsZero() {
		u := in.LeaseUntil.UTC()
		r.LeaseUntil = &u
	}
	return r
}

// Times are read back as UTC: PostgreSQL answers in the session's zone.
func (r instanceRow) toInstance() Instance {
	in := Instance{
		ID: r.ID, AccountID: r.AccountID, Name: r.Name, SpecCode: r.SpecCode, Remark: r.Remark,
		RetentionHours: r.RetentionHours, FlushMode: r.FlushMode, Desired: Desired(r.Desired),
		Generation: r.Generation, Status: Status(r.Status), StatusReason: r.StatusReason,
		ObservedGeneration: r.ObservedGeneration, Endpoint: r.Endpoint, AdminAddr: r.AdminAddr,
		AdminToken: r.AdminToken, LeaseOwner: r.LeaseOwner,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.LeaseUntil != nil {
		in.LeaseUntil = r.LeaseUntil.UTC()
	}
	return in
}

func isPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

func notFound(op string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ListSpecs returns the catalogue in display order.
func (s *Store) ListSpecs(ctx context.Context) ([]Spec, error) {
	var rows []specRow
	if err := s.db.WithContext(ctx).Order("sort_order, code").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list specs: %w", err)
	}
	out := make([]Spec, len(rows))
	for i, r := range rows {
		out[i] = r.toSpec()
	}
	return out, nil
}

// GetSpec finds one spec by code; an unknown code is ErrNotFound.
func (s *Store) GetSpec(ctx context.Context, code string) (Spec, error) {
	var r specRow
	if err := s.db.WithContext(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return Spec{}, notFound("get spec", err)
	}
	return r.toSpec(), nil
}

// lockAccount serialises instance creation per account for the rest of tx,
// so that two concurrent creates cannot both pass the quota check. On
// PostgreSQL that is SELECT ... FOR UPDATE on the account row; SQLite
// connections begin transactions IMMEDIATE (migrations.Open), which already
// holds the database's write lock.
func lockAccount(tx *gorm.DB, accountID string) error {
	if !isPostgres(tx) {
		return nil
	}
	var id string
	err := tx.Table("accounts").Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ?", accountID).Take(&id).Error
	if err != nil {
		return notFound("lock account", err)
	}
	return nil
}

// CreateInstance inserts in unless its account already has max instances
// that are not being deleted (ErrQuotaExceeded).
func (s *Store) CreateInstance(ctx context.Context, in Instance, max int) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockAccount(tx, in.AccountID); err != nil {
			return err
		}
		var n int64
		err := tx.Model(&instanceRow{}).Where("account_id = ? AND desired <> ?", in.AccountID, string(DesiredDeleted)).Count(&n).Error
		if err != nil {
			return fmt.Errorf("count instances: %w", err)
		}
		if n >= int64(max) {
			return ErrQuotaExceeded
		}
		r := fromInstance(in)
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("insert instance: %w", err)
		}
		return nil
	})
}

// GetInstance loads one instance of the account.
func (s *Store) GetInstance(ctx context.Context, accountID, id string) (Instance, error) {
	var r instanceRow
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&r).Error; err != nil {
		return Instance{}, notFound("get instance", err)
	}
	return r.toInstance(), nil
}

// ListInstances returns the account's instances ordered by ID, those after
// afterID, at most limit of them.
func (s *Store) ListInstances(ctx context.Context, accountID, afterID string, limit int) ([]Instance, error) {
	q := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if afterID != "" {
		q = q.Where("id > ?", afterID)
	}
	var rows []instanceRow
	if err := q.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]Instance, len(rows))
	for i, r := range rows {
		out[i] = r.toInstance()
	}
	return out, nil
}

// UpdateInstance loads the instance with its row locked, lets fn change the
// user-owned fields (name, remark, spec, retention, flush mode, desired,
// generation, status, status reason, updated_at) and saves them. The columns
// the reconciler owns (observed generation, endpoint, admin address, lease)
// are never written here. fn's error aborts the change.
func (s *Store) UpdateInstance(ctx context.Context, accountID, id string, fn func(*Instance) error) (Instance, error) {
	var out Instance
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("account_id = ? AND id = ?", accountID, id)
		if isPostgres(tx) {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var r instanceRow
		if err := q.Take(&r).Error; err != nil {
			return notFound("get instance", err)
		}
		in := r.toInstance()
		if err := fn(&in); err != nil {
			return err
		}
		err := tx.Model(&instanceRow{}).Where("account_id = ? AND id = ?", accountID, id).Updates(map[string]any{
			"name": in.Name, "remark": in.Remark, "spec_code": in.SpecCode,
			"retention_hours": in.RetentionHours, "flush_mode": in.FlushMode,
			"desired": string(in.Desired), "generation": in.Generation,
			"status": string(in.Status), "status_reason": in.StatusReason,
			"updated_at": in.UpdatedAt.UTC(),
		}).Error
		if err != nil {
			return fmt.Errorf("update instance: %w", err)
		}
		out = in
		return nil
	})
	return out, err
}
