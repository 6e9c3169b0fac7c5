package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/iam/acl"
)

// AuditEvent is one audited call.
type AuditEvent struct {
	ID         string    `json:"id"`
	ActorID    string    `json:"actorId"`
	ActorEmail string    `json:"actorEmail"`
	Action     string    `json:"action" doc:"The API operation, e.g. createUser."`
	Resource   string    `json:"resource" doc:"What it acted on, e.g. users/<id>."`
	StatusCode int       `json:"statusCode"`
	Result     string    `json:"result" enum:"success,failure"`
	SourceIP   string    `json:"sourceIp"`
	UserAgent  string    `json:"userAgent"`
	RequestID  string    `json:"requestId"`
	CreatedAt  time.Time `json:"createdAt"`
}

type AuditEventList struct {
	Items         []AuditEvent `json:"items"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}

type listAuditInput struct {
	PageParams
	Actor    string    `query:"actor" maxLength:"254" doc:"Actor user id or email."`
	Action   string    `query:"action" maxLength:"100"`
	Resource string    `query:"resource" maxLength:"200" doc:"Resource prefix, e.g. users/."`
	Start    time.Time `query:"start" doc:"Events at or after this time."`
	End      time.Time `query:"end" doc:"Events before this time."`
}

func (s *Server) registerAudit() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listAuditEvents", Method: http.MethodGet, Path: BasePath + "/auditEvents",
		Summary: "List audit events", Description: "Every mutating call in the caller's account, newest first. Needs admin.",
		Tags: []string{"Audit"}, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *listAuditInput) (*struct{ Body AuditEventList }, error) {
		p := mustPrincipal(ctx)
		if err := acl.Authorize(string(p.Role), acl.AuditRead); err != nil {
			return nil, err
		}
		before, err := in.cursor()
		if err != nil {
			return nil, err
		}
		f := audit.Filter{Actor: in.Actor, Action: in.Action, Resource: in.Resource, BeforeID: before, Limit: in.PageSize + 1}
		if !in.Start.IsZero() {
			f.Start = &in.Start
		}
		if !in.End.IsZero() {
			f.End = &in.End
		}
		events, err := s.audit.List(ctx, p.AccountID, f)
		if err != nil {
			return nil, err
		}
		events, next := page(events, in.PageSize, func(e audit.Event) string { return e.ID })
		out := &struct{ Body AuditEventList }{Body: AuditEventList{Items: make([]AuditEvent, 0, len(events)), NextPageToken: next}}
		for _, e := range events {
			out.Body.Items = append(out.Body.Items, AuditEvent{
				ID: e.ID, ActorID: e.ActorID, ActorEmail: e.ActorEmail, Action: e.Action, Resource: e.Resource,
				StatusCode: e.StatusCode, Result: e.Result, SourceIP: e.SourceIP, UserAgent: e.UserAgent,
				RequestID: e.RequestID, CreatedAt: e.CreatedAt.UTC(),
			})
		}
		return out, nil
	}))
}
