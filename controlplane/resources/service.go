package resources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/acl"
)

// Input bounds. Field names in validation errors are the REST API's JSON names.
const (
	DefaultQueueCount    = 8
	MaxQueueCount        = 64
	DefaultMaxRetryTimes = 16
	MaxRetryTimes        = 1000
	DefaultFixedInterval = 10   // seconds
	MaxFixedInterval     = 7200 // seconds
	maxRemarkLen         = 256

	DefaultListLimit = 50
	MaxListLimit     = 200
)

// Config tunes the Service.
type Config struct {
	// Connect opens an instance's node; nil uses Connect.
	Connect Connector
	Now     func() time.Time
}

// Service manages topics and groups for the REST API.
type Service struct {
	instanceAccess
	store *Store
}

// NewService returns a Service. A nil log discards.
func NewService(store *Store, insts *instances.Store, cfg Config, log *slog.Logger) *Service {
	return &Service{instanceAccess: newInstanceAccess(insts, cfg.Connect, cfg.Now, log), store: store}
}

func invalid(field, msg string) error { return &iam.ValidationError{Field: field, Message: msg} }

// instance loads the caller's instance after checking the role; another
// account's instance is instances.ErrNotFound. mustRun also requires it to
// be RUNNING.
func (s *Service) instance(ctx context.Context, p iam.Principal, a acl.Action, id string, mustRun bool) (instances.Instance, error) {
	inst, err := s.authorized(ctx, p, a, id)
	if err != nil {
		return instances.Instance{}, err
	}
	if mustRun {
		if err := running(inst); err != nil {
			return instances.Instance{}, err
		}
	}
	return inst, nil
}

// pushOrUndo pushes a definition whose row was just inserted to the node,
// and removes the row again when the node does not take it: a create is
// all or nothing for the user.
func pushOrUndo(ctx context.Context, log *slog.Logger, push func() error, undo func(context.Context) error, what string, attrs ...any) error {
	err := push()
	if err == nil {
		return nil
	}
	if derr := undo(context.WithoutCancel(ctx)); derr != nil {
		log.Error("remove "+what+" row after failed push", append(attrs, "err", derr)...)
	}
	return err
}

// listLimit applies the default and the cap to a requested page size; one
// more than the cap is allowed so callers can tell whether a page follows.
func listLimit(n int) int {
	if n <= 0 {
		n = DefaultListLimit
	}
	return min(n, MaxListLimit+1)
}

func (s *Service) spec(ctx context.Context, inst instances.Instance) (instances.Spec, error) {
	sp, err := s.instances.GetSpec(ctx, inst.SpecCode)
	if err != nil {
		return instances.Spec{}, fmt.Errorf("spec of instance: %w", err)
	}
	return sp, nil
}

// nameError turns the broker's name rule error into a field error.
func nameError(field string, err error) error {
	msg := strings.TrimPrefix(err.Error(), broker.ErrInvalidArgument.Error()+": ")
	return invalid(field, msg)
}

func checkRemark(r string) error {
	if utf8.RuneCountInString(r) > maxRemarkLen {
		return invalid("remark", fmt.Sprintf("must be at most %d characters", maxRemarkLen))
	}
	return nil
}

func checkTPS(field string, v int) error {
	if v < 0 {
		return invalid(field, "must not be negative")
	}
	return nil
}

// TopicInput describes a new topic. QueueCount 0 takes the default.
type TopicInput struct {
	Name        string
	MessageType string
	QueueCount  int
	MaxSendTPS  int
	Remark      string
}

