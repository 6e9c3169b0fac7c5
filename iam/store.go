package iam

import (
	"context"
	"time"
)

// UserRecord is a User as the Store keeps it, with the password hash that
// never leaves this package's callers through the public API.
type UserRecord struct {
	User
	PasswordHash string
}

// RefreshToken is one stored refresh token. Only the SHA-256 of the secret
// is kept. Tokens minted from one login share a FamilyID.
type RefreshToken struct {
	ID        string
	FamilyID  string
	UserID    string
	AccountID string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// APITokenRecord is an APIToken with its stored hash and revocation time.
type APITokenRecord struct {
	APIToken
	Hash      []byte
	RevokedAt *time.Time
}

// SigningKey is a stored JWT signing key. PrivateKey is the Ed25519 seed.
type SigningKey struct {
	ID         string
	Algorithm  string
	PrivateKey []byte
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// Store is the persistence the service needs; iam/iamdb implements it with gorm.
//
// Every method that reads tenant data takes the account ID and answers
// ErrNotFound for rows of other accounts. The exceptions are the lookups that
// establish identity in the first place: by login email and by token hash.
// Methods that change several rows do so atomically.
type Store interface {
	// CreateAccount inserts an account, its first user and that user's first
	// refresh token in one transaction. A taken email is ErrEmailTaken.
	CreateAccount(ctx context.Context, a Account, owner UserRecord, rt RefreshToken) error
	GetAccount(ctx context.Context, accountID string) (Account, error)

	// GetUserByEmail finds a user by lower-cased email in any account.
	GetUserByEmail(ctx context.Context, email string) (UserRecord, error)
	GetUser(ctx context.Context, accountID, userID string) (UserRecord, error)
	// ListUsers returns users ordered by ID, after opt.AfterID, at most opt.Limit.
	ListUsers(ctx context.Context, accountID string, opt ListOptions) ([]User, error)
	// CreateUser inserts a user; a taken email is ErrEmailTaken.
	CreateUser(ctx context.Context, u UserRecord) error
	// UpdateUser loads the user while holding the account's write lock, lets
	// fn change Name, Role and UpdatedAt, and saves the result. fn's error
	// aborts the change. Demoting the account's last owner is ErrLastOwner.
	UpdateUser(ctx context.Context, accountID, userID string, fn func(*User) error) (User, error)
	// DeleteUser deletes the user with their refresh and API tokens, after
	// check accepts it, under the account's write lock. Deleting the last
	// owner is ErrLastOwner.
	DeleteUser(ctx context.Context, accountID, userID string, check func(User) error) error
	// SetPasswordHash replaces a user's password hash (re-hash on login).
	SetPasswordHash(ctx context.Context, accountID, userID, hash string) error

	CreateRefreshToken(ctx context.Context, rt RefreshToken) error
	// RotateRefreshToken atomically marks the token with this hash used and
	// inserts next into the same family (next's FamilyID, UserID and
	// AccountID are taken from the old token); it returns the stored next.
	// Unknown, expired (at now) or unused revoked tokens are
	// ErrUnauthenticated. A token already used, including by a concurrent
	// call that won the race, revokes its whole family and is
	// ErrRefreshReused.
	RotateRefreshToken(ctx context.Context, hash []byte, now time.Time, next RefreshToken) (RefreshToken, error)
	// RevokeRefreshFamily revokes every token in the family of the token
	// with this hash. An unknown hash is not an error.
	RevokeRefreshFamily(ctx context.Context, hash []byte, now time.Time) error

	CreateAPIToken(ctx context.Context, t APITokenRecord) error
	// GetAPITokenByHash finds a token, revoked or not, by the hash of its secret.
	GetAPITokenByHash(ctx context.Context, hash []byte) (APITokenRecord, error)
	GetAPIToken(ctx context.Context, accountID, tokenID string) (APITokenRecord, error)
	// ListAPITokens returns one user's unrevoked tokens ordered by ID.
	ListAPITokens(ctx context.Context, accountID, userID string, opt ListOptions) ([]APIToken, error)
	// RevokeAPIToken revokes an unrevoked token; otherwise ErrNotFound.
	RevokeAPIToken(ctx context.Context, accountID, tokenID string, now time.Time) error
	TouchAPIToken(ctx context.Context, accountID, tokenID string, now time.Time) error

	// ListSigningKeys returns the unretired signing keys.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKeys calls fn with the unretired keys while holding a lock
	// that serialises it with every other UpdateSigningKeys, in this process
	// or another replica, then inserts add and retires the keys whose IDs are
	// in retire (at now). It returns the unretired keys afterwards.
	UpdateSigningKeys(ctx context.Context, now time.Time, fn func(keys []SigningKey) (add []SigningKey, retire []string, err error)) ([]SigningKey, error)
}
