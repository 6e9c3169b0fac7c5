package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/controlplane/resources"
)

// Topic is a topic of an instance.
type Topic struct {
	InstanceID  string    `json:"instanceId"`
	TopicName   string    `json:"topicName"`
	MessageType string    `json:"messageType" enum:"NORMAL,FIFO,DELAY,TRANSACTION"`
	QueueCount  int       `json:"queueCount"`
	MaxSendTPS  int       `json:"maxSendTps" doc:"Send limit in messages per second; 0: the instance's limit only."`
	Remark      string    `json:"remark"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Read from the node by GET of one topic only, when the instance is RUNNING.
	Queues       []TopicQueue `json:"queues,omitempty" doc:"Per queue, the retained offsets; only in the GET of one topic of a RUNNING instance."`
	MessageCount *int64       `json:"messageCount,omitempty" doc:"Retained messages: the sum of maxOffset - minOffset over the queues; with queues only."`
}

// TopicQueue is the retained range of one queue of a topic.
type TopicQueue struct {
	QueueID   int32 `json:"queueId"`
	MinOffset int64 `json:"minOffset" doc:"Oldest retained offset."`
	MaxOffset int64 `json:"maxOffset" doc:"Next offset to be written."`
}

func topicView(t resources.Topic) Topic {
	return Topic{InstanceID: t.InstanceID, TopicName: t.Name, MessageType: t.MessageType, QueueCount: t.QueueCount,
		MaxSendTPS: t.MaxSendTPS, Remark: t.Remark, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

type TopicList struct {
	Items         []Topic `json:"items"`
	NextPageToken string  `json:"nextPageToken,omitempty"`
}

// CreateTopicRequest describes a new topic.
type CreateTopicRequest struct {
	TopicName   string `json:"topicName" maxLength:"127" doc:"Letters, digits, %, |, _ and -; system names and prefixes (%RETRY%, %DLQ%, RMQ_SYS_, TBW102...) are reserved."`
	MessageType string `json:"messageType" enum:"NORMAL,FIFO,DELAY,TRANSACTION" doc:"Immutable once created."`
	QueueCount  int    `json:"queueCount,omitempty" minimum:"1" maximum:"64" doc:"8 if absent."`
	MaxSendTPS  int    `json:"maxSendTps,omitempty" minimum:"0"`
	Remark      string `json:"remark,omitempty" maxLength:"256"`
}

// UpdateTopicRequest changes the fields it carries. messageType may only
// repeat the topic's type.
type UpdateTopicRequest struct {
	MessageType *string `json:"messageType,omitempty" doc:"Immutable: any other value is refused."`
	MaxSendTPS  *int    `json:"maxSendTps,omitempty" minimum:"0"`
	Remark      *string `json:"remark,omitempty" maxLength:"256"`
}

type topicPath struct {
	InstanceID string `path:"instanceId" maxLength:"64"`
	TopicName  string `path:"topicName" maxLength:"127"`
}

type topicOutput struct {
	Body Topic
}

// resourceProblem maps the resources package's errors, then the instances ones.
func resourceProblem(err error) error {
	switch {
	case errors.Is(err, resources.ErrTopicNotFound):
		return newProblem(http.StatusNotFound, "topic_not_found", "The topic does not exist.")
	case errors.Is(err, resources.ErrGroupNotFound):
		return newProblem(http.StatusNotFound, "group_not_found", "The consumer group does not exist.")
	case errors.Is(err, resources.ErrTopicExists):
		return newProblem(http.StatusConflict, "topic_exists", "The instance already has a topic of that name.")
	case errors.Is(err, resources.ErrGroupExists):
		return newProblem(http.StatusConflict, "group_exists", "The instance already has a consumer group of that id.")
	case errors.Is(err, resources.ErrQuotaExceeded):
		return newProblem(http.StatusUnprocessableEntity, "quota_exceeded", "The instance's spec allows no more of these. Delete one or choose a larger spec.")
	case errors.Is(err, resources.ErrNotRunning):
		return newProblem(http.StatusConflict, "instance_not_running", "The instance is not running.")
	case errors.Is(err, resources.ErrNode):
		return newProblem(http.StatusServiceUnavailable, "node_unavailable", "The instance's node did not accept the change. Nothing was changed; try again.")
	}
	return instanceProblem(err)
}

func (s *Server) registerTopics() {
	tags := []string{"Topics"}
	base := BasePath + "/instances/{instanceId}/topics"

	type listTopicsInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		PageParams
		Name        string `query:"name" maxLength:"127" doc:"Only topics whose name contains this, case-insensitive."`
		MessageType string `query:"messageType" enum:"NORMAL,FIFO,DELAY,TRANSACTION" doc:"Only topics of this type."`
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "listTopics", Method: http.MethodGet, Path: base,
		Summary: "List topics", Description: "Topics of the instance, by name.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *listTopicsInput) (*struct{ Body TopicList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		list, err := s.resources.ListTopics(ctx, mustPrincipal(ctx), in.InstanceID, resources.TopicFilter{
			After: after, NameLike: in.Name, MessageType: in.MessageType, Limit: in.PageSize + 1,
		})
		if err != nil {
			return nil, resourceProblem(err)
		}
		list, next := page(list, in.PageSize, func(t resources.Topic) string { return t.Name })
		out := &struct{ Body TopicList }{Body: TopicList{Items: make([]Topic, 0, len(list)), NextPageToken: next}}
		for _, t := range list {
			out.Body.Items = append(out.Body.Items, topicView(t))
		}
		return out, nil
	}))

	type createTopicInput struct {
		IdempotencyHeader
		InstanceID string `path:"instanceId" maxLength:"64"`
		Body       CreateTopicRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createTopic", Method: http.MethodPost, Path: base,
		Summary: "Create a topic", Description: "Records the topic and creates it on the instance's node, which must be RUNNING. If the node cannot take it, nothing is kept and the call fails with 503. Needs developer.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
		Metadata: map[string]any{idempotentOp: true},
	}, handle(s, func(ctx context.Context, in *createTopicInput) (*topicOutput, error) {
		t, err := s.resources.CreateTopic(ctx, mustPrincipal(ctx), in.InstanceID, resources.TopicInput{
			Name: in.Body.TopicName, MessageType: in.Body.MessageType, QueueCount: in.Body.QueueCount,
			MaxSendTPS: in.Body.MaxSendTPS, Remark: in.Body.Remark,
		})
		if err != nil {
			return nil, resourceProblem(err)
		}
		noteAuditResource(ctx, "instances/"+t.InstanceID+"/topics/"+t.Name)
		return &topicOutput{Body: topicView(t)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getTopic", Method: http.MethodGet, Path: base + "/{topicName}",
		Summary: "Get a topic", Description: "The topic's definition and, when the instance is RUNNING, its retained offsets per queue and message count read from the node.", Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *topicPath) (*topicOutput, error) {
		t, err := s.resources.GetTopic(ctx, mustPrincipal(ctx), in.InstanceID, in.TopicName)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &topicOutput{Body: topicView(t)}
		// The definition is answered even when the node cannot be read.
		stats, err := s.resources.TopicStats(ctx, mustPrincipal(ctx), in.InstanceID, in.TopicName)
		switch {
		case err == nil:
			var count int64
			out.Body.Queues = make([]TopicQueue, 0, len(stats.GetQueues()))
			for _, q := range stats.GetQueues() {
				out.Body.Queues = append(out.Body.Queues, TopicQueue{QueueID: q.GetQueueId(), MinOffset: q.GetMinOffset(), MaxOffset: q.GetMaxOffset()})
				count += max(q.GetMaxOffset()-q.GetMinOffset(), 0)
			}
			out.Body.MessageCount = &count
		case !errors.Is(err, resources.ErrNotRunning):
			s.log.WarnContext(ctx, "topic stats", "instance_id", in.InstanceID, "topic", in.TopicName, "err", err)
		}
		return out, nil
	}))

	type updateTopicInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		TopicName  string `path:"topicName" maxLength:"127"`
		Body       UpdateTopicRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "updateTopic", Method: http.MethodPatch, Path: base + "/{topicName}",
		Summary: "Update a topic", Description: "Changes a topic's remark or send limit. The message type is immutable.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *updateTopicInput) (*topicOutput, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/topics/"+in.TopicName)
		t, err := s.resources.UpdateTopic(ctx, mustPrincipal(ctx), in.InstanceID, in.TopicName, resources.TopicUpdate{
			MessageType: in.Body.MessageType, MaxSendTPS: in.Body.MaxSendTPS, Remark: in.Body.Remark,
		})
		if err != nil {
			return nil, resourceProblem(err)
		}
		return &topicOutput{Body: topicView(t)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteTopic", Method: http.MethodDelete, Path: base + "/{topicName}",
		Summary: "Delete a topic", Description: "Deletes the topic and its messages from the node, then its definition. The instance must be RUNNING.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusNoContent,
	}, handle(s, func(ctx context.Context, in *topicPath) (*struct{}, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/topics/"+in.TopicName)
		if err := s.resources.DeleteTopic(ctx, mustPrincipal(ctx), in.InstanceID, in.TopicName); err != nil {
			return nil, resourceProblem(err)
		}
		return nil, nil
	}))
}