// CreateTopic validates in, records it and creates it on the node. If the
// node refuses or cannot be reached, the row is removed again and the error
// (ErrNode) returned: nothing is half created.
func (s *Service) CreateTopic(ctx context.Context, p iam.Principal, instanceID string, in TopicInput) (Topic, error) {
	if err := broker.ValidateTopicName(in.Name); err != nil {
		return Topic{}, nameError("topicName", err)
	}
	if _, ok := topicTypes[in.MessageType]; !ok {
		return Topic{}, invalid("messageType", "must be one of NORMAL, FIFO, DELAY, TRANSACTION")
	}
	if in.QueueCount == 0 {
		in.QueueCount = DefaultQueueCount
	}
	if in.QueueCount < 1 || in.QueueCount > MaxQueueCount {
		return Topic{}, invalid("queueCount", fmt.Sprintf("must be between 1 and %d", MaxQueueCount))
	}
	if err := checkTPS("maxSendTps", in.MaxSendTPS); err != nil {
		return Topic{}, err
	}
	in.Remark = strings.TrimSpace(in.Remark)
	if err := checkRemark(in.Remark); err != nil {
		return Topic{}, err
	}
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, true)
	if err != nil {
		return Topic{}, err
	}
	sp, err := s.spec(ctx, inst)
	if err != nil {
		return Topic{}, err
	}
	now := s.clock()
	t := Topic{InstanceID: inst.ID, Name: in.Name, MessageType: in.MessageType, QueueCount: in.QueueCount,
		MaxSendTPS: in.MaxSendTPS, Remark: in.Remark, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateTopic(ctx, t, sp.MaxTopics); err != nil {
		return Topic{}, err
	}
	if err := pushOrUndo(ctx, s.log,
		func() error { return s.withNode(inst, func(n Node) error { return pushTopic(ctx, n, t) }) },
		func(ctx context.Context) error { return s.store.DeleteTopic(ctx, inst.ID, t.Name) },
		"topic", "instance_id", inst.ID, "topic", t.Name); err != nil {
		return Topic{}, err
	}
	s.log.Info("topic created", "account_id", p.AccountID, "instance_id", inst.ID, "topic", t.Name, "actor_id", p.UserID)
	return t, nil
}

// ListTopics lists the instance's topics (from the database).
func (s *Service) ListTopics(ctx context.Context, p iam.Principal, instanceID string, f TopicFilter) ([]Topic, error) {
	if _, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false); err != nil {
		return nil, err
	}
	f.Limit = listLimit(f.Limit)
	return s.store.ListTopics(ctx, instanceID, f)
}

// GetTopic returns one topic.
func (s *Service) GetTopic(ctx context.Context, p iam.Principal, instanceID, name string) (Topic, error) {
	if _, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false); err != nil {
		return Topic{}, err
	}
	return s.store.GetTopic(ctx, instanceID, name)
}

// TopicUpdate changes the fields it carries. MessageType may only repeat
// the topic's type: it is immutable.
type TopicUpdate struct {
	MessageType *string
	MaxSendTPS  *int
	Remark      *string
}

// UpdateTopic changes a topic's remark or send limit. A new send limit is
// pushed to the node first and needs a RUNNING instance; a remark lives in
// the control plane only.
func (s *Service) UpdateTopic(ctx context.Context, p iam.Principal, instanceID, name string, in TopicUpdate) (Topic, error) {
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, false)
	if err != nil {
		return Topic{}, err
	}
	t, err := s.store.GetTopic(ctx, instanceID, name)
	if err != nil {
		return Topic{}, err
	}
	old := t
	if in.MessageType != nil && *in.MessageType != t.MessageType {
		return Topic{}, invalid("messageType", "is immutable: create a new topic for another message type")
	}
	if in.MaxSendTPS != nil {
		if err := checkTPS("maxSendTps", *in.MaxSendTPS); err != nil {
			return Topic{}, err
		}
		t.MaxSendTPS = *in.MaxSendTPS
	}
	if in.Remark != nil {
		r := strings.TrimSpace(*in.Remark)
		if err := checkRemark(r); err != nil {
			return Topic{}, err
		}
		t.Remark = r
	}
	if t.MaxSendTPS != old.MaxSendTPS {
		if err := running(inst); err != nil {
			return Topic{}, err
		}
		if err := s.withNode(inst, func(n Node) error { return updateTopic(ctx, n, t) }); err != nil {
			return Topic{}, err
		}
	}
	t.UpdatedAt = s.clock()
	if err := s.store.SaveTopic(ctx, t); err != nil {
		return Topic{}, err
	}
	return t, nil
}

