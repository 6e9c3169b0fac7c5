package resources

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// Node is the admin service of an instance's node.
type Node interface {
	adminpb.AdminClient
	io.Closer
}

// Connector opens a Node for an instance's admin address and token.
type Connector func(addr, token string) (Node, error)

// Connect is the default Connector: an adminclient with short per-call
// deadlines, so that a REST call against a dead node answers in seconds.
func Connect(addr, token string) (Node, error) {
	cfg := adminclient.DefaultConfig()
	cfg.Addr, cfg.Token, cfg.Timeout = addr, token, 5*time.Second
	return adminclient.New(cfg)
}

func open(connect Connector, inst instances.Instance) (Node, error) {
	if inst.AdminAddr == "" {
		return nil, fmt.Errorf("%w: the instance has no admin address yet", ErrNode)
	}
	n, err := connect(inst.AdminAddr, inst.AdminToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNode, err)
	}
	return n, nil
}

var topicTypes = map[string]adminpb.TopicType{
	TypeNormal: adminpb.TopicType_TOPIC_TYPE_NORMAL, TypeFIFO: adminpb.TopicType_TOPIC_TYPE_FIFO,
	TypeDelay: adminpb.TopicType_TOPIC_TYPE_DELAY, TypeTransaction: adminpb.TopicType_TOPIC_TYPE_TRANSACTION,
}

// TopicRequest is the node's definition of t.
func TopicRequest(t Topic) *adminpb.CreateTopicRequest {
	return &adminpb.CreateTopicRequest{Name: t.Name, Type: topicTypes[t.MessageType], QueueCount: int32(t.QueueCount), MaxSendTps: int32(t.MaxSendTPS)}
}

// GroupRequest is the node's definition of g.
func GroupRequest(g Group) *adminpb.CreateGroupRequest {
	retries := int32(g.MaxRetryTimes)
	return &adminpb.CreateGroupRequest{Name: g.GroupID, Orderly: g.DeliveryOrderType == OrderOrderly, MaxRetries: &retries,
		MaxReceiveTps: int32(g.MaxReceiveTPS), RetryIntervalSeconds: retryInterval(g)}
}

// retryInterval is the node's fixed redelivery interval of g; 0 is the
// default exponential backoff.
func retryInterval(g Group) int32 {
	if g.RetryPolicy != RetryFixed {
		return 0
	}
	return int32(g.FixedIntervalRetryTime)
}

// TopicDiffers reports whether the node's copy of t enforces other limits
// than t asks for. The message type and queue count are fixed at creation.
func TopicDiffers(t Topic, on *adminpb.Topic) bool {
	return on.GetMaxSendTps() != int32(t.MaxSendTPS)
}

// GroupDiffers reports whether the node's copy of g behaves otherwise than
// g asks for.
func GroupDiffers(g Group, on *adminpb.Group) bool {
	want := GroupRequest(g)
	return on.GetOrderly() != want.GetOrderly() || on.GetMaxRetries() != want.GetMaxRetries() ||
		on.GetMaxReceiveTps() != want.GetMaxReceiveTps() || on.GetRetryIntervalSeconds() != want.GetRetryIntervalSeconds()
}

// updateTopic makes the node's copy of t match t, recreating it when the
// node lost it.
func updateTopic(ctx context.Context, n Node, t Topic) error {
	tps := int32(t.MaxSendTPS)
	_, err := n.UpdateTopic(ctx, &adminpb.UpdateTopicRequest{Name: t.Name, MaxSendTps: &tps})
	if status.Code(err) == codes.NotFound {
		return pushTopic(ctx, n, t)
	}
	if err != nil {
		return fmt.Errorf("%w: update topic %s: %w", ErrNode, t.Name, err)
	}
	return nil
}

// updateGroup makes the node's copy of g match g, recreating it when the
// node lost it.
func updateGroup(ctx context.Context, n Node, g Group) error {
	want := GroupRequest(g)
	_, err := n.UpdateGroup(ctx, &adminpb.UpdateGroupRequest{Name: g.GroupID, Orderly: &want.Orderly, MaxRetries: want.MaxRetries,
		MaxReceiveTps: &want.MaxReceiveTps, RetryIntervalSeconds: &want.RetryIntervalSeconds})
	if status.Code(err) == codes.NotFound {
		return pushGroup(ctx, n, g)
	}
	if err != nil {
		return fmt.Errorf("%w: update group %s: %w", ErrNode, g.GroupID, err)
	}
	return nil
}

// UpdateTopicOnNode makes n's copy of t match t; the reconciler's drift repair uses it.
func UpdateTopicOnNode(ctx context.Context, n Node, t Topic) error { return updateTopic(ctx, n, t) }

// UpdateGroupOnNode makes n's copy of g match g.
func UpdateGroupOnNode(ctx context.Context, n Node, g Group) error { return updateGroup(ctx, n, g) }

// pushTopic creates t on the node; one the node already has counts as done.
func pushTopic(ctx context.Context, n Node, t Topic) error {
	if _, err := n.CreateTopic(ctx, TopicRequest(t)); err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("%w: create topic %s: %w", ErrNode, t.Name, err)
	}
	return nil
}

// pushGroup creates g on the node; one the node already has counts as done.
func pushGroup(ctx context.Context, n Node, g Group) error {
	if _, err := n.CreateGroup(ctx, GroupRequest(g)); err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("%w: create group %s: %w", ErrNode, g.GroupID, err)
	}
	return nil
}

// PushTopic creates t on n unless it is there; the reconciler's drift repair uses it.
func PushTopic(ctx context.Context, n Node, t Topic) error { return pushTopic(ctx, n, t) }

// PushGroup creates g on n unless it is there.
func PushGroup(ctx context.Context, n Node, g Group) error { return pushGroup(ctx, n, g) }
