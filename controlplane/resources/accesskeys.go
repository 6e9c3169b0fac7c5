package resources

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/secrets"
	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/iam"
	iamacl "github.com/orbitmq/orbit/iam/acl"
)

// Access key errors; match with errors.Is.
var (
	ErrAccessKeyNotFound = errors.New("access key not found")
	// ErrSecretUnreadable: a stored secret does not decrypt under any
	// configured master key (a key was changed, dropped too early or lost).
	ErrSecretUnreadable = errors.New("stored secret key does not decrypt under the master key")
)

// Access key limits.
const (
	MaxPermissions = 100
	MaxSourceIPs   = 50
	accessKeyLen   = 20 // random characters after "AK"
	secretKeyLen   = 40
)

// AccessKey is a data-plane credential of an instance. SecretKey is set only
// in the answer to CreateAccessKey: it is shown once.
type AccessKey struct {
	InstanceID  string
	AccessKey   string
	SecretKey   string
	Enabled     bool
	Permissions []acl.Permission
	SourceIPs   []string
	Remark      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AccessKeyFilter pages a list by access key.
type AccessKeyFilter struct {
	After string
	Limit int
}

type accessKeyRow struct {
	InstanceID       string    `gorm:"column:instance_id;primaryKey"`
	AccessKey        string    `gorm:"column:access_key;primaryKey"`
	SecretCiphertext []byte    `gorm:"column:secret_ciphertext"`
	Nonce            []byte    `gorm:"column:nonce"`
	Enabled          bool      `gorm:"column:enabled"`
	Permissions      string    `gorm:"column:permissions"`
	SourceIPs        string    `gorm:"column:source_ips"`
	Remark           string    `gorm:"column:remark"`
	CreatedAt        time.Time `gorm:"column:created_at"`
	UpdatedAt        time.Time `gorm:"column:updated_at"`
}

func (accessKeyRow) TableName() string { return "access_keys" }

// AccessKeyStore keeps access keys, their secrets sealed, with gorm.
type AccessKeyStore struct {
	db *gorm.DB
}

// NewAccessKeyStore returns a store over db, which must be migrated.
func NewAccessKeyStore(db *gorm.DB) *AccessKeyStore { return &AccessKeyStore{db: db} }

func (s *AccessKeyStore) insert(ctx context.Context, r accessKeyRow) error {
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		return fmt.Errorf("insert access key: %w", err)
	}
	return nil
}

func (s *AccessKeyStore) get(ctx context.Context, instanceID, ak string) (accessKeyRow, error) {
	var r accessKeyRow
	err := s.db.WithContext(ctx).Where("instance_id = ? AND access_key = ?", instanceID, ak).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, ErrAccessKeyNotFound
	}
	if err != nil {
		return r, fmt.Errorf("get access key: %w", err)
	}
	return r, nil
}

func (s *AccessKeyStore) list(ctx context.Context, instanceID string, f AccessKeyFilter) ([]accessKeyRow, error) {
	q := s.db.WithContext(ctx).Where("instance_id = ?", instanceID).Order("access_key")
	if f.After != "" {
		q = q.Where("access_key > ?", f.After)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []accessKeyRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list access keys: %w", err)
	}
	return rows, nil
}

func (s *AccessKeyStore) save(ctx context.Context, r accessKeyRow) error {
	res := s.db.WithContext(ctx).Model(&accessKeyRow{}).Where("instance_id = ? AND access_key = ?", r.InstanceID, r.AccessKey).
		Updates(map[string]any{"enabled": r.Enabled, "permissions": r.Permissions, "source_ips": r.SourceIPs, "remark": r.Remark, "updated_at": r.UpdatedAt})
	if res.Error != nil {
		return fmt.Errorf("save access key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrAccessKeyNotFound
	}
	return nil
}

func (s *AccessKeyStore) delete(ctx context.Context, instanceID, ak string) error {
	if err := s.db.WithContext(ctx).Where("instance_id = ? AND access_key = ?", instanceID, ak).Delete(&accessKeyRow{}).Error; err != nil {
		return fmt.Errorf("delete access key: %w", err)
	}
	return nil
}

// sealedPage returns up to limit rows after (instanceID, ak) in key order,
// with only their keys and sealed secrets.
func (s *AccessKeyStore) sealedPage(ctx context.Context, instanceID, ak string, limit int) ([]accessKeyRow, error) {
	var rows []accessKeyRow
	err := s.db.WithContext(ctx).Select("instance_id", "access_key", "secret_ciphertext", "nonce").
		Where("instance_id > ? OR (instance_id = ? AND access_key > ?)", instanceID, instanceID, ak).
		Order("instance_id").Order("access_key").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list sealed secrets: %w", err)
	}
	return rows, nil
}