// DeleteTopic removes the topic and its messages from the node, then the row.
func (s *Service) DeleteTopic(ctx context.Context, p iam.Principal, instanceID, name string) error {
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, false)
	if err != nil {
		return err
	}
	if _, err := s.store.GetTopic(ctx, instanceID, name); err != nil {
		return err
	}
	if err := running(inst); err != nil {
		return err
	}
	err = s.withNode(inst, func(n Node) error {
		if _, err := n.DeleteTopic(ctx, &adminpb.DeleteTopicRequest{Name: name}); err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("%w: delete topic %s: %w", ErrNode, name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.store.DeleteTopic(ctx, instanceID, name); err != nil {
		return err
	}
	s.log.Info("topic deleted", "account_id", p.AccountID, "instance_id", instanceID, "topic", name, "actor_id", p.UserID)
	return nil
}

// RetryPolicy is a group's consume retry policy. Nil fields take defaults.
type RetryPolicy struct {
	MaxRetryTimes          *int
	RetryPolicy            string
	FixedIntervalRetryTime *int
}

// GroupInput describes a new consumer group.
type GroupInput struct {
	GroupID           string
	DeliveryOrderType string
	Retry             RetryPolicy
	MaxReceiveTPS     int
	Remark            string
}

// applyRetry sets g's retry fields from r and validates the result.
func applyRetry(g *Group, r RetryPolicy) error {
	if r.MaxRetryTimes != nil {
		g.MaxRetryTimes = *r.MaxRetryTimes
	}
	if g.MaxRetryTimes < 0 || g.MaxRetryTimes > MaxRetryTimes {
		return invalid("consumeRetryPolicy.maxRetryTimes", fmt.Sprintf("must be between 0 and %d", MaxRetryTimes))
	}
	if r.RetryPolicy != "" {
		g.RetryPolicy = r.RetryPolicy
	}
	if g.RetryPolicy != RetryDefault && g.RetryPolicy != RetryFixed {
		return invalid("consumeRetryPolicy.retryPolicy", "must be DefaultRetryPolicy or FixedRetryPolicy")
	}
	if r.FixedIntervalRetryTime != nil {
		g.FixedIntervalRetryTime = *r.FixedIntervalRetryTime
	}
	if g.RetryPolicy == RetryFixed && g.FixedIntervalRetryTime == 0 {
		g.FixedIntervalRetryTime = DefaultFixedInterval
	}
	if g.FixedIntervalRetryTime < 0 || g.FixedIntervalRetryTime > MaxFixedInterval {
		return invalid("consumeRetryPolicy.fixedIntervalRetryTime", fmt.Sprintf("must be between 1 and %d seconds", MaxFixedInterval))
	}
	return nil
}

func checkOrder(o string) error {
	if o != OrderConcurrently && o != OrderOrderly {
		return invalid("deliveryOrderType", "must be Concurrently or Orderly")
	}
	return nil
}

// CreateGroup validates in, records it and creates it on the node, like CreateTopic.
func (s *Service) CreateGroup(ctx context.Context, p iam.Principal, instanceID string, in GroupInput) (Group, error) {
	if err := broker.ValidateGroupName(in.GroupID); err != nil {
		return Group{}, nameError("groupId", err)
	}
	if err := checkOrder(in.DeliveryOrderType); err != nil {
		return Group{}, err
	}
	g := Group{GroupID: in.GroupID, DeliveryOrderType: in.DeliveryOrderType, MaxRetryTimes: DefaultMaxRetryTimes, RetryPolicy: RetryDefault}
	if in.DeliveryOrderType == OrderOrderly {
		// Orderly groups retry in place at a fixed interval (as RocketMQ 5 does).
		g.RetryPolicy = RetryFixed
	}
	if err := applyRetry(&g, in.Retry); err != nil {
		return Group{}, err
	}
	if err := checkTPS("maxReceiveTps", in.MaxReceiveTPS); err != nil {
		return Group{}, err
	}
	g.MaxReceiveTPS = in.MaxReceiveTPS
	g.Remark = strings.TrimSpace(in.Remark)
	if err := checkRemark(g.Remark); err != nil {
		return Group{}, err
	}
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, true)
	if err != nil {
		return Group{}, err
	}
	sp, err := s.spec(ctx, inst)
	if err != nil {
		return Group{}, err
	}
	now := s.clock()
	g.InstanceID, g.CreatedAt, g.UpdatedAt = inst.ID, now, now
	if err := s.store.CreateGroup(ctx, g, sp.MaxGroups); err != nil {
		return Group{}, err
	}
	if err := pushOrUndo(ctx, s.log,
		func() error { return s.withNode(inst, func(n Node) error { return pushGroup(ctx, n, g) }) },
		func(ctx context.Context) error { return s.store.DeleteGroup(ctx, inst.ID, g.GroupID) },
		"group", "instance_id", inst.ID, "group", g.GroupID); err != nil {
		return Group{}, err
	}
	s.log.Info("group created", "account_id", p.AccountID, "instance_id", inst.ID, "group", g.GroupID, "actor_id", p.UserID)
	return g, nil
}

// ListGroups lists the instance's groups (from the database).
func (s *Service) ListGroups(ctx context.Context, p iam.Principal, instanceID string, f GroupFilter) ([]Group, error) {
	if _, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false); err != nil {
		return nil, err
	}
	f.Limit = listLimit(f.Limit)
	return s.store.ListGroups(ctx, instanceID, f)
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, p iam.Principal, instanceID, groupID string) (Group, error) {
	if _, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false); err != nil {
		return Group{}, err
	}
	return s.store.GetGroup(ctx, instanceID, groupID)
}

