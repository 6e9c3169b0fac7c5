// Package idempotency remembers creates made with an Idempotency-Key so that
// a retried request gets the first response instead of creating twice.
package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

var (
	// ErrInProgress: the first request with this key has not finished yet.
	ErrInProgress = errors.New("a request with this idempotency key is still in progress")
	// ErrMismatch: the key was used before for a different request.
	ErrMismatch = errors.New("idempotency key was used for a different request")
)

// TTL is how long a key is remembered.
const TTL = 24 * time.Hour

type record struct {
	AccountID    string `gorm:"primaryKey;column:account_id"`
	Key          string `gorm:"primaryKey;column:key"`
	Method       string
	Path         string
	RequestHash  []byte
	StatusCode   int
	ResponseBody []byte
	ContentType  string
	CreatedAt    time.Time
	CompletedAt  *time.Time
}

func (record) TableName() string { return "idempotency_keys" }

// Response is a stored outcome to replay.
type Response struct {
	StatusCode  int
	ContentType string
	Body        []byte
}

// Store keeps idempotency keys in the control-plane database.
type Store struct {
	db  *gorm.DB
	now func() time.Time
}

func NewStore(db *gorm.DB) *Store { return &Store{db: db, now: time.Now} }

// Begin claims key for a request. It returns (nil, nil) when the caller should
// go ahead, the stored response when the same request already completed,
// ErrInProgress while the first one runs, and ErrMismatch when the key was
// used with another method, path or body.
func (s *Store) Begin(ctx context.Context, accountID, key, method, path string, requestHash []byte) (*Response, error) {
	now := s.now().UTC()
	db := s.db.WithContext(ctx)
	// Expired keys of this account are cleared first so the insert can reuse the key.
	if err := db.Where("account_id = ? AND created_at < ?", accountID, now.Add(-TTL)).Delete(&record{}).Error; err != nil {
		return nil, fmt.Errorf("expire idempotency keys: %w", err)
	}
	rec := record{AccountID: accountID, Key: key, Method: method, Path: path, RequestHash: requestHash, CreatedAt: now}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
	if res.Error != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil, nil
	}
	var prev record
	if err := db.Where("account_id = ? AND key = ?", accountID, key).Take(&prev).Error; err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	if prev.Method != method || prev.Path != path || !bytes.Equal(prev.RequestHash, requestHash) {
		return nil, ErrMismatch
	}
	if prev.CompletedAt == nil {
		return nil, ErrInProgress
	}
	return &Response{StatusCode: prev.StatusCode, ContentType: prev.ContentType, Body: prev.ResponseBody}, nil
}

// Complete stores the response of a successful request for replay.
func (s *Store) Complete(ctx context.Context, accountID, key string, r Response) error {
	now := s.now().UTC()
	err := s.db.WithContext(ctx).Model(&record{}).
		Where("account_id = ? AND key = ?", accountID, key).
		Updates(map[string]any{"status_code": r.StatusCode, "content_type": r.ContentType, "response_body": r.Body, "completed_at": now}).Error
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// Release forgets a key whose request failed, so a corrected retry may use it.
func (s *Store) Release(ctx context.Context, accountID, key string) error {
	err := s.db.WithContext(ctx).Where("account_id = ? AND key = ? AND completed_at IS NULL", accountID, key).Delete(&record{}).Error
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
