package resources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store keeps topics and groups with gorm on PostgreSQL or SQLite. Callers
// check that the instance belongs to the tenant first (Service does).
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db, which must be migrated.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

type topicRow struct {
	InstanceID  string    `gorm:"column:instance_id;primaryKey"`
	Name        string    `gorm:"column:name;primaryKey"`
	MessageType string    `gorm:"column:message_type"`
	QueueCount  int       `gorm:"column:queue_count"`
	MaxSendTPS  int       `gorm:"column:max_send_tps"`
	Remark      string    `gorm:"column:remark"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

func (topicRow) TableName() string { return "topics" }

func (r topicRow) toTopic() Topic {
	t := Topic(r)
	t.CreatedAt, t.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return t
}

type groupRow struct {
	InstanceID             string    `gorm:"column:instance_id;primaryKey"`
	GroupID                string    `gorm:"column:group_id;primaryKey"`
	DeliveryOrderType      string    `gorm:"column:delivery_order_type"`
	MaxRetryTimes          int       `gorm:"column:max_retry_times"`
	RetryPolicy            string    `gorm:"column:retry_policy"`
	FixedIntervalRetryTime int       `gorm:"column:fixed_interval_retry_time"`
	MaxReceiveTPS          int       `gorm:"column:max_receive_tps"`
	Remark                 string    `gorm:"column:remark"`
	CreatedAt              time.Time `gorm:"column:created_at"`
	UpdatedAt              time.Time `gorm:"column:updated_at"`
}

func (groupRow) TableName() string { return "consumer_groups" }

func (r groupRow) toGroup() Group {
	g := Group(r)
	g.CreatedAt, g.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return g
}

// lockInstance serialises creates per instance for the rest of tx, so two
// concurrent creates cannot both pass the quota check. SQLite transactions
// begin IMMEDIATE (migrations.Open) and already hold the write lock.
func lockInstance(tx *gorm.DB, instanceID string) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	var id string
	return tx.Table("instances").Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ?", instanceID).Take(&id).Error
}

// create inserts row unless the instance has max rows of the table
// (ErrQuotaExceeded) or the key is taken (exists).
func create(ctx context.Context, db *gorm.DB, instanceID string, row any, max int, keyCol, key string, exists error) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockInstance(tx, instanceID); err != nil {
			return fmt.Errorf("lock instance: %w", err)
		}
		var n int64
		if err := tx.Model(row).Where("instance_id = ? AND "+keyCol+" = ?", instanceID, key).Count(&n).Error; err != nil {
			return fmt.Errorf("check name: %w", err)
		}
		if n > 0 {
			return exists
		}
		if err := tx.Model(row).Where("instance_id = ?", instanceID).Count(&n).Error; err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if n >= int64(max) {
			return ErrQuotaExceeded
		}
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
}

// CreateTopic inserts t unless the instance already has max topics.
func (s *Store) CreateTopic(ctx context.Context, t Topic, max int) error {
	r := topicRow(t)
	return create(ctx, s.db, t.InstanceID, &r, max, "name", t.Name, ErrTopicExists)
}

// CreateGroup inserts g unless the instance already has max groups.
func (s *Store) CreateGroup(ctx context.Context, g Group, max int) error {
	r := groupRow(g)
	return create(ctx, s.db, g.InstanceID, &r, max, "group_id", g.GroupID, ErrGroupExists)
}

func notFound(err, sentinel error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sentinel
	}
	return err
}

// GetTopic loads one topic.
func (s *Store) GetTopic(ctx context.Context, instanceID, name string) (Topic, error) {
	var r topicRow
	if err := s.db.WithContext(ctx).Where("instance_id = ? AND name = ?", instanceID, name).Take(&r).Error; err != nil {
		return Topic{}, notFound(err, ErrTopicNotFound)
	}
	return r.toTopic(), nil
}

// GetGroup loads one group.
func (s *Store) GetGroup(ctx context.Context, instanceID, groupID string) (Group, error) {
	var r groupRow
	if err := s.db.WithContext(ctx).Where("instance_id = ? AND group_id = ?", instanceID, groupID).Take(&r).Error; err != nil {
		return Group{}, notFound(err, ErrGroupNotFound)
	}
	return r.toGroup(), nil
}

// TopicFilter narrows ListTopics.
type TopicFilter struct {
	After       string // names after this one
	NameLike    string // substring of the name, case-insensitive
	MessageType string // exact
	Limit       int    // 0: all
}

// likePattern escapes s for LIKE ... ESCAPE '\'.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// ListTopics returns the instance's topics ordered by name.
func (s *Store) ListTopics(ctx context.Context, instanceID string, f TopicFilter) ([]Topic, error) {
	q := s.db.WithContext(ctx).Where("instance_id = ?", instanceID)
	if f.After != "" {
		q = q.Where("name > ?", f.After)
	}
	if f.NameLike != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, likePattern(f.NameLike))
	}
	if f.MessageType != "" {
		q = q.Where("message_type = ?", f.MessageType)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []topicRow
	if err := q.Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]Topic, len(rows))
	for i, r := range rows {
		out[i] = r.toTopic()
	}
	return out, nil
}

// GroupFilter narrows ListGroups.
type GroupFilter struct {
	After    string
	NameLike string
	Limit    int // 0: all
}

// ListGroups returns the instance's groups ordered by id.
func (s *Store) ListGroups(ctx context.Context, instanceID string, f GroupFilter) ([]Group, error) {
	q := s.db.WithContext(ctx).Where("instance_id = ?", instanceID)
	if f.After != "" {
		q = q.Where("group_id > ?", f.After)
	}
	if f.NameLike != "" {
		q = q.Where(`LOWER(group_id) LIKE ? ESCAPE '\'`, likePattern(f.NameLike))
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []groupRow
	if err := q.Order("group_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := make([]Group, len(rows))
	for i, r := range rows {
		out[i] = r.toGroup()
	}
	return out, nil
}

// SaveTopic writes the user-changeable fields of t.
func (s *Store) SaveTopic(ctx context.Context, t Topic) error {
	err := s.db.WithContext(ctx).Model(&topicRow{}).Where("instance_id = ? AND name = ?", t.InstanceID, t.Name).Updates(map[string]any{
		"max_send_tps": t.MaxSendTPS, "remark": t.Remark, "updated_at": t.UpdatedAt.UTC(),
	}).Error
	if err != nil {
		return fmt.Errorf("update topic: %w", err)
	}
	return nil
}

// SaveGroup writes the user-changeable fields of g.
func (s *Store) SaveGroup(ctx context.Context, g Group) error {
	err := s.db.WithContext(ctx).Model(&groupRow{}).Where("instance_id = ? AND group_id = ?", g.InstanceID, g.GroupID).Updates(map[string]any{
		"delivery_order_type": g.DeliveryOrderType, "max_retry_times": g.MaxRetryTimes, "retry_policy": g.RetryPolicy,
		"fixed_interval_retry_time": g.FixedIntervalRetryTime, "max_receive_tps": g.MaxReceiveTPS,
		"remark": g.Remark, "updated_at": g.UpdatedAt.UTC(),
	}).Error
	if err != nil {
		return fmt.Errorf("update group: %w", err)
	}
	return nil
}

// DeleteTopic removes a topic row; a missing one is not an error.
func (s *Store) DeleteTopic(ctx context.Context, instanceID, name string) error {
	if err := s.db.WithContext(ctx).Where("instance_id = ? AND name = ?", instanceID, name).Delete(&topicRow{}).Error; err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	return nil
}

// DeleteGroup removes a group row; a missing one is not an error.
func (s *Store) DeleteGroup(ctx context.Context, instanceID, groupID string) error {
	if err := s.db.WithContext(ctx).Where("instance_id = ? AND group_id = ?", instanceID, groupID).Delete(&groupRow{}).Error; err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return nil
}
