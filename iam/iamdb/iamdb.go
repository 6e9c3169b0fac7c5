// Package iamdb implements iam.Store with gorm on PostgreSQL and SQLite,
// over the tables of migrations/*/0000{1,2,3}_*.sql.
package iamdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orbitmq/orbit/iam"
)

// Store is the gorm implementation of iam.Store.
type Store struct {
	db *gorm.DB
}

var _ iam.Store = (*Store)(nil)

// New returns a Store over db, which must be migrated (migrations.Up).
func New(db *gorm.DB) *Store { return &Store{db: db} }

func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

func isPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// notFound turns gorm's "no row" into iam.ErrNotFound and wraps the rest.
func notFound(op string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", op, iam.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isUniqueViolation recognises a unique-index violation on either dialect
// through the dialector's own error translator (pgconn code 23505, SQLite
// SQLITE_CONSTRAINT_UNIQUE), so it works whether or not the handle was
// opened with gorm.Config.TranslateError. The translators only look at the
// outermost error, hence the walk down the wrap chain.
func isUniqueViolation(db *gorm.DB, err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	tr, ok := db.Dialector.(gorm.ErrorTranslator)
	if !ok {
		return false
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Is(tr.Translate(e), gorm.ErrDuplicatedKey) {
			return true
		}
	}
	return false
}

// lockAccount takes a write lock on the account row for the rest of tx, so
// that user changes checking "is there another owner?" run one at a time per
// account. On PostgreSQL that is SELECT ... FOR UPDATE. SQLite locks the
// whole file for writing; a no-op write as the first statement takes that
// lock now rather than at the first real write, when a concurrent
// transaction could already have changed what this one read.
func lockAccount(tx *gorm.DB, accountID string) error {
	if isPostgres(tx) {
		var a accountModel
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ?", accountID).Take(&a).Error
		if err != nil {
			return notFound("lock account", err)
		}
		return nil
	}
	res := tx.Exec("UPDATE accounts SET name = name WHERE id = ?", accountID)
	if res.Error != nil {
		return fmt.Errorf("lock account: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("lock account: %w", iam.ErrNotFound)
	}
	return nil
}

func limit(q *gorm.DB, opt iam.ListOptions) *gorm.DB {
	if opt.AfterID != "" {
		q = q.Where("id > ?", opt.AfterID)
	}
	q = q.Order("id")
	if opt.Limit > 0 {
		q = q.Limit(opt.Limit)
	}
	return q
}

// CreateAccount inserts the account, its owner and the owner's first refresh
// token in one transaction.
func (s *Store) CreateAccount(ctx context.Context, a iam.Account, owner iam.UserRecord, rt iam.RefreshToken) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		acct := fromAccount(a)
		if err := tx.Create(&acct).Error; err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		if err := insertUser(tx, owner); err != nil {
			return err
		}
		m := fromRefreshToken(rt)
		if err := tx.Create(&m).Error; err != nil {
			return fmt.Errorf("insert refresh token: %w", err)
		}
		return nil
	})
}

func (s *Store) GetAccount(ctx context.Context, accountID string) (iam.Account, error) {
	var m accountModel
	if err := s.db.WithContext(ctx).Where("id = ?", accountID).Take(&m).Error; err != nil {
		return iam.Account{}, notFound("get account", err)
	}
	return m.toAccount(), nil
}

func insertUser(tx *gorm.DB, u iam.UserRecord) error {
	m := fromUser(u)
	if err := tx.Create(&m).Error; err != nil {
		if isUniqueViolation(tx, err) {
			return iam.ErrEmailTaken
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (iam.UserRecord, error) {
	var m userModel
	if err := s.db.WithContext(ctx).Where("email = ?", email).Take(&m).Error; err != nil {
		return iam.UserRecord{}, notFound("get user by email", err)
	}
	return m.toRecord(), nil
}

func (s *Store) GetUser(ctx context.Context, accountID, userID string) (iam.UserRecord, error) {
	var m userModel
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, userID).Take(&m).Error; err != nil {
		return iam.UserRecord{}, notFound("get user", err)
	}
	return m.toRecord(), nil
}

func (s *Store) ListUsers(ctx context.Context, accountID string, opt iam.ListOptions) ([]iam.User, error) {
	var ms []userModel
	if err := limit(s.db.WithContext(ctx).Where("account_id = ?", accountID), opt).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]iam.User, len(ms))
	for i, m := range ms {
		out[i] = m.toUser()
	}
	return out, nil
}

func (s *Store) CreateUser(ctx context.Context, u iam.UserRecord) error {
	return insertUser(s.db.WithContext(ctx), u)
}