func (s *AccessKeyStore) count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&accessKeyRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count access keys: %w", err)
	}
	return n, nil
}

// reseal replaces the sealed secret of r by (ct, nonce) only if the row
// still holds the one r was read with; false means it changed or is gone.
func (s *AccessKeyStore) reseal(ctx context.Context, r accessKeyRow, ct, nonce []byte) (bool, error) {
	res := s.db.WithContext(ctx).Model(&accessKeyRow{}).
		Where("instance_id = ? AND access_key = ? AND secret_ciphertext = ? AND nonce = ?", r.InstanceID, r.AccessKey, r.SecretCiphertext, r.Nonce).
		Updates(map[string]any{"secret_ciphertext": ct, "nonce": nonce})
	if res.Error != nil {
		return false, fmt.Errorf("reseal access key %s: %w", r.AccessKey, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// AccessKeyConfig tunes the AccessKeyService.
type AccessKeyConfig struct {
	// Box seals the secret keys at rest; required.
	Box *secrets.Box
	// Connect opens an instance's node; nil uses Connect.
	Connect Connector
	Now     func() time.Time
}

// AccessKeyService manages the access keys of instances for the REST API
// and pushes every change to the instance's node.
type AccessKeyService struct {
	instanceAccess
	store *AccessKeyStore
	box   *secrets.Box
}

// NewAccessKeyService returns an AccessKeyService. A nil log discards.
func NewAccessKeyService(store *AccessKeyStore, insts *instances.Store, cfg AccessKeyConfig, log *slog.Logger) *AccessKeyService {
	return &AccessKeyService{instanceAccess: newInstanceAccess(insts, cfg.Connect, cfg.Now, log), store: store, box: cfg.Box}
}

// AccessKeyInput describes a new access key.
type AccessKeyInput struct {
	Remark      string
	Permissions []acl.Permission
	SourceIPs   []string
}

// AccessKeyUpdate changes the fields it carries.
type AccessKeyUpdate struct {
	Enabled     *bool
	Permissions *[]acl.Permission
	SourceIPs   *[]string
	Remark      *string
}

// checkPermissions validates with the node's own rules (acl.AccessKey.Validate),
// one permission at a time so that the error names the field.
func checkPermissions(ps []acl.Permission) error {
	if len(ps) == 0 {
		return invalid("permissions", "at least one permission is required")
	}
	if len(ps) > MaxPermissions {
		return invalid("permissions", fmt.Sprintf("at most %d permissions", MaxPermissions))
	}
	for i, p := range ps {
		k := acl.AccessKey{AccessKey: "AK", SecretKey: "SK", Permissions: []acl.Permission{p}}
		if err := k.Validate(); err != nil {
			return invalid(fmt.Sprintf("permissions[%d]", i), aclMessage(err))
		}
	}
	return nil
}

func checkSourceIPs(ips []string) error {
	if len(ips) > MaxSourceIPs {
		return invalid("sourceIps", fmt.Sprintf("at most %d entries", MaxSourceIPs))
	}
	for i, ip := range ips {
		k := acl.AccessKey{AccessKey: "AK", SecretKey: "SK", SourceCIDRs: []string{ip}}
		if err := k.Validate(); err != nil {
			return invalid(fmt.Sprintf("sourceIps[%d]", i), aclMessage(err))
		}
	}
	return nil
}

// aclMessage strips the node package's prefixes from a validation error.
func aclMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": ")
	msg = strings.TrimPrefix(msg, "permission 0: ")
	return msg
}

// randomString returns n characters of alphabet from crypto/rand, without bias.
func randomString(n int, alphabet string) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func aad(instanceID, ak string) []byte { return []byte(instanceID + "/" + ak) }

func toRow(k AccessKey) (accessKeyRow, error) {
	perms, err := json.Marshal(k.Permissions)
	if err != nil {
		return accessKeyRow{}, fmt.Errorf("encode permissions: %w", err)
	}
	ips := k.SourceIPs
	if ips == nil {
		ips = []string{}
	}
	src, err := json.Marshal(ips)
	if err != nil {
		return accessKeyRow{}, fmt.Errorf("encode source ips: %w", err)
	}
	return accessKeyRow{InstanceID: k.InstanceID, AccessKey: k.AccessKey, Enabled: k.Enabled, Permissions: string(perms),
		SourceIPs: string(src), Remark: k.Remark, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}, nil
}

func fromRow(r accessKeyRow) (AccessKey, error) {
	k := AccessKey{InstanceID: r.InstanceID, AccessKey: r.AccessKey, Enabled: r.Enabled, Remark: r.Remark,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Permissions: []acl.Permission{}, SourceIPs: []string{}}
	if err := json.Unmarshal([]byte(r.Permissions), &k.Permissions); err != nil {
		return AccessKey{}, fmt.Errorf("decode permissions of %s: %w", r.AccessKey, err)
	}
	if err := json.Unmarshal([]byte(r.SourceIPs), &k.SourceIPs); err != nil {
		return AccessKey{}, fmt.Errorf("decode source ips of %s: %w", r.AccessKey, err)
	}
	return k, nil
}

// secret opens the sealed secret of r.
func (s *AccessKeyService) secret(r accessKeyRow) (string, error) {
	pt, err := s.box.Open(r.SecretCiphertext, r.Nonce, aad(r.InstanceID, r.AccessKey))
	if err != nil {
		return "", fmt.Errorf("%w: access key %s: %w", ErrSecretUnreadable, r.AccessKey, err)
	}
	return string(pt), nil
}

// CreateAccessKey generates a key pair, records it with the secret sealed
// and puts it on the node, which must be RUNNING. If the node does not take
// it, the row is removed again (ErrNode). The answer carries the secret key:
// it is never returned again.
func (s *AccessKeyService) CreateAccessKey(ctx context.Context, p iam.Principal, instanceID string, in AccessKeyInput) (AccessKey, error) {
	if err := checkPermissions(in.Permissions); err != nil {
		return AccessKey{}, err
	}
	if err := checkSourceIPs(in.SourceIPs); err != nil {
		return AccessKey{}, err
	}
	in.Remark = strings.TrimSpace(in.Remark)
	if err := checkRemark(in.Remark); err != nil {
		return AccessKey{}, err
	}
	inst, err := s.authorized(ctx, p, iamacl.InstancesWrite, instanceID)
	if err != nil {
		return AccessKey{}, err
	}
	if err := running(inst); err != nil {
		return AccessKey{}, err
	}
	suffix, err := randomString(accessKeyLen, upperAlnum)
	if err != nil {
		return AccessKey{}, err
	}
	sk, err := randomString(secretKeyLen, alnum)
	if err != nil {
		return AccessKey{}, err
	}
	now := s.clock()
	k := AccessKey{InstanceID: inst.ID, AccessKey: "AK" + suffix, Enabled: true, Permissions: in.Permissions,
		SourceIPs: in.SourceIPs, Remark: in.Remark, CreatedAt: now, UpdatedAt: now}
	if k.SourceIPs == nil {
		k.SourceIPs = []string{}
	}
	r, err := toRow(k)
	if err != nil {
		return AccessKey{}, err
	}
	if r.SecretCiphertext, r.Nonce, err = s.box.Seal([]byte(sk), aad(k.InstanceID, k.AccessKey)); err != nil {
		return AccessKey{}, fmt.Errorf("seal secret: %w", err)
	}
	if err := s.store.insert(ctx, r); err != nil {
		return AccessKey{}, err
	}
	if err := pushOrUndo(ctx, s.log,
		func() error { return s.withNode(inst, func(n Node) error { return putKey(ctx, n, k, sk) }) },
		func(ctx context.Context) error { return s.store.delete(ctx, inst.ID, k.AccessKey) },
		"access key", "instance_id", inst.ID, "access_key", k.AccessKey); err != nil {
		return AccessKey{}, err
	}
	s.log.Info("access key created", "account_id", p.AccountID, "instance_id", inst.ID, "access_key", k.AccessKey, "actor_id", p.UserID)
	k.SecretKey = sk
	return k, nil
}

// ListAccessKeys lists the instance's keys, without secrets.
func (s *AccessKeyService) ListAccessKeys(ctx context.Context, p iam.Principal, instanceID string, f AccessKeyFilter) ([]AccessKey, error) {
	if _, err := s.authorized(ctx, p, iamacl.InstancesRead, instanceID); err != nil {
		return nil, err
	}
	f.Limit = listLimit(f.Limit)
	rows, err := s.store.list(ctx, instanceID, f)
	if err != nil {
		return nil, err
	}
	out := make([]AccessKey, 0, len(rows))
	for _, r := range rows {
		k, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// GetAccessKey returns one key, without its secret.
func (s *AccessKeyService) GetAccessKey(ctx context.Context, p iam.Principal, instanceID, ak string) (AccessKey, error) {
	if _, err := s.authorized(ctx, p, iamacl.InstancesRead, instanceID); err != nil {
		return AccessKey{}, err
	}
	r, err := s.store.get(ctx, instanceID, ak)
	if err != nil {
		return AccessKey{}, err
	}
	return fromRow(r)
}

// UpdateAccessKey changes a key and puts the result on the node first (the
// instance must be RUNNING); if the node does not take it nothing changes.
func (s *AccessKeyService) UpdateAccessKey(ctx context.Context, p iam.Principal, instanceID, ak string, in AccessKeyUpdate) (AccessKey, error) {
	inst, err := s.authorized(ctx, p, iamacl.InstancesWrite, instanceID)
	if err != nil {
		return AccessKey{}, err
	}
	r, err := s.store.get(ctx, instanceID, ak)
	if err != nil {
		return AccessKey{}, err
	}
	k, err := fromRow(r)
	if err != nil {
		return AccessKey{}, err
	}
	if in.Enabled != nil {
		k.Enabled = *in.Enabled
	}
	if in.Permissions != nil {
		if err := checkPermissions(*in.Permissions); err != nil {
			return AccessKey{}, err
		}
		k.Permissions = *in.Permissions
	}
	if in.SourceIPs != nil {
		if err := checkSourceIPs(*in.SourceIPs); err != nil {
			return AccessKey{}, err
		}
		k.SourceIPs = *in.SourceIPs
	}
	if in.Remark != nil {
		rm := strings.TrimSpace(*in.Remark)
		if err := checkRemark(rm); err != nil {
			return AccessKey{}, err
		}
		k.Remark = rm
	}
	if err := running(inst); err != nil {
		return AccessKey{}, err
	}
	sk, err := s.secret(r)
	if err != nil {
		return AccessKey{}, err
	}
	if err := s.withNode(inst, func(n Node) error { return putKey(ctx, n, k, sk) }); err != nil {
		return AccessKey{}, err
	}
	k.UpdatedAt = s.clock()
	nr, err := toRow(k)
	if err != nil {
		return AccessKey{}, err
	}
	if err := s.store.save(ctx, nr); err != nil {
		return AccessKey{}, err
	}
	s.log.Info("access key updated", "account_id", p.AccountID, "instance_id", inst.ID, "access_key", k.AccessKey, "enabled", k.Enabled, "actor_id", p.UserID)
	return k, nil
}

// DeleteAccessKey removes the key from the node (RUNNING), then the row.
func (s *AccessKeyService) DeleteAccessKey(ctx context.Context, p iam.Principal, instanceID, ak string) error {
	inst, err := s.authorized(ctx, p, iamacl.InstancesWrite, instanceID)
	if err != nil {
		return err
	}
	if _, err := s.store.get(ctx, instanceID, ak); err != nil {
		return err
	}
	if err := running(inst); err != nil {
		return err
	}
	err = s.withNode(inst, func(n Node) error {
		if _, err := n.DeleteAccessKey(ctx, &adminpb.DeleteAccessKeyRequest{AccessKey: ak}); err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("%w: delete access key %s: %w", ErrNode, ak, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.store.delete(ctx, instanceID, ak); err != nil {
		return err
	}
	s.log.Info("access key deleted", "account_id", p.AccountID, "instance_id", instanceID, "access_key", ak, "actor_id", p.UserID)
	return nil
}

// AccessKeyRequest is the node's definition of k with secret sk.
func AccessKeyRequest(k AccessKey, sk string) *adminpb.PutAccessKeyRequest {
	return &adminpb.PutAccessKeyRequest{Key: adminpb.AccessKeyOf(acl.AccessKey{
		AccessKey: k.AccessKey, SecretKey: sk, Enabled: k.Enabled, SourceCIDRs: k.SourceIPs, Permissions: k.Permissions,
	})}
}

func putKey(ctx context.Context, n Node, k AccessKey, sk string) error {
	if _, err := n.PutAccessKey(ctx, AccessKeyRequest(k, sk)); err != nil {
		return fmt.Errorf("%w: put access key %s: %w", ErrNode, k.AccessKey, err)
	}
	return nil
}

// KeysToRepush compares the instance's keys in the database with the node's
// and returns those the node lacks or holds with another enabled flag. Keys
// only the node has are left alone. It does no I/O.
func KeysToRepush(db []AccessKey, node []*adminpb.AccessKey) []AccessKey {
	have := make(map[string]bool, len(node))
	for _, k := range node {
		have[k.GetAccessKey()] = k.GetEnabled()
	}
	var out []AccessKey
	for _, k := range db {
		if enabled, ok := have[k.AccessKey]; !ok || enabled != k.Enabled {
			out = append(out, k)
		}
	}
	return out
}

// RepairAccessKeys puts on n the keys of instanceID it lacks or holds with
// another enabled flag (the reconciler's drift step). It returns the keys
// pushed; a key whose push fails is reported in the joined error.
func (s *AccessKeyService) RepairAccessKeys(ctx context.Context, n Node, instanceID string) ([]string, error) {
	rows, err := s.store.list(ctx, instanceID, AccessKeyFilter{})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	resp, err := n.ListAccessKeys(ctx, &adminpb.ListAccessKeysRequest{})
	if err != nil {
		return nil, fmt.Errorf("%w: list access keys: %w", ErrNode, err)
	}
	keys := make([]AccessKey, 0, len(rows))
	byKey := make(map[string]accessKeyRow, len(rows))
	for _, r := range rows {
		k, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		byKey[k.AccessKey] = r
	}
	var pushed []string
	var errs []error
	for _, k := range KeysToRepush(keys, resp.GetKeys()) {
		sk, err := s.secret(byKey[k.AccessKey])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := putKey(ctx, n, k, sk); err != nil {
			errs = append(errs, err)
			continue
		}
		pushed = append(pushed, k.AccessKey)
	}
	return pushed, errors.Join(errs...)
}

// ReencryptResult counts what ReencryptSecrets did.
type ReencryptResult struct {
	Total    int64 // access keys when the pass started
	Checked  int   // access keys read so far
	Resealed int   // sealed anew under the primary master key
	// Changed were changed or deleted by someone else while being resealed
	// and were left alone; another pass picks them up.
	Changed int
	// Unreadable lists "instance/access key" of secrets that open under no
	// configured master key; they were left alone.
	Unreadable []string
}

// ReencryptSecrets seals every stored secret that is not yet sealed under
// the primary master key in the current format anew under it, batch rows
// at a time (each its own statements, no long transaction), and calls
// progress after each batch. Every secret is opened, so a pass without
// Unreadable proves they all open under the configured keys. It is
// idempotent and safe while `orbit serve` replicas run: a row is only
// replaced if it still holds the ciphertext that was read.
func (s *AccessKeyService) ReencryptSecrets(ctx context.Context, batch int, progress func(ReencryptResult)) (ReencryptResult, error) {
	if batch <= 0 {
		batch = 500
	}
	var res ReencryptResult
	total, err := s.store.count(ctx)
	if err != nil {
		return res, err
	}
	res.Total = total
	var lastInst, lastAK string
	for {
		rows, err := s.store.sealedPage(ctx, lastInst, lastAK, batch)
		if err != nil {
			return res, err
		}
		for _, r := range rows {
			res.Checked++
			lastInst, lastAK = r.InstanceID, r.AccessKey
			a := aad(r.InstanceID, r.AccessKey)
			pt, err := s.box.Open(r.SecretCiphertext, r.Nonce, a)
			if err != nil {
				res.Unreadable = append(res.Unreadable, r.InstanceID+"/"+r.AccessKey)
				s.log.Warn("access-key secret unreadable", "instance_id", r.InstanceID, "access_key", r.AccessKey, "err", err)
				continue
			}
			if s.box.Current(r.Nonce) {
				continue
			}
			ct, nonce, err := s.box.Seal(pt, a)
			if err != nil {
				return res, fmt.Errorf("seal secret: %w", err)
			}
			ok, err := s.store.reseal(ctx, r, ct, nonce)
			if err != nil {
				return res, err
			}
			if ok {
				res.Resealed++
			} else {
				res.Changed++
			}
		}
		if progress != nil && len(rows) > 0 {
			progress(res)
		}
		if len(rows) < batch {
			return res, nil
		}
	}
}

// StaleSecrets counts the stored secrets not sealed under the primary
// master key in the current format (sealed under an old key, or written
// before key rotation existed): what ReencryptSecrets would reseal. It reads
// only the headers; it decrypts nothing.
func (s *AccessKeyService) StaleSecrets(ctx context.Context) (int, error) {
	const batch = 1000
	n := 0
	var lastInst, lastAK string
	for {
		rows, err := s.store.sealedPage(ctx, lastInst, lastAK, batch)
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			lastInst, lastAK = r.InstanceID, r.AccessKey
			if !s.box.Current(r.Nonce) {
				n++
			}
		}
		if len(rows) < batch {
			return n, nil
		}
	}
}
