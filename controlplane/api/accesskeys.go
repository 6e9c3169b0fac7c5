package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/dataplane/acl"
)

// AccessKeyPermission allows or denies actions on topics or groups.
type AccessKeyPermission struct {
	ResourceType string   `json:"resourceType" enum:"TOPIC,GROUP"`
	ResourceName string   `json:"resourceName" minLength:"1" maxLength:"255" doc:"An exact name, \"prefix*\" for every name starting with prefix, or \"*\" for all."`
	Actions      []string `json:"actions" minItems:"1" maxItems:"2" enum:"PUB,SUB"`
	Decision     string   `json:"decision" enum:"ALLOW,DENY" doc:"DENY beats ALLOW; with no matching ALLOW the action is refused."`
}

// AccessKey is a data-plane credential of an instance. The secret key is
// never part of it.
type AccessKey struct {
	InstanceID  string                `json:"instanceId"`
	AccessKey   string                `json:"accessKey"`
	Enabled     bool                  `json:"enabled"`
	Permissions []AccessKeyPermission `json:"permissions"`
	SourceIPs   []string              `json:"sourceIps" doc:"IP addresses or CIDR prefixes the key may be used from; empty: any."`
	Remark      string                `json:"remark"`
	CreatedAt   time.Time             `json:"createdAt"`
	UpdatedAt   time.Time             `json:"updatedAt"`
}

// CreatedAccessKey is the answer to a create: the key and, this once, its secret.
type CreatedAccessKey struct {
	AccessKey
	SecretKey string `json:"secretKey,omitempty" doc:"Shown in this response only; store it now. Absent when the response is a replay of an idempotent create."`
}

type AccessKeyList struct {
	Items         []AccessKey `json:"items"`
	NextPageToken string      `json:"nextPageToken,omitempty"`
}

// CreateAccessKeyRequest describes a new access key.
type CreateAccessKeyRequest struct {
	Remark      string                `json:"remark,omitempty" maxLength:"256"`
	Permissions []AccessKeyPermission `json:"permissions" minItems:"1" maxItems:"100"`
	SourceIPs   []string              `json:"sourceIps,omitempty" maxItems:"50" doc:"IP addresses or CIDR prefixes; empty: any address."`
}

// UpdateAccessKeyRequest changes the fields it carries.
type UpdateAccessKeyRequest struct {
	Enabled     *bool                  `json:"enabled,omitempty"`
	Permissions *[]AccessKeyPermission `json:"permissions,omitempty" minItems:"1" maxItems:"100" doc:"Replaces all permissions."`
	SourceIPs   *[]string              `json:"sourceIps,omitempty" maxItems:"50" doc:"Replaces the list; [] allows any address."`
	Remark      *string                `json:"remark,omitempty" maxLength:"256"`
}

func accessKeyView(k resources.AccessKey) AccessKey {
	out := AccessKey{InstanceID: k.InstanceID, AccessKey: k.AccessKey, Enabled: k.Enabled, SourceIPs: k.SourceIPs,
		Remark: k.Remark, CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(), Permissions: make([]AccessKeyPermission, 0, len(k.Permissions))}
	if out.SourceIPs == nil {
		out.SourceIPs = []string{}
	}
	for _, p := range k.Permissions {
		ap := AccessKeyPermission{ResourceType: string(p.ResourceType), ResourceName: p.ResourceName, Decision: string(p.Decision), Actions: make([]string, 0, len(p.Actions))}
		for _, a := range p.Actions {
			ap.Actions = append(ap.Actions, string(a))
		}
		out.Permissions = append(out.Permissions, ap)
	}
	return out
}

func aclPermissions(ps []AccessKeyPermission) []acl.Permission {
	out := make([]acl.Permission, 0, len(ps))
	for _, p := range ps {
		ap := acl.Permission{ResourceType: acl.ResourceType(p.ResourceType), ResourceName: p.ResourceName, Decision: acl.Decision(p.Decision)}
		for _, a := range p.Actions {
			ap.Actions = append(ap.Actions, acl.Action(a))
		}
		out = append(out, ap)
	}
	return out
}

func accessKeyProblem(err error) error {
	switch {
	case errors.Is(err, resources.ErrAccessKeyNotFound):
		return newProblem(http.StatusNotFound, "access_key_not_found", "The access key does not exist.")
	case errors.Is(err, resources.ErrSecretUnreadable):
		return newProblem(http.StatusInternalServerError, "secret_unreadable", "The stored secret key cannot be decrypted with any configured master key (was the key it was sealed under dropped before `orbit master-key reencrypt`?). Configure that key as an old master key, or delete the access key and create a new one.")
	}
	return resourceProblem(err)
}

type accessKeyPath struct {
	InstanceID string `path:"instanceId" maxLength:"64"`
	AccessKey  string `path:"accessKey" maxLength:"64"`
}

type accessKeyOutput struct {
	Body AccessKey
}