// GroupUpdate changes the fields it carries.
type GroupUpdate struct {
	DeliveryOrderType *string
	Retry             *RetryPolicy
	MaxReceiveTPS     *int
	Remark            *string
}

// UpdateGroup changes a group. A change the node enforces (delivery order,
// retry policy, receive limit) is pushed to the node first and needs a RUNNING instance.
func (s *Service) UpdateGroup(ctx context.Context, p iam.Principal, instanceID, groupID string, in GroupUpdate) (Group, error) {
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, false)
	if err != nil {
		return Group{}, err
	}
	old, err := s.store.GetGroup(ctx, instanceID, groupID)
	if err != nil {
		return Group{}, err
	}
	g := old
	if in.DeliveryOrderType != nil {
		if err := checkOrder(*in.DeliveryOrderType); err != nil {
			return Group{}, err
		}
		g.DeliveryOrderType = *in.DeliveryOrderType
	}
	if in.Retry != nil {
		if err := applyRetry(&g, *in.Retry); err != nil {
			return Group{}, err
		}
	}
	if in.MaxReceiveTPS != nil {
		if err := checkTPS("maxReceiveTps", *in.MaxReceiveTPS); err != nil {
			return Group{}, err
		}
		g.MaxReceiveTPS = *in.MaxReceiveTPS
	}
	if in.Remark != nil {
		r := strings.TrimSpace(*in.Remark)
		if err := checkRemark(r); err != nil {
			return Group{}, err
		}
		g.Remark = r
	}
	if !proto.Equal(GroupRequest(g), GroupRequest(old)) { // a change the node enforces
		if err := running(inst); err != nil {
			return Group{}, err
		}
		if err := s.withNode(inst, func(n Node) error { return updateGroup(ctx, n, g) }); err != nil {
			return Group{}, err
		}
	}
	g.UpdatedAt = s.clock()
	if err := s.store.SaveGroup(ctx, g); err != nil {
		return Group{}, err
	}
	return g, nil
}