func (s *Store) UpdateUser(ctx context.Context, accountID, userID string, fn func(*iam.User) error) (iam.User, error) {
	var out iam.User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockAccount(tx, accountID); err != nil {
			return err
		}
		var m userModel
		if err := tx.Where("account_id = ? AND id = ?", accountID, userID).Take(&m).Error; err != nil {
			return notFound("get user", err)
		}
		u := m.toUser()
		if err := fn(&u); err != nil {
			return err
		}
		if m.Role == string(iam.RoleOwner) && u.Role != iam.RoleOwner {
			if err := requireOtherOwner(tx, accountID, userID); err != nil {
				return err
			}
		}
		err := tx.Model(&userModel{}).Where("account_id = ? AND id = ?", accountID, userID).
			Updates(map[string]any{"name": u.Name, "role": string(u.Role), "updated_at": utc(u.UpdatedAt)}).Error
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		out = u
		return nil
	})
	return out, err
}

func (s *Store) DeleteUser(ctx context.Context, accountID, userID string, check func(iam.User) error) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockAccount(tx, accountID); err != nil {
			return err
		}
		var m userModel
		if err := tx.Where("account_id = ? AND id = ?", accountID, userID).Take(&m).Error; err != nil {
			return notFound("get user", err)
		}
		if err := check(m.toUser()); err != nil {
			return err
		}
		if m.Role == string(iam.RoleOwner) {
			if err := requireOtherOwner(tx, accountID, userID); err != nil {
				return err
			}
		}
		// The schema cascades these deletes, but SQLite only with
		// foreign_keys on; deleting explicitly does not depend on how the
		// connection was opened.
		where := "account_id = ? AND user_id = ?"
		if err := tx.Where(where, accountID, userID).Delete(&refreshTokenModel{}).Error; err != nil {
			return fmt.Errorf("delete refresh tokens: %w", err)
		}
		if err := tx.Where(where, accountID, userID).Delete(&apiTokenModel{}).Error; err != nil {
			return fmt.Errorf("delete api tokens: %w", err)
		}
		if err := tx.Where("account_id = ? AND id = ?", accountID, userID).Delete(&userModel{}).Error; err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return nil
	})
}

// requireOtherOwner fails with ErrLastOwner unless the account has an owner
// besides userID. Callers hold the account lock.
func requireOtherOwner(tx *gorm.DB, accountID, userID string) error {
	var n int64
	err := tx.Model(&userModel{}).Where("account_id = ? AND role = ? AND id <> ?", accountID, string(iam.RoleOwner), userID).Count(&n).Error
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if n == 0 {
		return iam.ErrLastOwner
	}
	return nil
}

func (s *Store) SetPasswordHash(ctx context.Context, accountID, userID, hash string) error {
	res := s.db.WithContext(ctx).Model(&userModel{}).Where("account_id = ? AND id = ?", accountID, userID).
		Update("password_hash", hash)
	if res.Error != nil {
		return fmt.Errorf("set password hash: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set password hash: %w", iam.ErrNotFound)
	}
	return nil
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]iam.SigningKey, error) {
	return listSigningKeys(s.db.WithContext(ctx))
}

func listSigningKeys(db *gorm.DB) ([]iam.SigningKey, error) {
	var ms []signingKeyModel
	if err := db.Where("retired_at IS NULL").Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out := make([]iam.SigningKey, len(ms))
	for i, m := range ms {
		out[i] = m.toSigningKey()
	}
	return out, nil
}

// signingKeysLock is the PostgreSQL advisory lock key that serialises
// UpdateSigningKeys across replicas ("orbit_sk").
const signingKeysLock int64 = 0x6f726269745f736b

func (s *Store) UpdateSigningKeys(ctx context.Context, now time.Time, fn func([]iam.SigningKey) ([]iam.SigningKey, []string, error)) ([]iam.SigningKey, error) {
	var out []iam.SigningKey
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Lock before reading, so two replicas starting together cannot both
		// see "no key" and both create one.
		if isPostgres(tx) {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", signingKeysLock).Error; err != nil {
				return fmt.Errorf("lock signing keys: %w", err)
			}
		} else if err := tx.Exec("UPDATE signing_keys SET algorithm = algorithm WHERE id = ''").Error; err != nil {
			return fmt.Errorf("lock signing keys: %w", err) // see lockAccount
		}
		keys, err := listSigningKeys(tx)
		if err != nil {
			return err
		}
		add, retire, err := fn(keys)
		if err != nil {
			return err
		}
		for _, k := range add {
			m := fromSigningKey(k)
			if err := tx.Create(&m).Error; err != nil {
				return fmt.Errorf("insert signing key: %w", err)
			}
		}
		if len(retire) > 0 {
			err := tx.Model(&signingKeyModel{}).Where("id IN ? AND retired_at IS NULL", retire).Update("retired_at", utc(now)).Error
			if err != nil {
				return fmt.Errorf("retire signing keys: %w", err)
			}
		}
		out, err = listSigningKeys(tx)
		return err
	})
	return out, err
}
