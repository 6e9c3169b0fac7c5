// Package acl holds a node's access keys: who may connect to its RocketMQ
// endpoint (an AccessKey/SecretKey pair signed with MQv2-HMAC-SHA1, spec §3)
// and what each key may do (publish to topics, subscribe with groups, from
// which source addresses).
//
// Keys persist in a bbolt file in the node's data directory, so the node keeps
// authenticating while the control plane is away; lookups read an in-memory
// snapshot that Put and Delete replace at once, so a disabled or deleted key
// stops working for the very next request.
package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ResourceType is what a Permission is about.
type ResourceType string

// Resource types.
const (
	ResourceTopic ResourceType = "TOPIC"
	ResourceGroup ResourceType = "GROUP"
)

// Action is what a client does with a resource.
type Action string

// Actions.
const (
	ActionPub Action = "PUB"
	ActionSub Action = "SUB"
)

// Decision is the outcome of a matching Permission.
type Decision string

// Decisions.
const (
	Allow Decision = "ALLOW"
	Deny  Decision = "DENY"
)

// Permission allows or denies actions on resources. ResourceName is an exact
// name, "prefix*" for every name starting with prefix, or "*" for all.
type Permission struct {
	ResourceType ResourceType `json:"resourceType"`
	ResourceName string       `json:"resourceName"`
	Actions      []Action     `json:"actions"`
	Decision     Decision     `json:"decision"`
}

// AccessKey is one credential of a node.
type AccessKey struct {
	AccessKey   string       `json:"accessKey"`
	SecretKey   string       `json:"secretKey"`
	Enabled     bool         `json:"enabled"`
	Permissions []Permission `json:"permissions"`
	// SourceCIDRs limits the addresses the key may be used from; empty:
	// any address.
	SourceCIDRs []string `json:"sourceCidrs"`
}

// Errors of Verify and Authorize; the returned errors wrap one of them and
// carry a message fit for the client.
var (
	// ErrUnauthenticated: no, malformed or wrong credentials, unknown or
	// disabled key.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the key may not do this, or not from there.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: an AccessKey that cannot be stored.
	ErrInvalid = errors.New("invalid access key")
)

// Validate reports what makes k unusable; errors wrap ErrInvalid.
func (k AccessKey) Validate() error {
	var errs []error
	if k.AccessKey == "" {
		errs = append(errs, errors.New("access key is required"))
	} else if strings.ContainsAny(k.AccessKey, "/, =\t\r\n") {
		errs = append(errs, errors.New("access key must not contain '/', ',', '=' or white space"))
	}
	if k.SecretKey == "" {
		errs = append(errs, errors.New("secret key is required"))
	}
	for i, p := range k.Permissions {
		if p.ResourceType != ResourceTopic && p.ResourceType != ResourceGroup {
			errs = append(errs, fmt.Errorf("permission %d: resource type %q: want TOPIC or GROUP", i, p.ResourceType))
		}
		if p.ResourceName == "" {
			errs = append(errs, fmt.Errorf("permission %d: resource name is required (\"*\" for all)", i))
		} else if strings.Contains(strings.TrimSuffix(p.ResourceName, "*"), "*") {
			errs = append(errs, fmt.Errorf("permission %d: resource name %q: '*' is only allowed at the end", i, p.ResourceName))
		}
		if len(p.Actions) == 0 {
			errs = append(errs, fmt.Errorf("permission %d: at least one action is required", i))
		}
		for _, a := range p.Actions {
			if a != ActionPub && a != ActionSub {
				errs = append(errs, fmt.Errorf("permission %d: action %q: want PUB or SUB", i, a))
			}
		}
		if p.Decision != Allow && p.Decision != Deny {
			errs = append(errs, fmt.Errorf("permission %d: decision %q: want ALLOW or DENY", i, p.Decision))
		}
	}
	for _, c := range k.SourceCIDRs {
		if _, err := parseCIDR(c); err != nil {
			errs = append(errs, fmt.Errorf("source cidr %q: %w", c, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// parseCIDR accepts a prefix ("10.0.0.0/8") or a single address.
func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not a CIDR prefix or an IP address")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// matchName reports whether pattern (exact, "prefix*" or "*") covers name.
func matchName(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}

// Authorize checks whether k may do action on the resource from source (an
// invalid source address means unknown). A disabled key is refused with
// ErrUnauthenticated; everything else with ErrForbidden: a source outside
// SourceCIDRs, a matching DENY (deny beats allow) or no matching ALLOW.
func Authorize(k AccessKey, typ ResourceType, name string, action Action, source netip.Addr) error {
	if !k.Enabled {
		return fmt.Errorf("%w: access key disabled", ErrUnauthenticated)
	}
	if err := CheckSource(k, source); err != nil {
		return err
	}
	allowed := false
	for _, p := range k.Permissions {
		if p.ResourceType != typ || !slices.Contains(p.Actions, action) || !matchName(p.ResourceName, name) {
			continue
		}
		if p.Decision == Deny {
			return fmt.Errorf("%w: access key %s is denied %s on %s %s", ErrForbidden, k.AccessKey, action, strings.ToLower(string(typ)), name)
		}
		allowed = true
	}
	if !allowed {
		return fmt.Errorf("%w: access key %s has no %s permission on %s %s", ErrForbidden, k.AccessKey, action, strings.ToLower(string(typ)), name)
	}
	return nil
}

// CheckSource refuses a source address outside k's SourceCIDRs.
func CheckSource(k AccessKey, source netip.Addr) error {
	if len(k.SourceCIDRs) == 0 {
		return nil
	}
	source = source.Unmap()
	for _, c := range k.SourceCIDRs {
		if p, err := parseCIDR(c); err == nil && source.IsValid() && p.Contains(source) {
			return nil
		}
	}
	return fmt.Errorf("%w: access key %s may not be used from %s", ErrForbidden, k.AccessKey, source)
}
