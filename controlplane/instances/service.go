package instances

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/acl"
)

// Config tunes the Service. Zero fields take DefaultConfig's values.
type Config struct {
	// MaxInstancesPerAccount bounds the instances an account may have that
	// are not being deleted.
	MaxInstancesPerAccount int
	Now                    func() time.Time
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{MaxInstancesPerAccount: 5, Now: time.Now}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxInstancesPerAccount == 0 {
		c.MaxInstancesPerAccount = d.MaxInstancesPerAccount
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.MaxInstancesPerAccount < 0 {
		return errors.New("instances config: MaxInstancesPerAccount must be positive")
	}
	return nil
}

// Input bounds. Field names in validation errors are the REST API's JSON names.
const (
	DefaultRetentionHours = 72
	MinRetentionHours     = 1
	MaxRetentionHours     = 720 // 30 days
	DefaultFlushMode      = FlushSync
	maxNameLen            = 64
	maxRemarkLen          = 256

	fieldName      = "instanceName"
	fieldSpecCode  = "specCode"
	fieldRetention = "messageRetentionHours"
	fieldFlushMode = "flushMode"
	fieldRemark    = "remark"
)

// Paging bounds for List.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// Service is the user-facing side of instances: the catalogue and the
// desired state. It never talks to a provisioner; the reconciler does.
type Service struct {
	store *Store
	cfg   Config
	log   *slog.Logger
}

// NewService returns a Service over store. A nil log discards.
func NewService(store *Store, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, cfg: cfg.withDefaults(), log: log}
}

// CreateInput describes a new instance. Zero RetentionHours and empty
// FlushMode take the defaults.
type CreateInput struct {
	Name           string
	SpecCode       string
	RetentionHours int
	FlushMode      string
	Remark         string
}

// UpdateInput changes the fields it carries.
type UpdateInput struct {
	Name           *string
	Remark         *string
	RetentionHours *int
	SpecCode       *string
}

// now is the service clock in UTC at microseconds, what PostgreSQL keeps.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

func authorize(p iam.Principal, a acl.Action) error { return acl.Authorize(string(p.Role), a) }

func invalid(field, msg string) error { return &iam.ValidationError{Field: field, Message: msg} }

// Specs returns the catalogue in display order. Anyone signed in may read it.
func (s *Service) Specs(ctx context.Context) ([]Spec, error) {
	return s.store.ListSpecs(ctx)
}

// Create records a new instance in CREATING, desired RUNNING, generation 1;
// the reconciler provisions it.
func (s *Service) Create(ctx context.Context, p iam.Principal, in CreateInput) (Instance, error) {
	if err := authorize(p, acl.InstancesWrite); err != nil {
		return Instance{}, err
	}
	name := strings.TrimSpace(in.Name)
	if err := checkText(fieldName, name, maxNameLen, true); err != nil {
		return Instance{}, err
	}
	remark := strings.TrimSpace(in.Remark)
	if err := checkText(fieldRemark, remark, maxRemarkLen, false); err != nil {
		return Instance{}, err
	}
	retention := in.RetentionHours
	if retention == 0 {
		retention = DefaultRetentionHours
	}
	if err := checkRetention(retention); err != nil {
		return Instance{}, err
	}
	flush := in.FlushMode
	if flush == "" {
		flush = DefaultFlushMode
	}
	if flush != FlushSync && flush != FlushAsync {
		return Instance{}, invalid(fieldFlushMode, "must be sync or async")
	}
	spec, err := s.spec(ctx, in.SpecCode)
	if err != nil {
		return Instance{}, err
	}
	id, err := newID()
	if err != nil {
		return Instance{}, err
	}
	token, err := newAdminToken()
	if err != nil {
		return Instance{}, err
	}
	now := s.now()
	inst := Instance{
		ID: id, AccountID: p.AccountID, Name: name, SpecCode: spec.Code, Remark: remark,
		RetentionHours: retention, FlushMode: flush,
		Desired: DesiredRunning, Generation: 1, Status: StatusCreating,
		AdminToken: token, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateInstance(ctx, inst, s.cfg.MaxInstancesPerAccount); err != nil {
		if errors.Is(err, ErrQuotaExceeded) {
			return Instance{}, err
		}
		return Instance{}, fmt.Errorf("create instance: %w", err)
	}
	s.log.Info("instance created", "account_id", p.AccountID, "instance_id", id, "spec", spec.Code, "actor_id", p.UserID)
	return inst, nil
}

// List returns the account's instances ordered by ID, those after afterID,
// at most limit (clamped to 1..MaxListLimit).
func (s *Service) List(ctx context.Context, p iam.Principal, afterID string, limit int) ([]Instance, error) {
	if err := authorize(p, acl.InstancesRead); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	return s.store.ListInstances(ctx, p.AccountID, afterID, limit)
}

// Get returns one instance of the caller's account.
func (s *Service) Get(ctx context.Context, p iam.Principal, id string) (Instance, error) {
	if err := authorize(p, acl.InstancesRead); err != nil {
		return Instance{}, err
	}
	return s.store.GetInstance(ctx, p.AccountID, id)
}

// Update renames an instance, changes its remark, retention or spec. A
// retention or spec change is something the node must apply: it bumps
// Generation, and a RUNNING instance becomes UPDATING. Instances being
// deleted cannot change.
func (s *Service) Update(ctx context.Context, p iam.Principal, id string, in UpdateInput) (Instance, error) {
	if err := authorize(p, acl.InstancesWrite); err != nil {
		return Instance{}, err
	}
	var name, remark string
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
		if err := checkText(fieldName, name, maxNameLen, true); err != nil {
			return Instance{}, err
		}
	}
	if in.Remark != nil {
		remark = strings.TrimSpace(*in.Remark)
		if err := checkText(fieldRemark, remark, maxRemarkLen, false); err != nil {
			return Instance{}, err
		}
	}
	if in.RetentionHours != nil {
		if err := checkRetention(*in.RetentionHours); err != nil {
			return Instance{}, err
		}
	}
	if in.SpecCode != nil {
		if _, err := s.spec(ctx, *in.SpecCode); err != nil {
			return Instance{}, err
		}
	}
	now := s.now()
	return s.store.UpdateInstance(ctx, p.AccountID, id, func(inst *Instance) error {
		if inst.Desired == DesiredDeleted {
			return &StateError{Op: "update", Status: inst.Status}
		}
		changed, reconfigure := false, false
		if in.Name != nil && name != inst.Name {
			inst.Name, changed = name, true
		}
		if in.Remark != nil && remark != inst.Remark {
			inst.Remark, changed = remark, true
		}
		if in.RetentionHours != nil && *in.RetentionHours != inst.RetentionHours {
			inst.RetentionHours, reconfigure = *in.RetentionHours, true
		}
		if in.SpecCode != nil && *in.SpecCode != inst.SpecCode {
			inst.SpecCode, reconfigure = *in.SpecCode, true
		}
		if reconfigure {
			inst.Generation++
			if inst.Status == StatusRunning {
				inst.Status, inst.StatusReason = StatusUpdating, ""
			}
		}
		if changed || reconfigure {
			inst.UpdatedAt = now
		}
		return nil
	})
}

