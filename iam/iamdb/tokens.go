package iamdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
)

func (s *Store) CreateRefreshToken(ctx context.Context, rt iam.RefreshToken) error {
	m := fromRefreshToken(rt)
	if err := s.db.WithContext(ctx).Create(&m).Error; err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// errReused carries a detected reuse out of the rotation transaction, which
// is rolled back; the family is then revoked by one statement of its own.
type errReused struct{ family string }

func (e errReused) Error() string { return "refresh token reused" }

// RotateRefreshToken claims the old token with a conditional UPDATE as the
// transaction's first statement. The row lock (PostgreSQL) or write lock
// (SQLite) makes a concurrent rotation of the same token wait for this one
// and then match no row, so exactly one caller wins and the other is
// treated as a reuse.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, now time.Time, next iam.RefreshToken) (iam.RefreshToken, error) {
	var out iam.RefreshToken
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&refreshTokenModel{}).
			Where("token_hash = ? AND used_at IS NULL AND revoked_at IS NULL", hash).
			Update("used_at", utc(now))
		if res.Error != nil {
			return fmt.Errorf("mark refresh token used: %w", res.Error)
		}
		var old refreshTokenModel
		if err := tx.Where("token_hash = ?", hash).Take(&old).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return iam.ErrUnauthenticated
			}
			return fmt.Errorf("load refresh token: %w", err)
		}
		if res.RowsAffected == 0 {
			// A used token presented again is a replay even when its family
			// is already revoked: report it as such.
			if old.UsedAt != nil {
				return errReused{family: old.FamilyID}
			}
			return iam.ErrUnauthenticated // revoked before it was ever used
		}
		// Expiry is checked here, in Go, rather than in the WHERE clause:
		// comparing timestamps in SQL differs between the dialects. Returning
		// the error rolls back the used_at mark.
		if !now.Before(old.ExpiresAt) {
			return iam.ErrUnauthenticated
		}
		next.FamilyID, next.UserID, next.AccountID = old.FamilyID, old.UserID, old.AccountID
		m := fromRefreshToken(next)
		if err := tx.Create(&m).Error; err != nil {
			return fmt.Errorf("insert refresh token: %w", err)
		}
		out = m.toRefreshToken()
		return nil
	})
	var reused errReused
	if errors.As(err, &reused) {
		if err := revokeFamily(s.db.WithContext(ctx), reused.family, now); err != nil {
			return iam.RefreshToken{}, err
		}
		return iam.RefreshToken{}, iam.ErrRefreshReused
	}
	return out, err
}

func revokeFamily(db *gorm.DB, family string, now time.Time) error {
	err := db.Model(&refreshTokenModel{}).Where("family_id = ? AND revoked_at IS NULL", family).
		Update("revoked_at", utc(now)).Error
	if err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

func (s *Store) RevokeRefreshFamily(ctx context.Context, hash []byte, now time.Time) error {
	db := s.db.WithContext(ctx)
	family := db.Model(&refreshTokenModel{}).Select("family_id").Where("token_hash = ?", hash)
	err := db.Model(&refreshTokenModel{}).Where("family_id IN (?) AND revoked_at IS NULL", family).
		Update("revoked_at", utc(now)).Error
	if err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

func (s *Store) CreateAPIToken(ctx context.Context, t iam.APITokenRecord) error {
	m := fromAPIToken(t)
	if err := s.db.WithContext(ctx).Create(&m).Error; err != nil {
		return fmt.Errorf("insert api token: %w", err)
	}
	return nil
}

func (s *Store) GetAPITokenByHash(ctx context.Context, hash []byte) (iam.APITokenRecord, error) {
	var m apiTokenModel
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&m).Error; err != nil {
		return iam.APITokenRecord{}, notFound("get api token", err)
	}
	return m.toRecord(), nil
}

func (s *Store) GetAPIToken(ctx context.Context, accountID, tokenID string) (iam.APITokenRecord, error) {
	var m apiTokenModel
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, tokenID).Take(&m).Error; err != nil {
		return iam.APITokenRecord{}, notFound("get api token", err)
	}
	return m.toRecord(), nil
}

func (s *Store) ListAPITokens(ctx context.Context, accountID, userID string, opt iam.ListOptions) ([]iam.APIToken, error) {
	var ms []apiTokenModel
	q := s.db.WithContext(ctx).Where("account_id = ? AND user_id = ? AND revoked_at IS NULL", accountID, userID)
	if err := limit(q, opt).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out := make([]iam.APIToken, len(ms))
	for i, m := range ms {
		out[i] = m.toAPIToken()
	}
	return out, nil
}

func (s *Store) RevokeAPIToken(ctx context.Context, accountID, tokenID string, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&apiTokenModel{}).
		Where("account_id = ? AND id = ? AND revoked_at IS NULL", accountID, tokenID).
		Update("revoked_at", utc(now))
	if res.Error != nil {
		return fmt.Errorf("revoke api token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("revoke api token: %w", iam.ErrNotFound)
	}
	return nil
}

func (s *Store) TouchAPIToken(ctx context.Context, accountID, tokenID string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&apiTokenModel{}).Where("account_id = ? AND id = ?", accountID, tokenID).
		Update("last_used_at", utc(now)).Error
	if err != nil {
		return fmt.Errorf("touch api token: %w", err)
	}
	return nil
}
