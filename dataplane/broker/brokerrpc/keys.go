package brokerrpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/acl"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
)

// A proxy-role node verifies its clients' signatures with its broker node's
// access keys: it polls ListAccessKeys (SyncAccessKeys) into a local
// acl.Store (acl.NewMemory) that its proxy's ACLAuthenticator reads. The
// secrets cross the broker rpc service, which is plaintext gRPC guarded by
// the admin token only: broker and proxy nodes must share loopback or a
// private network (see broker.proto). Keys are never logged.

// DefaultKeySyncInterval is how often a proxy node asks its broker node for
// changed access keys: a key deleted or disabled on the broker stops working
// on the proxy within about this long.
const DefaultKeySyncInterval = 2 * time.Second

// AccessKeys is an answer of ListAccessKeys.
type AccessKeys struct {
	// Revision identifies the broker's set of keys (acl.Store.Revision).
	Revision uint64
	// Unchanged: Revision is the one asked with; Keys is empty.
	Unchanged bool
	Keys      []acl.AccessKey // with their secrets
}

// ListAccessKeys answers every key of the broker node, secrets included,
// unless the caller already has the current revision.
func (s *Server) ListAccessKeys(_ context.Context, req *brokerpb.ListAccessKeysRequest) (*brokerpb.ListAccessKeysResponse, error) {
	if s.keys == nil {
		return nil, status.Error(codes.FailedPrecondition, "this broker node serves no access keys")
	}
	keys, rev := s.keys.Snapshot()
	if req.GetKnownRevision() == rev {
		return &brokerpb.ListAccessKeysResponse{Revision: rev, Unchanged: true}, nil
	}
	out := &brokerpb.ListAccessKeysResponse{Revision: rev, Keys: make([]*brokerpb.AccessKey, len(keys))}
	for i, k := range keys {
		out.Keys[i] = accessKeyToPB(k)
	}
	return out, nil
}

// ListAccessKeys asks the broker node for its access keys, secrets
// included; known is the revision the caller has (0: none).
func (c *Client) ListAccessKeys(ctx context.Context, known uint64) (AccessKeys, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.rpc.ListAccessKeys(ctx, &brokerpb.ListAccessKeysRequest{KnownRevision: known})
	if err != nil {
		return AccessKeys{}, fromStatus("ListAccessKeys", err)
	}
	out := AccessKeys{Revision: resp.GetRevision(), Unchanged: resp.GetUnchanged()}
	if !out.Unchanged {
		out.Keys = make([]acl.AccessKey, len(resp.GetKeys()))
		for i, k := range resp.GetKeys() {
			out.Keys[i] = accessKeyFromPB(k)
		}
	}
	return out, nil
}

// KeySource is where SyncAccessKeys reads keys: a *Client.
type KeySource interface {
	ListAccessKeys(ctx context.Context, known uint64) (AccessKeys, error)
}

var _ KeySource = (*Client)(nil)

// KeySyncConfig configures SyncAccessKeys.
type KeySyncConfig struct {
	Source KeySource  // required: the broker node
	Keys   *acl.Store // required: the local copy, replaced on every change
	// Interval between polls; 0: DefaultKeySyncInterval.
	Interval time.Duration
	Log      *slog.Logger // nil: discard
}

// SyncAccessKeys keeps cfg.Keys a copy of the broker node's keys until ctx
// ends: it polls at once and then every Interval, replacing the whole set
// when the broker's revision moved. A failed poll keeps the last copy (the
// proxy goes on verifying while the broker is briefly away) and is retried
// at the next tick; until the first poll succeeds the copy is whatever
// cfg.Keys held (empty for acl.NewMemory: every signed request is refused
// as an unknown key). It returns nil when ctx ends.
func SyncAccessKeys(ctx context.Context, cfg KeySyncConfig) error {
	if cfg.Source == nil || cfg.Keys == nil {
		return errors.New("access key sync: a source and a key store are required")
	}
	interval := cfg.Interval
	if interval <= 0 {
		interval = DefaultKeySyncInterval
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var known uint64 // the broker's revision the local copy is at; 0: none yet
	failing := false
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := syncOnce(ctx, cfg, interval, &known, log)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			failing = true
			if known == 0 {
				log.Warn("cannot get access keys from the broker node yet; signed requests are refused until it answers", slog.Any("err", err))
			} else {
				log.Warn("cannot refresh access keys from the broker node; verifying with the last copy", slog.Any("err", err))
			}
		case err == nil && failing:
			failing = false
			log.Info("access keys from the broker node are current again")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// syncOnce polls once and applies a change.
func syncOnce(ctx context.Context, cfg KeySyncConfig, interval time.Duration, known *uint64, log *slog.Logger) error {
	cctx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
	defer cancel()
	ks, err := cfg.Source.ListAccessKeys(cctx, *known)
	if err != nil {
		return err
	}
	if ks.Unchanged {
		return nil
	}
	if err := cfg.Keys.Replace(ks.Keys); err != nil {
		return err
	}
	if *known == 0 {
		log.Info("access keys synced from the broker node", slog.Int("keys", len(ks.Keys)))
	} else {
		log.Debug("access keys changed on the broker node", slog.Int("keys", len(ks.Keys)))
	}
	*known = ks.Revision
	return nil
}

func accessKeyToPB(k acl.AccessKey) *brokerpb.AccessKey {
	out := &brokerpb.AccessKey{
		AccessKey: k.AccessKey, SecretKey: k.SecretKey, Enabled: k.Enabled,
		SourceCidrs: k.SourceCIDRs, Permissions: make([]*brokerpb.Permission, len(k.Permissions)),
	}
	for i, p := range k.Permissions {
		pp := &brokerpb.Permission{ResourceType: string(p.ResourceType), ResourceName: p.ResourceName, Decision: string(p.Decision)}
		for _, a := range p.Actions {
			pp.Actions = append(pp.Actions, string(a))
		}
		out.Permissions[i] = pp
	}
	return out
}

func accessKeyFromPB(k *brokerpb.AccessKey) acl.AccessKey {
	out := acl.AccessKey{AccessKey: k.GetAccessKey(), SecretKey: k.GetSecretKey(), Enabled: k.GetEnabled(), SourceCIDRs: k.GetSourceCidrs()}
	for _, p := range k.GetPermissions() {
		ap := acl.Permission{ResourceType: acl.ResourceType(p.GetResourceType()), ResourceName: p.GetResourceName(), Decision: acl.Decision(p.GetDecision())}
		for _, a := range p.GetActions() {
			ap.Actions = append(ap.Actions, acl.Action(a))
		}
		out.Permissions = append(out.Permissions, ap)
	}
	return out
}
