// Package audit records who did what in an account: one event per mutating
// API call, with the caller, source and result, and lists them back per account.
package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Event is one audited action.
type Event struct {
	ID         string    `gorm:"primaryKey"`
	AccountID  string    `gorm:"column:account_id"`
	ActorID    string    `gorm:"column:actor_id"`
	ActorEmail string    `gorm:"column:actor_email"`
	Action     string    `gorm:"column:action"`
	Resource   string    `gorm:"column:resource"`
	StatusCode int       `gorm:"column:status_code"`
	Result     string    `gorm:"column:result"` // "success" or "failure"
	SourceIP   string    `gorm:"column:source_ip"`
	UserAgent  string    `gorm:"column:user_agent"`
	RequestID  string    `gorm:"column:request_id"`
	CreatedAt  time.Time `gorm:"column:created_at"`
}

func (Event) TableName() string { return "audit_events" }

// Filter narrows a listing. Events come newest first; BeforeID continues a
// previous page (ids are UUIDv7, so they sort by time).
type Filter struct {
	Actor    string // actor id or email, exact
	Action   string // exact
	Resource string // prefix
	Start    *time.Time
	End      *time.Time
	BeforeID string
	Limit    int
}

// Store keeps audit events in the control-plane database.
type Store struct {
	db  *gorm.DB
	now func() time.Time
}

func NewStore(db *gorm.DB) *Store { return &Store{db: db, now: time.Now} }

// Record saves e, filling in its id and time.
func (s *Store) Record(ctx context.Context, e Event) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new audit event id: %w", err)
	}
	e.ID = id.String()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now().UTC()
	}
	// User agents are attacker-controlled; keep the row bounded.
	if len(e.UserAgent) > 512 {
		e.UserAgent = e.UserAgent[:512]
	}
	if err := s.db.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}

// List returns up to f.Limit events of one account, newest first.
func (s *Store) List(ctx context.Context, accountID string, f Filter) ([]Event, error) {
	q := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if f.Actor != "" {
		q = q.Where("actor_id = ? OR actor_email = ?", f.Actor, strings.ToLower(f.Actor))
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Resource != "" {
		q = q.Where("resource LIKE ? ESCAPE '\\'", escapeLike(f.Resource)+"%")
	}
	if f.Start != nil {
		q = q.Where("created_at >= ?", f.Start.UTC())
	}
	if f.End != nil {
		q = q.Where("created_at < ?", f.End.UTC())
	}
	if f.BeforeID != "" {
		q = q.Where("id < ?", f.BeforeID)
	}
	var events []Event
	if err := q.Order("id DESC").Limit(f.Limit).Find(&events).Error; err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return events, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