// Start asks a STOPPED or FAILED instance to run again.
func (s *Service) Start(ctx context.Context, p iam.Principal, id string) (Instance, error) {
	return s.transition(ctx, p, id, "start", func(inst *Instance) bool {
		if inst.Desired == DesiredDeleted || (inst.Status != StatusStopped && inst.Status != StatusFailed) {
			return false
		}
		inst.Desired, inst.Status = DesiredRunning, StatusStarting
		return true
	})
}

// Stop asks a RUNNING (or FAILED) instance to stop; its data is kept.
func (s *Service) Stop(ctx context.Context, p iam.Principal, id string) (Instance, error) {
	return s.transition(ctx, p, id, "stop", func(inst *Instance) bool {
		if inst.Desired == DesiredDeleted || (inst.Status != StatusRunning && inst.Status != StatusFailed) {
			return false
		}
		inst.Desired, inst.Status = DesiredStopped, StatusStopping
		return true
	})
}

// Delete asks for an instance and its data to be removed, from any state.
// The reconciler deletes the row once its resources are gone. Deleting an
// instance already being deleted changes nothing and succeeds.
func (s *Service) Delete(ctx context.Context, p iam.Principal, id string) (Instance, error) {
	return s.transition(ctx, p, id, "delete", func(inst *Instance) bool {
		if inst.Desired == DesiredDeleted {
			return true
		}
		inst.Desired, inst.Status = DesiredDeleted, StatusDeleting
		return true
	})
}

// transition applies a desired-state change under the row lock; allowed
// changes inst and reports whether the current status permits it.
func (s *Service) transition(ctx context.Context, p iam.Principal, id, op string, allowed func(*Instance) bool) (Instance, error) {
	if err := authorize(p, acl.InstancesWrite); err != nil {
		return Instance{}, err
	}
	now := s.now()
	inst, err := s.store.UpdateInstance(ctx, p.AccountID, id, func(inst *Instance) error {
		before := inst.Status
		if !allowed(inst) {
			return &StateError{Op: op, Status: before}
		}
		if inst.Status != before {
			inst.StatusReason = ""
			inst.UpdatedAt = now
		}
		return nil
	})
	if err != nil {
		return Instance{}, err
	}
	s.log.Info("instance "+op, "account_id", p.AccountID, "instance_id", id, "actor_id", p.UserID)
	return inst, nil
}

// spec resolves a spec code, reporting an unknown one against specCode.
func (s *Service) spec(ctx context.Context, code string) (Spec, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Spec{}, invalid(fieldSpecCode, "is required")
	}
	sp, err := s.store.GetSpec(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return Spec{}, invalid(fieldSpecCode, "is not a spec of the catalogue")
	}
	return sp, err
}

func checkText(field, v string, maxLen int, required bool) error {
	switch n := utf8.RuneCountInString(v); {
	case n == 0 && required:
		return invalid(field, "is required")
	case n > maxLen:
		return invalid(field, fmt.Sprintf("must be at most %d characters", maxLen))
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "must not contain control characters")
		}
	}
	return nil
}

func checkRetention(h int) error {
	if h < MinRetentionHours || h > MaxRetentionHours {
		return invalid(fieldRetention, fmt.Sprintf("must be between %d and %d hours", MinRetentionHours, MaxRetentionHours))
	}
	return nil
}

// newID returns "rmq-" and a UUIDv7: time-ordered for paging, and a valid
// DNS label (starts with a letter, lower case, 40 characters) so that
// provisioners can name processes and Kubernetes objects after it.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new instance id: %w", err)
	}
	return "rmq-" + id.String(), nil
}

// newAdminToken returns 32 random bytes in hex for the node's admin service.
func newAdminToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new admin token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
