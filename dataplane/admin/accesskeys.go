package admin

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

func (v *service) keys() (*acl.Store, error) {
	if v.s.keys == nil {
		return nil, status.Error(codes.FailedPrecondition, "this node keeps no access keys")
	}
	return v.s.keys, nil
}

func (v *service) PutAccessKey(ctx context.Context, req *adminpb.PutAccessKeyRequest) (*adminpb.AccessKey, error) {
	ks, err := v.keys()
	if err != nil {
		return nil, err
	}
	if req.GetKey() == nil {
		return nil, invalid("key is required")
	}
	k, err := fromAccessKey(req.GetKey())
	if err != nil {
		return nil, err
	}
	if err := ks.Put(k); err != nil {
		if errors.Is(err, acl.ErrInvalid) {
			return nil, invalid("%v", err)
		}
		v.s.log.ErrorContext(ctx, "admin call failed", "op", "PutAccessKey", "err", err)
		return nil, status.Error(codes.Internal, "internal error in PutAccessKey; the node's log has the details")
	}
	v.s.log.InfoContext(ctx, "access key stored", "access_key", k.AccessKey, "enabled", k.Enabled)
	return toAccessKey(k), nil
}

func (v *service) DeleteAccessKey(ctx context.Context, req *adminpb.DeleteAccessKeyRequest) (*adminpb.DeleteAccessKeyResponse, error) {
	ks, err := v.keys()
	if err != nil {
		return nil, err
	}
	if req.GetAccessKey() == "" {
		return nil, invalid("access_key is required")
	}
	ok, err := ks.Delete(req.GetAccessKey())
	if err != nil {
		v.s.log.ErrorContext(ctx, "admin call failed", "op", "DeleteAccessKey", "err", err)
		return nil, status.Error(codes.Internal, "internal error in DeleteAccessKey; the node's log has the details")
	}
	if !ok {
		return nil, status.Errorf(codes.NotFound, "access key %s not found", req.GetAccessKey())
	}
	v.s.log.InfoContext(ctx, "access key deleted", "access_key", req.GetAccessKey())
	return &adminpb.DeleteAccessKeyResponse{}, nil
}

func (v *service) ListAccessKeys(ctx context.Context, _ *adminpb.ListAccessKeysRequest) (*adminpb.ListAccessKeysResponse, error) {
	ks, err := v.keys()
	if err != nil {
		return nil, err
	}
	var out adminpb.ListAccessKeysResponse
	for _, k := range ks.List() {
		out.Keys = append(out.Keys, toAccessKey(k))
	}
	return &out, nil
}

// toAccessKey converts k without its secret.
func toAccessKey(k acl.AccessKey) *adminpb.AccessKey {
	k.SecretKey = ""
	return adminpb.AccessKeyOf(k)
}

func fromAccessKey(k *adminpb.AccessKey) (acl.AccessKey, error) {
	out := acl.AccessKey{AccessKey: k.GetAccessKey(), SecretKey: k.GetSecretKey(), Enabled: k.GetEnabled(), SourceCIDRs: k.GetSourceCidrs()}
	for i, p := range k.GetPermissions() {
		ap := acl.Permission{ResourceName: p.GetResourceName()}
		switch p.GetResourceType() {
		case adminpb.ResourceType_RESOURCE_TYPE_TOPIC:
			ap.ResourceType = acl.ResourceTopic
		case adminpb.ResourceType_RESOURCE_TYPE_GROUP:
			ap.ResourceType = acl.ResourceGroup
		default:
			return acl.AccessKey{}, invalid("permission %d: resource_type is required", i)
		}
		for _, a := range p.GetActions() {
			switch a {
			case adminpb.Action_ACTION_PUB:
				ap.Actions = append(ap.Actions, acl.ActionPub)
			case adminpb.Action_ACTION_SUB:
				ap.Actions = append(ap.Actions, acl.ActionSub)
			default:
				return acl.AccessKey{}, invalid("permission %d: action %v: want ACTION_PUB or ACTION_SUB", i, a)
			}
		}
		switch p.GetDecision() {
		case adminpb.Decision_DECISION_ALLOW:
			ap.Decision = acl.Allow
		case adminpb.Decision_DECISION_DENY:
			ap.Decision = acl.Deny
		default:
			return acl.AccessKey{}, invalid("permission %d: decision is required", i)
		}
		out.Permissions = append(out.Permissions, ap)
	}
	return out, nil
}