// DeleteGroup removes the group (and its offsets) from the node, then the row.
func (s *Service) DeleteGroup(ctx context.Context, p iam.Principal, instanceID, groupID string) error {
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, false)
	if err != nil {
		return err
	}
	if _, err := s.store.GetGroup(ctx, instanceID, groupID); err != nil {
		return err
	}
	if err := running(inst); err != nil {
		return err
	}
	err = s.withNode(inst, func(n Node) error {
		if _, err := n.DeleteGroup(ctx, &adminpb.DeleteGroupRequest{Name: groupID}); err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("%w: delete group %s: %w", ErrNode, groupID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.store.DeleteGroup(ctx, instanceID, groupID); err != nil {
		return err
	}
	s.log.Info("group deleted", "account_id", p.AccountID, "instance_id", instanceID, "group", groupID, "actor_id", p.UserID)
	return nil
}

// GroupLag is a group's progress per topic and queue and the recent
// samples of its total lag (oldest first; empty when the node has none).
type GroupLag struct {
	Offsets       *adminpb.GetGroupOffsetsResponse
	Trend         []*adminpb.LagPoint
	TrendInterval time.Duration
}

// GroupLag reads the group's progress per topic and queue, and its lag
// trend, from the node.
func (s *Service) GroupLag(ctx context.Context, p iam.Principal, instanceID, groupID string) (GroupLag, error) {
	var out GroupLag
	err := s.readGroupNode(ctx, p, instanceID, groupID, func(n Node) error {
		resp, err := n.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: groupID})
		if status.Code(err) == codes.NotFound {
			resp, err = &adminpb.GetGroupOffsetsResponse{}, nil // nothing consumed yet
		}
		if err != nil {
			return fmt.Errorf("%w: group offsets %s: %w", ErrNode, groupID, err)
		}
		out.Offsets = resp
		hist, err := n.GetLagHistory(ctx, &adminpb.GetLagHistoryRequest{Groups: []string{groupID}})
		if err != nil {
			return fmt.Errorf("%w: lag history %s: %w", ErrNode, groupID, err)
		}
		for _, ser := range hist.GetSeries() {
			if ser.GetGroup() == groupID {
				out.Trend = ser.GetPoints()
			}
		}
		out.TrendInterval = hist.GetInterval().AsDuration()
		return nil
	})
	return out, err
}

// TopicStats reads a topic's retained offset range per queue from the node,
// which must be RUNNING (ErrNotRunning otherwise).
func (s *Service) TopicStats(ctx context.Context, p iam.Principal, instanceID, name string) (*adminpb.TopicStats, error) {
	inst, err := s.instance(ctx, p, acl.InstancesRead, instanceID, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetTopic(ctx, instanceID, name); err != nil {
		return nil, err
	}
	if inst.Status != instances.StatusRunning {
		return nil, ErrNotRunning
	}
	var out *adminpb.TopicStats
	err = s.withNode(inst, func(n Node) error {
		resp, err := n.GetTopicStats(ctx, &adminpb.GetTopicStatsRequest{Topic: name})
		if err != nil {
			return fmt.Errorf("%w: topic stats %s: %w", ErrNode, name, err)
		}
		out = resp
		return nil
	})
	return out, err
}

// Reset types of ResetInput.
const (
	ResetEarliest  = "EARLIEST"
	ResetLatest    = "LATEST"
	ResetTimestamp = "TIMESTAMP"
)

// ResetInput says where ResetOffset moves a group's consumer offsets.
type ResetInput struct {
	Type   string    // ResetEarliest, ResetLatest or ResetTimestamp
	Time   time.Time // with ResetTimestamp: the first message stored at or after it
	DryRun bool      // compute the new offsets only
}

// ResetOffset moves a group's consumer offset on every queue of a topic (or,
// with DryRun, only computes where it would move them; that needs read
// access only). The instance must be RUNNING.
func (s *Service) ResetOffset(ctx context.Context, p iam.Principal, instanceID, groupID, topic string, in ResetInput) (*adminpb.ResetGroupOffsetResponse, error) {
	action := acl.InstancesWrite
	if in.DryRun {
		action = acl.InstancesRead
	}
	inst, err := s.instance(ctx, p, action, instanceID, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetGroup(ctx, instanceID, groupID); err != nil {
		return nil, err
	}
	if _, err := s.store.GetTopic(ctx, instanceID, topic); err != nil {
		return nil, err
	}
	req := &adminpb.ResetGroupOffsetRequest{Group: groupID, Topic: topic, DryRun: in.DryRun}
	switch in.Type {
	case ResetEarliest:
		req.Target = &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_EARLIEST}
	case ResetLatest:
		req.Target = &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_LATEST}
	case ResetTimestamp:
		if in.Time.IsZero() {
			return nil, invalid("resetTime", "is required with resetType TIMESTAMP")
		}
		req.Target = &adminpb.ResetGroupOffsetRequest_Timestamp{Timestamp: timestamppb.New(in.Time)}
	default:
		return nil, invalid("resetType", "must be EARLIEST, LATEST or TIMESTAMP")
	}
	if inst.Status != instances.StatusRunning {
		return nil, ErrNotRunning
	}
	var out *adminpb.ResetGroupOffsetResponse
	err = s.withNode(inst, func(n Node) error {
		resp, err := n.ResetGroupOffset(ctx, req)
		if err != nil {
			return fmt.Errorf("%w: reset offset of %s on %s: %w", ErrNode, groupID, topic, err)
		}
		out = resp
		return nil
	})
	if err == nil && !in.DryRun {
		s.log.Info("consumer offset reset", "account_id", p.AccountID, "instance_id", instanceID, "group", groupID, "topic", topic, "reset_type", in.Type, "actor_id", p.UserID)
	}
	return out, err
}

