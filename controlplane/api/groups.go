package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/controlplane/resources"
)

// ConsumeRetryPolicy says how a group's failed deliveries are retried.
type ConsumeRetryPolicy struct {
	MaxRetryTimes          int    `json:"maxRetryTimes" doc:"Redeliveries before a message goes to the dead-letter topic %DLQ%<groupId>."`
	RetryPolicy            string `json:"retryPolicy" enum:"DefaultRetryPolicy,FixedRetryPolicy" doc:"DefaultRetryPolicy backs off; FixedRetryPolicy waits fixedIntervalRetryTime."`
	FixedIntervalRetryTime int    `json:"fixedIntervalRetryTime" doc:"Seconds between retries under FixedRetryPolicy."`
}

// ConsumerGroup is a consumer group of an instance.
type ConsumerGroup struct {
	InstanceID         string             `json:"instanceId"`
	GroupID            string             `json:"groupId"`
	DeliveryOrderType  string             `json:"deliveryOrderType" enum:"Concurrently,Orderly"`
	ConsumeRetryPolicy ConsumeRetryPolicy `json:"consumeRetryPolicy"`
	MaxReceiveTPS      int                `json:"maxReceiveTps" doc:"Receive limit in messages per second; 0: the instance's limit only."`
	Remark             string             `json:"remark"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
}

func groupView(g resources.Group) ConsumerGroup {
	return ConsumerGroup{
		InstanceID: g.InstanceID, GroupID: g.GroupID, DeliveryOrderType: g.DeliveryOrderType,
		ConsumeRetryPolicy: ConsumeRetryPolicy{MaxRetryTimes: g.MaxRetryTimes, RetryPolicy: g.RetryPolicy, FixedIntervalRetryTime: g.FixedIntervalRetryTime},
		MaxReceiveTPS:      g.MaxReceiveTPS, Remark: g.Remark, CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC(),
	}
}

type ConsumerGroupList struct {
	Items         []ConsumerGroup `json:"items"`
	NextPageToken string          `json:"nextPageToken,omitempty"`
}

// ConsumeRetryPolicyInput sets the fields it carries; absent ones keep
// their value (or default: 16 retries, DefaultRetryPolicy for Concurrently
// and FixedRetryPolicy every 10 s for Orderly).
type ConsumeRetryPolicyInput struct {
	MaxRetryTimes          *int   `json:"maxRetryTimes,omitempty" minimum:"0" maximum:"1000"`
	RetryPolicy            string `json:"retryPolicy,omitempty" enum:"DefaultRetryPolicy,FixedRetryPolicy"`
	FixedIntervalRetryTime *int   `json:"fixedIntervalRetryTime,omitempty" minimum:"1" maximum:"7200"`
}

func (p *ConsumeRetryPolicyInput) policy() resources.RetryPolicy {
	if p == nil {
		return resources.RetryPolicy{}
	}
	return resources.RetryPolicy{MaxRetryTimes: p.MaxRetryTimes, RetryPolicy: p.RetryPolicy, FixedIntervalRetryTime: p.FixedIntervalRetryTime}
}

// CreateConsumerGroupRequest describes a new consumer group.
type CreateConsumerGroupRequest struct {
	GroupID            string                   `json:"groupId" maxLength:"255" doc:"Letters, digits, %, |, _ and -, at most 120 characters (so %RETRY% and %DLQ% topics of it fit); system names and prefixes are reserved."`
	DeliveryOrderType  string                   `json:"deliveryOrderType" enum:"Concurrently,Orderly"`
	ConsumeRetryPolicy *ConsumeRetryPolicyInput `json:"consumeRetryPolicy,omitempty"`
	MaxReceiveTPS      int                      `json:"maxReceiveTps,omitempty" minimum:"0"`
	Remark             string                   `json:"remark,omitempty" maxLength:"256"`
}

// UpdateConsumerGroupRequest changes the fields it carries.
type UpdateConsumerGroupRequest struct {
	DeliveryOrderType  *string                  `json:"deliveryOrderType,omitempty" enum:"Concurrently,Orderly"`
	ConsumeRetryPolicy *ConsumeRetryPolicyInput `json:"consumeRetryPolicy,omitempty"`
	MaxReceiveTPS      *int                     `json:"maxReceiveTps,omitempty" minimum:"0"`
	Remark             *string                  `json:"remark,omitempty" maxLength:"256"`
}

// QueueLag is a group's progress on one queue of a topic.
type QueueLag struct {
	TopicName      string `json:"topicName"`
	QueueID        int32  `json:"queueId"`
	MinOffset      int64  `json:"minOffset" doc:"Oldest retained offset."`
	MaxOffset      int64  `json:"maxOffset" doc:"Next offset to be written."`
	ConsumerOffset int64  `json:"consumerOffset" doc:"Everything below it is acknowledged."`
	Lag            int64  `json:"lag" doc:"Messages not yet acknowledged: maxOffset - consumerOffset."`
	Inflight       int64  `json:"inflight" doc:"Delivered, not yet acknowledged."`
	// Lag as age.
	OldestUnconsumedAge int64 `json:"oldestUnconsumedAge" doc:"Seconds since the oldest unconsumed message (the one at consumerOffset) was stored; 0 when lag is 0."`
}

// GroupLag is a group's lag per topic and queue.
type GroupLag struct {
	GroupID  string     `json:"groupId"`
	TotalLag int64      `json:"totalLag"`
	Items    []QueueLag `json:"items" doc:"Sorted by topic, then queue."`
	Trend    []LagPoint `json:"trend" doc:"Recent samples of totalLag, oldest first, kept by the node for the last hour (lost when the node restarts)."`
	// Sampling period of trend.
	TrendIntervalSeconds int64 `json:"trendIntervalSeconds" doc:"Seconds between trend samples."`
}

// LagPoint is one sample of a group's total lag.
type LagPoint struct {
	Time time.Time `json:"time"`
	Lag  int64     `json:"lag"`
}

// ResetConsumeOffsetRequest says where to move a group's consumer offsets on a topic.
type ResetConsumeOffsetRequest struct {
	ResetType string     `json:"resetType" enum:"EARLIEST,LATEST,TIMESTAMP" doc:"EARLIEST: the oldest retained message; LATEST: past the newest; TIMESTAMP: the first message stored at or after resetTime."`
	ResetTime *time.Time `json:"resetTime,omitempty" doc:"Required with TIMESTAMP."`
}

// QueueReset is what a reset does to one queue.
type QueueReset struct {
	QueueID       int32 `json:"queueId"`
	CurrentOffset int64 `json:"currentOffset" doc:"The consumer offset before the reset."`
	NewOffset     int64 `json:"newOffset" doc:"The consumer offset after it."`
}

// ConsumeOffsetReset is the outcome (or, on a dry run, the preview) of a reset.
type ConsumeOffsetReset struct {
	GroupID          string       `json:"groupId"`
	TopicName        string       `json:"topicName"`
	DryRun           bool         `json:"dryRun" doc:"True: nothing was changed."`
	Items            []QueueReset `json:"items" doc:"Sorted by queue."`
	RedeliveredCount int64        `json:"redeliveredCount" doc:"Messages delivered again: the sum of currentOffset - newOffset where the offset moves back."`
	SkippedCount     int64        `json:"skippedCount" doc:"Messages skipped: the sum of newOffset - currentOffset where the offset moves forward."`
}

// unconsumedAge is the whole seconds since t, 0 when t is unset.
func unconsumedAge(t *timestamppb.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return max(int64(time.Since(t.AsTime())/time.Second), 0)
}

// DeadLetter is a message a group gave up on, in its %DLQ%<groupId> topic.
type DeadLetter struct {
	MessageID       string     `json:"messageId"`
	OriginTopic     string     `json:"originTopic" doc:"The topic the message was sent to."`
	OriginMessageID string     `json:"originMessageId"`
	Attempts        int32      `json:"attempts" doc:"Deliveries the message had before it was dead-lettered."`
	Tag             string     `json:"tag,omitempty"`
	Keys            []string   `json:"keys,omitempty"`
	BornTime        *time.Time `json:"bornTime,omitempty"`
	StoreTime       *time.Time `json:"storeTime,omitempty" doc:"When it was dead-lettered."`
	BodyPreview     string     `json:"bodyPreview" doc:"The body's first 1 KiB as text (invalid UTF-8 replaced)."`
	BodySize        int64      `json:"bodySize"`
	BodyTruncated   bool       `json:"bodyTruncated"`
}

type DeadLetterList struct {
	Items         []DeadLetter `json:"items" doc:"Queue by queue, oldest first."`
	NextPageToken string       `json:"nextPageToken,omitempty" doc:"Empty on the last page; a page may be short and still have one."`
}

// ResendDeadLettersRequest names the dead letters to send again.
type ResendDeadLettersRequest struct {
	MessageIDs []string `json:"messageIds" minItems:"1" maxItems:"100" doc:"Message ids from the deadLetters list."`
}

// ResendResult is the outcome for one message id.
type ResendResult struct {
	MessageID string `json:"messageId"`
	Resent    bool   `json:"resent"`
	TopicName string `json:"topicName,omitempty" doc:"The original topic the fresh copy went to."`
	Error     string `json:"error,omitempty" doc:"Why it was not resent, e.g. NOT_FOUND."`
	Detail    string `json:"detail,omitempty"`
}

type ResendDeadLettersResponse struct {
	Items []ResendResult `json:"items" doc:"One per requested id, in request order."`
}

func tsPtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime().UTC()
	return &v
}

type groupPath struct {
	InstanceID string `path:"instanceId" maxLength:"64"`
	GroupID    string `path:"groupId" maxLength:"255"`
}

type groupOutput struct {
	Body ConsumerGroup
}

func (s *Server) registerGroups() {
	tags := []string{"Consumer groups"}
	base := BasePath + "/instances/{instanceId}/consumerGroups"

	type listGroupsInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		PageParams
		Name string `query:"name" maxLength:"255" doc:"Only groups whose id contains this, case-insensitive."`
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "listConsumerGroups", Method: http.MethodGet, Path: base,
		Summary: "List consumer groups", Description: "Consumer groups of the instance, by id.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *listGroupsInput) (*struct{ Body ConsumerGroupList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		list, err := s.resources.ListGroups(ctx, mustPrincipal(ctx), in.InstanceID, resources.GroupFilter{
			After: after, NameLike: in.Name, Limit: in.PageSize + 1,
		})
		if err != nil {
			return nil, resourceProblem(err)
		}
		list, next := page(list, in.PageSize, func(g resources.Group) string { return g.GroupID })
		out := &struct{ Body ConsumerGroupList }{Body: ConsumerGroupList{Items: make([]ConsumerGroup, 0, len(list)), NextPageToken: next}}
		for _, g := range list {
			out.Body.Items = append(out.Body.Items, groupView(g))
		}
		return out, nil
	}))

	type createGroupInput struct {
		IdempotencyHeader
		InstanceID string `path:"instanceId" maxLength:"64"`
		Body       CreateConsumerGroupRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createConsumerGroup", Method: http.MethodPost, Path: base,
		Summary: "Create a consumer group", Description: "Records the group and creates it on the instance's node, which must be RUNNING. If the node cannot take it, nothing is kept and the call fails with 503. Needs developer.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
		Metadata: map[string]any{idempotentOp: true},
	}, handle(s, func(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
		g, err := s.resources.CreateGroup(ctx, mustPrincipal(ctx), in.InstanceID, resources.GroupInput{
			GroupID: in.Body.GroupID, DeliveryOrderType: in.Body.DeliveryOrderType, Retry: in.Body.ConsumeRetryPolicy.policy(),
			MaxReceiveTPS: in.Body.MaxReceiveTPS, Remark: in.Body.Remark,
		})
		if err != nil {
			return nil, resourceProblem(err)
		}
		noteAuditResource(ctx, "instances/"+g.InstanceID+"/consumerGroups/"+g.GroupID)
		return &groupOutput{Body: groupView(g)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getConsumerGroup", Method: http.MethodGet, Path: base + "/{groupId}",
		Summary: "Get a consumer group", Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *groupPath) (*groupOutput, error) {
		g, err := s.resources.GetGroup(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID)
		if err != nil {
			return nil, resourceProblem(err)
		}
		return &groupOutput{Body: groupView(g)}, nil
	}))

	type updateGroupInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		GroupID    string `path:"groupId" maxLength:"255"`
		Body       UpdateConsumerGroupRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "updateConsumerGroup", Method: http.MethodPatch, Path: base + "/{groupId}",
		Summary: "Update a consumer group", Description: "Changes a group's delivery order, retry policy, receive limit or remark. Delivery order and retry count are applied to the node, which must be RUNNING.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *updateGroupInput) (*groupOutput, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/consumerGroups/"+in.GroupID)
		upd := resources.GroupUpdate{DeliveryOrderType: in.Body.DeliveryOrderType, MaxReceiveTPS: in.Body.MaxReceiveTPS, Remark: in.Body.Remark}
		if in.Body.ConsumeRetryPolicy != nil {
			p := in.Body.ConsumeRetryPolicy.policy()
			upd.Retry = &p
		}
		g, err := s.resources.UpdateGroup(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID, upd)
		if err != nil {
			return nil, resourceProblem(err)
		}
		return &groupOutput{Body: groupView(g)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteConsumerGroup", Method: http.MethodDelete, Path: base + "/{groupId}",
		Summary: "Delete a consumer group", Description: "Deletes the group and its consume offsets from the node, then its definition. The instance must be RUNNING.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusNoContent,
	}, handle(s, func(ctx context.Context, in *groupPath) (*struct{}, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/consumerGroups/"+in.GroupID)
		if err := s.resources.DeleteGroup(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID); err != nil {
			return nil, resourceProblem(err)
		}
		return nil, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getConsumerGroupLag", Method: http.MethodGet, Path: base + "/{groupId}/lag",
		Summary: "Get a consumer group's lag", Description: "Per topic and queue: the retained range, the consumer offset, the lag in messages and the age of the oldest unconsumed message; and the recent trend of the total lag. Read from the node (the instance must be RUNNING).",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *groupPath) (*struct{ Body GroupLag }, error) {
		resp, err := s.resources.GroupLag(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID)
		if err != nil {
			return nil, resourceProblem(err)
		}
		offs := resp.Offsets
		out := &struct{ Body GroupLag }{Body: GroupLag{
			GroupID: in.GroupID, TotalLag: offs.GetTotalLag(), Items: make([]QueueLag, 0, len(offs.GetOffsets())),
			Trend: make([]LagPoint, 0, len(resp.Trend)), TrendIntervalSeconds: int64(resp.TrendInterval / time.Second),
		}}
		for _, o := range offs.GetOffsets() {
			out.Body.Items = append(out.Body.Items, QueueLag{
				TopicName: o.GetTopic(), QueueID: o.GetQueueId(), MinOffset: o.GetMinOffset(), MaxOffset: o.GetMaxOffset(),
				ConsumerOffset: o.GetConsumerOffset(), Lag: o.GetLag(), Inflight: o.GetInflight(),
				OldestUnconsumedAge: unconsumedAge(o.GetOldestUnconsumedTime()),
			})
		}
		for _, pt := range resp.Trend {
			out.Body.Trend = append(out.Body.Trend, LagPoint{Time: pt.GetTime().AsTime().UTC(), Lag: pt.GetLag()})
		}
		return out, nil
	}))
	s.registerGroupClients(tags, base)

	type resetOffsetInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		GroupID    string `path:"groupId" maxLength:"255"`
		TopicName  string `path:"topicName" maxLength:"127"`
		DryRun     bool   `query:"dryRun" doc:"Compute the new offsets and counts without changing anything (needs read access only)."`
		Body       ResetConsumeOffsetRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "resetConsumeOffset", Method: http.MethodPatch, Path: base + "/{groupId}/consumeOffsets/{topicName}",
		Summary: "Reset a consumer group's offsets on a topic",
		Description: "Moves the group's consumer offset on every queue of the topic and drops its in-flight deliveries there, on the node (the instance must be RUNNING). " +
			"With dryRun=true, answers the same shape and changes nothing. Needs developer unless dryRun.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *resetOffsetInput) (*struct{ Body ConsumeOffsetReset }, error) {
		if !in.DryRun {
			noteAuditResource(ctx, "instances/"+in.InstanceID+"/consumerGroups/"+in.GroupID+"/consumeOffsets/"+in.TopicName)
		}
		ri := resources.ResetInput{Type: in.Body.ResetType, DryRun: in.DryRun}
		if in.Body.ResetTime != nil {
			ri.Time = *in.Body.ResetTime
		}
		resp, err := s.resources.ResetOffset(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID, in.TopicName, ri)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &struct{ Body ConsumeOffsetReset }{Body: ConsumeOffsetReset{
			GroupID: in.GroupID, TopicName: in.TopicName, DryRun: in.DryRun, Items: make([]QueueReset, 0, len(resp.GetChanges())),
		}}
		for _, c := range resp.GetChanges() {
			out.Body.Items = append(out.Body.Items, QueueReset{QueueID: c.GetQueueId(), CurrentOffset: c.GetCurrentOffset(), NewOffset: c.GetNewOffset()})
			if d := c.GetNewOffset() - c.GetCurrentOffset(); d > 0 {
				out.Body.SkippedCount += d
			} else {
				out.Body.RedeliveredCount -= d
			}
		}
		return out, nil
	}))
	type deadLettersInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		GroupID    string `path:"groupId" maxLength:"255"`
		PageSize   int    `query:"pageSize" minimum:"1" maximum:"100" default:"20" doc:"Items per page."`
		PageToken  string `query:"pageToken" maxLength:"1024" doc:"The nextPageToken of the previous page."`
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "listDeadLetters", Method: http.MethodGet, Path: base + "/{groupId}/deadLetters",
		Summary: "List a consumer group's dead letters", Description: "Messages the group gave up on (its %DLQ%<groupId> topic), read from the node (the instance must be RUNNING), with bodies cut to a preview.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *deadLettersInput) (*struct{ Body DeadLetterList }, error) {
		resp, err := s.resources.DeadLetters(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID, in.PageSize, in.PageToken)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &struct{ Body DeadLetterList }{Body: DeadLetterList{Items: make([]DeadLetter, 0, len(resp.GetMessages())), NextPageToken: resp.GetNextPageToken()}}
		for _, m := range resp.GetMessages() {
			out.Body.Items = append(out.Body.Items, DeadLetter{
				MessageID: m.GetMessageId(), OriginTopic: m.GetOriginTopic(), OriginMessageID: m.GetOriginMessageId(),
				Attempts: m.GetDeliveryAttempt(), Tag: m.GetTag(), Keys: m.GetKeys(),
				BornTime: tsPtr(m.GetBornTime()), StoreTime: tsPtr(m.GetStoreTime()),
				BodyPreview: strings.ToValidUTF8(string(m.GetBody()), "\uFFFD"), BodySize: m.GetBodySize(), BodyTruncated: m.GetBodyTruncated(),
			})
		}
		return out, nil
	}))

	type resendInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		GroupID    string `path:"groupId" maxLength:"255"`
		Body       ResendDeadLettersRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "resendDeadLetters", Method: http.MethodPost, Path: base + "/{groupId}/deadLetters/resend",
		Summary: "Resend dead letters", Description: "Sends a fresh copy of each named dead letter (same id, body, tag, keys and properties) to its original topic; the dead-letter copies stay. Answers one result per id. Needs developer; the instance must be RUNNING.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *resendInput) (*struct{ Body ResendDeadLettersResponse }, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/consumerGroups/"+in.GroupID+"/deadLetters")
		rs, err := s.resources.ResendDeadLetters(ctx, mustPrincipal(ctx), in.InstanceID, in.GroupID, in.Body.MessageIDs)
		if err != nil {
			return nil, resourceProblem(err)
		}
		out := &struct{ Body ResendDeadLettersResponse }{Body: ResendDeadLettersResponse{Items: make([]ResendResult, 0, len(rs))}}
		for _, r := range rs {
			out.Body.Items = append(out.Body.Items, ResendResult{
				MessageID: r.GetMessageId(), Resent: r.GetErrorCode() == "", TopicName: r.GetTopic(),
				Error: r.GetErrorCode(), Detail: r.GetErrorMessage(),
			})
		}
		return out, nil
	}))
}
