package iamdb

import (
	"time"

	"github.com/orbitmq/orbit/iam"
)

// The models mirror migrations/*/0000{1,2,3}_*.sql column for column. They
// are never AutoMigrated: the SQL files own the schema.

type accountModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (accountModel) TableName() string { return "accounts" }

type userModel struct {
	ID           string    `gorm:"column:id;primaryKey"`
	AccountID    string    `gorm:"column:account_id"`
	Email        string    `gorm:"column:email"`
	Name         string    `gorm:"column:name"`
	Role         string    `gorm:"column:role"`
	PasswordHash string    `gorm:"column:password_hash"`
	CreatedAt    time.Time `gorm:"column:created_at"`
	UpdatedAt    time.Time `gorm:"column:updated_at"`
}

func (userModel) TableName() string { return "users" }

type signingKeyModel struct {
	ID         string     `gorm:"column:id;primaryKey"`
	Algorithm  string     `gorm:"column:algorithm"`
	PrivateKey []byte     `gorm:"column:private_key"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	RetiredAt  *time.Time `gorm:"column:retired_at"`
}

func (signingKeyModel) TableName() string { return "signing_keys" }

type refreshTokenModel struct {
	ID        string     `gorm:"column:id;primaryKey"`
	FamilyID  string     `gorm:"column:family_id"`
	UserID    string     `gorm:"column:user_id"`
	AccountID string     `gorm:"column:account_id"`
	TokenHash []byte     `gorm:"column:token_hash"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	UsedAt    *time.Time `gorm:"column:used_at"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
}

func (refreshTokenModel) TableName() string { return "refresh_tokens" }

type apiTokenModel struct {
	ID         string     `gorm:"column:id;primaryKey"`
	AccountID  string     `gorm:"column:account_id"`
	UserID     string     `gorm:"column:user_id"`
	Name       string     `gorm:"column:name"`
	Prefix     string     `gorm:"column:prefix"`
	TokenHash  []byte     `gorm:"column:token_hash"`
	Role       string     `gorm:"column:role"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (apiTokenModel) TableName() string { return "api_tokens" }

// Times are written in UTC so both dialects store the same instant the same
// way, and read back as UTC because PostgreSQL answers in the session zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromAccount(a iam.Account) accountModel {
	return accountModel{ID: a.ID, Name: a.Name, CreatedAt: utc(a.CreatedAt)}
}

func (m accountModel) toAccount() iam.Account {
	return iam.Account{ID: m.ID, Name: m.Name, CreatedAt: utc(m.CreatedAt)}
}

func fromUser(u iam.UserRecord) userModel {
	return userModel{
		ID: u.ID, AccountID: u.AccountID, Email: u.Email, Name: u.Name, Role: string(u.Role),
		PasswordHash: u.PasswordHash, CreatedAt: utc(u.CreatedAt), UpdatedAt: utc(u.UpdatedAt),
	}
}

func (m userModel) toUser() iam.User {
	return iam.User{
		ID: m.ID, AccountID: m.AccountID, Email: m.Email, Name: m.Name, Role: iam.Role(m.Role),
		CreatedAt: utc(m.CreatedAt), UpdatedAt: utc(m.UpdatedAt),
	}
}

func (m userModel) toRecord() iam.UserRecord {
	return iam.UserRecord{User: m.toUser(), PasswordHash: m.PasswordHash}
}

func fromSigningKey(k iam.SigningKey) signingKeyModel {
	return signingKeyModel{ID: k.ID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, CreatedAt: utc(k.CreatedAt), RetiredAt: utcPtr(k.RetiredAt)}
}

func (m signingKeyModel) toSigningKey() iam.SigningKey {
	return iam.SigningKey{ID: m.ID, Algorithm: m.Algorithm, PrivateKey: m.PrivateKey, CreatedAt: utc(m.CreatedAt), RetiredAt: utcPtr(m.RetiredAt)}
}

func fromRefreshToken(t iam.RefreshToken) refreshTokenModel {
	return refreshTokenModel{
		ID: t.ID, FamilyID: t.FamilyID, UserID: t.UserID, AccountID: t.AccountID, TokenHash: t.Hash,
		CreatedAt: utc(t.CreatedAt), ExpiresAt: utc(t.ExpiresAt), UsedAt: utcPtr(t.UsedAt), RevokedAt: utcPtr(t.RevokedAt),
	}
}

func (m refreshTokenModel) toRefreshToken() iam.RefreshToken {
	return iam.RefreshToken{
		ID: m.ID, FamilyID: m.FamilyID, UserID: m.UserID, AccountID: m.AccountID, Hash: m.TokenHash,
		CreatedAt: utc(m.CreatedAt), ExpiresAt: utc(m.ExpiresAt), UsedAt: utcPtr(m.UsedAt), RevokedAt: utcPtr(m.RevokedAt),
	}
}

func fromAPIToken(t iam.APITokenRecord) apiTokenModel {
	return apiTokenModel{
		ID: t.ID, AccountID: t.AccountID, UserID: t.UserID, Name: t.Name, Prefix: t.Prefix, TokenHash: t.Hash,
		Role: string(t.Role), CreatedAt: utc(t.CreatedAt), ExpiresAt: utcPtr(t.ExpiresAt),
		LastUsedAt: utcPtr(t.LastUsedAt), RevokedAt: utcPtr(t.RevokedAt),
	}
}

func (m apiTokenModel) toAPIToken() iam.APIToken {
	return iam.APIToken{
		ID: m.ID, AccountID: m.AccountID, UserID: m.UserID, Name: m.Name, Prefix: m.Prefix, Role: iam.Role(m.Role),
		CreatedAt: utc(m.CreatedAt), ExpiresAt: utcPtr(m.ExpiresAt), LastUsedAt: utcPtr(m.LastUsedAt),
	}
}

func (m apiTokenModel) toRecord() iam.APITokenRecord {
	return iam.APITokenRecord{APIToken: m.toAPIToken(), Hash: m.TokenHash, RevokedAt: utcPtr(m.RevokedAt)}
}