// DeadLetters reads a page of the messages a group dead-lettered (its
// %DLQ%<group> topic, oldest first per queue) from the node, with bodies cut
// to a preview. pageToken is the node's next_page_token, passed through.
func (s *Service) DeadLetters(ctx context.Context, p iam.Principal, instanceID, groupID string, pageSize int, pageToken string) (*adminpb.QueryMessagesResponse, error) {
	var out *adminpb.QueryMessagesResponse
	err := s.readGroupNode(ctx, p, instanceID, groupID, func(n Node) error {
		resp, err := n.QueryMessages(ctx, &adminpb.QueryMessagesRequest{
			Topic: broker.DLQTopic(groupID), StartTime: timestamppb.New(time.Unix(0, 0)), EndTime: timestamppb.New(s.now().Add(time.Hour)),
			PageSize: int32(pageSize), PageToken: pageToken,
		})
		switch status.Code(err) {
		case codes.OK:
			out = resp
			return nil
		case codes.NotFound: // nothing dead-lettered yet: no DLQ topic
			out = &adminpb.QueryMessagesResponse{}
			return nil
		case codes.InvalidArgument:
			if pageToken != "" {
				return invalid("pageToken", "is not a token this API handed out")
			}
		}
		return fmt.Errorf("%w: dead letters of %s: %w", ErrNode, groupID, err)
	})
	return out, err
}

// MaxResend is how many messages one ResendDeadLetters call takes.
const MaxResend = 100

// ResendDeadLetters sends fresh copies of dead-lettered messages of a group
// to their original topics, one result per id in order.
func (s *Service) ResendDeadLetters(ctx context.Context, p iam.Principal, instanceID, groupID string, ids []string) ([]*adminpb.ResendResult, error) {
	inst, err := s.instance(ctx, p, acl.InstancesWrite, instanceID, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetGroup(ctx, instanceID, groupID); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxResend {
		return nil, invalid("messageIds", fmt.Sprintf("must hold 1 to %d message ids", MaxResend))
	}
	for _, id := range ids {
		if id == "" {
			return nil, invalid("messageIds", "must not hold empty ids")
		}
	}
	if inst.Status != instances.StatusRunning {
		return nil, ErrNotRunning
	}
	var out []*adminpb.ResendResult
	err = s.withNode(inst, func(n Node) error {
		resp, err := n.ResendDeadLetters(ctx, &adminpb.ResendDeadLettersRequest{Group: groupID, MessageIds: ids})
		if err != nil {
			return fmt.Errorf("%w: resend dead letters of %s: %w", ErrNode, groupID, err)
		}
		out = resp.GetResults()
		return nil
	})
	if err == nil {
		s.log.Info("dead letters resent", "account_id", p.AccountID, "instance_id", instanceID, "group", groupID, "count", len(ids), "actor_id", p.UserID)
	}
	return out, err
}

// IsNodeError reports an error from the node's admin service.
func IsNodeError(err error) bool { return errors.Is(err, ErrNode) }