func (s *Server) registerAccessKeys() {
	tags := []string{"Access keys"}
	base := BasePath + "/instances/{instanceId}/accessKeys"

	type listInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		PageParams
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "listAccessKeys", Method: http.MethodGet, Path: base,
		Summary: "List access keys", Description: "Access keys of the instance, by access key. Secret keys are never listed.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *listInput) (*struct{ Body AccessKeyList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		list, err := s.akeys.ListAccessKeys(ctx, mustPrincipal(ctx), in.InstanceID, resources.AccessKeyFilter{After: after, Limit: in.PageSize + 1})
		if err != nil {
			return nil, accessKeyProblem(err)
		}
		list, next := page(list, in.PageSize, func(k resources.AccessKey) string { return k.AccessKey })
		out := &struct{ Body AccessKeyList }{Body: AccessKeyList{Items: make([]AccessKey, 0, len(list)), NextPageToken: next}}
		for _, k := range list {
			out.Body.Items = append(out.Body.Items, accessKeyView(k))
		}
		return out, nil
	}))

	type createInput struct {
		IdempotencyHeader
		InstanceID string `path:"instanceId" maxLength:"64"`
		Body       CreateAccessKeyRequest
	}
	type createOutput struct {
		Replayed string `header:"Idempotent-Replayed"`
		Body     CreatedAccessKey
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createAccessKey", Method: http.MethodPost, Path: base,
		Summary: "Create an access key",
		Description: "Generates an access key and secret key for the instance's RocketMQ endpoint and puts them on its node, which must be RUNNING. " +
			"The secret key is in this response only. If the node cannot take the key, nothing is kept and the call fails with 503. " +
			"A retry with the same Idempotency-Key returns the key without its secret. Needs developer.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *createInput) (*createOutput, error) {
		p := mustPrincipal(ctx)
		// Idempotency is handled here rather than by the shared middleware,
		// which would keep the response (and so the secret key) in the
		// database: the stored replay carries no secret.
		key := in.IdempotencyKey
		if key != "" && s.idem != nil {
			body, _ := json.Marshal(in.Body)
			sum := sha256.Sum256(body)
			prev, err := s.idem.Begin(ctx, p.AccountID, key, http.MethodPost, BasePath+"/instances/"+in.InstanceID+"/accessKeys", sum[:])
			switch {
			case errors.Is(err, idempotency.ErrMismatch):
				return nil, newProblem(http.StatusUnprocessableEntity, "idempotency_key_reused", "This Idempotency-Key was already used for a different request.")
			case errors.Is(err, idempotency.ErrInProgress):
				return nil, newProblem(http.StatusConflict, "idempotency_key_in_progress", "A request with this Idempotency-Key is still in progress.")
			case err != nil:
				loggerFrom(ctx, s.log).Error("idempotency lookup", "err", err)
				return nil, newProblem(http.StatusServiceUnavailable, "unavailable", "The request could not be checked for duplicates. Retry it.")
			case prev != nil:
				var k AccessKey
				if err := json.Unmarshal(prev.Body, &k); err != nil {
					return nil, err
				}
				return &createOutput{Replayed: "true", Body: CreatedAccessKey{AccessKey: k}}, nil
			}
		}
		k, err := s.akeys.CreateAccessKey(ctx, p, in.InstanceID, resources.AccessKeyInput{
			Remark: in.Body.Remark, Permissions: aclPermissions(in.Body.Permissions), SourceIPs: in.Body.SourceIPs,
		})
		if key != "" && s.idem != nil {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			var ierr error
			if err != nil {
				ierr = s.idem.Release(wctx, p.AccountID, key)
			} else {
				body, _ := json.Marshal(accessKeyView(k))
				ierr = s.idem.Complete(wctx, p.AccountID, key, idempotency.Response{StatusCode: http.StatusCreated, ContentType: "application/json", Body: body})
			}
			if ierr != nil {
				loggerFrom(ctx, s.log).Error("store idempotent response", "err", ierr)
			}
		}
		if err != nil {
			return nil, accessKeyProblem(err)
		}
		noteAuditResource(ctx, "instances/"+k.InstanceID+"/accessKeys/"+k.AccessKey)
		return &createOutput{Body: CreatedAccessKey{AccessKey: accessKeyView(k), SecretKey: k.SecretKey}}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getAccessKey", Method: http.MethodGet, Path: base + "/{accessKey}",
		Summary: "Get an access key", Description: "The key without its secret.", Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *accessKeyPath) (*accessKeyOutput, error) {
		k, err := s.akeys.GetAccessKey(ctx, mustPrincipal(ctx), in.InstanceID, in.AccessKey)
		if err != nil {
			return nil, accessKeyProblem(err)
		}
		return &accessKeyOutput{Body: accessKeyView(k)}, nil
	}))

	type updateInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		AccessKey  string `path:"accessKey" maxLength:"64"`
		Body       UpdateAccessKeyRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "updateAccessKey", Method: http.MethodPatch, Path: base + "/{accessKey}",
		Summary: "Update an access key", Description: "Enables or disables the key or changes its permissions, source addresses or remark. The change is put on the node first, which must be RUNNING; if it cannot take it nothing changes (503).",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *updateInput) (*accessKeyOutput, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/accessKeys/"+in.AccessKey)
		up := resources.AccessKeyUpdate{Enabled: in.Body.Enabled, SourceIPs: in.Body.SourceIPs, Remark: in.Body.Remark}
		if in.Body.Permissions != nil {
			ps := aclPermissions(*in.Body.Permissions)
			up.Permissions = &ps
		}
		k, err := s.akeys.UpdateAccessKey(ctx, mustPrincipal(ctx), in.InstanceID, in.AccessKey, up)
		if err != nil {
			return nil, accessKeyProblem(err)
		}
		return &accessKeyOutput{Body: accessKeyView(k)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteAccessKey", Method: http.MethodDelete, Path: base + "/{accessKey}",
		Summary: "Delete an access key", Description: "Removes the key from the node, where it stops working at once, then its record. The instance must be RUNNING.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusNoContent,
	}, handle(s, func(ctx context.Context, in *accessKeyPath) (*struct{}, error) {
		noteAuditResource(ctx, "instances/"+in.InstanceID+"/accessKeys/"+in.AccessKey)
		if err := s.akeys.DeleteAccessKey(ctx, mustPrincipal(ctx), in.InstanceID, in.AccessKey); err != nil {
			return nil, accessKeyProblem(err)
		}
		return nil, nil
	}))
}
