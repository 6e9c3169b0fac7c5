// Package filter parses and evaluates RocketMQ subscription filters: tag
// expressions ("*", "a || b") and SQL92 property expressions. Pure; no I/O.
// May import: nothing.
package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrSyntax is wrapped by every Parse error; the broker wraps it again with
// its own ErrBadFilter so callers need only one sentinel per layer.
var ErrSyntax = errors.New("filter syntax error")

// Type says how an expression is read. The values match the broker's
// FilterType and RocketMQ's ExpressionType.
type Type string

const (
	Tag   Type = "TAG"
	SQL92 Type = "SQL92"
)

// Filter decides whether a message belongs to a subscription. Match must be
// safe for concurrent use: parsed filters are cached and shared.
type Filter interface {
	Match(tag string, props map[string]string) bool
	String() string
}

// All matches every message, tagged or not.
var All Filter = allFilter{}

// Parse compiles expr. An empty Type is TAG, as in Apache RocketMQ.
func Parse(typ Type, expr string) (Filter, error) {
	switch strings.ToUpper(string(typ)) {
	case "", string(Tag):
		return parseTag(expr)
	case string(SQL92), "SQL":
		return parseSQL(expr)
	default:
		return nil, fmt.Errorf("%w: unknown filter type %q", ErrSyntax, string(typ))
	}
}

type allFilter struct{}

func (allFilter) Match(string, map[string]string) bool { return true }
func (allFilter) String() string                       { return "*" }

// tagFilter matches messages whose tag is exactly one of tags. Untagged
// messages never match: only "*" (All) selects them.
type tagFilter struct {
	expr string
	tags []string // a handful at most; a slice beats a map here
}

func (f tagFilter) Match(tag string, _ map[string]string) bool {
	if tag == "" {
		return false
	}
	for _, t := range f.tags {
		if t == tag {
			return true
		}
	}
	return false
}

func (f tagFilter) String() string { return f.expr }

// parseTag follows Apache's SubscriptionData: split on "||", trim each part,
// drop empty parts. "*" as a whole means everything; inside a list it is an
// ordinary tag, as in Apache.
func parseTag(expr string) (Filter, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == "*" {
		return All, nil
	}
	f := tagFilter{expr: expr}
	for _, part := range strings.Split(expr, "||") {
		if t := strings.TrimSpace(part); t != "" && !contains(f.tags, t) {
			f.tags = append(f.tags, t)
		}
	}
	if len(f.tags) == 0 {
		// Apache would accept "||" and match nothing, which only ever hides a
		// mistake; refuse it instead.
		return nil, fmt.Errorf("%w: tag expression %q names no tag", ErrSyntax, expr)
	}
	return f, nil
}

// CanonicalTags is a tag expression in one spelling per meaning: "*" for
// every message, otherwise its tags sorted, without duplicates, joined by
// "||" ("b || a||a" → "a||b"). Two consumers whose expressions have the same
// canonical form select the same messages. An expression naming no tag
// comes back trimmed.
func CanonicalTags(expr string) string {
	f, err := parseTag(expr)
	if err != nil {
		return strings.TrimSpace(expr)
	}
	tf, ok := f.(tagFilter)
	if !ok {
		return "*"
	}
	tags := slices.Clone(tf.tags)
	slices.Sort(tags)
	return strings.Join(tags, "||")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
