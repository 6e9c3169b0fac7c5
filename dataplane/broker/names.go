package broker

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Name rules follow Apache RocketMQ's TopicValidator: topics and groups match
// ^[%|a-zA-Z0-9_-]+$; topics are at most 127 characters and groups 120 (so
// that %RETRY%<group> and %DLQ%<group> still fit a topic name).
var nameRE = regexp.MustCompile(`^[%|a-zA-Z0-9_-]+$`)

const (
	maxTopicLen = 127
	maxGroupLen = 120
	maxQueues   = 64

	dlqPrefix   = "%DLQ%"
	retryPrefix = "%RETRY%"
)

// DLQTopic is the dead-letter topic of a group. The broker creates it (one
// queue, NORMAL) the first time it dead-letters a message of the group.
func DLQTopic(group string) string { return dlqPrefix + group }

// Topics users may not create: the broker's own (TBW102 and friends) and
// anything with a system prefix.
var (
	reservedTopics = map[string]bool{
		"TBW102": true, "SCHEDULE_TOPIC_XXXX": true, "RMQ_SYS_TRANS_HALF_TOPIC": true,
		"RMQ_SYS_TRANS_OP_HALF_TOPIC": true, "TRANS_CHECK_MAX_TIME_TOPIC": true,
		"RMQ_SYS_TRACE_TOPIC": true, "OFFSET_MOVED_EVENT": true, "SELF_TEST_TOPIC": true,
		"BenchmarkTest": true,
	}
	reservedTopicPrefixes = []string{retryPrefix, dlqPrefix, "%LMQ%", "RMQ_SYS_"}

	reservedGroups        = map[string]bool{"SCHEDULE_CONSUMER": true, "TOOLS_CONSUMER": true, "DEFAULT_CONSUMER": true}
	reservedGroupPrefixes = []string{"CID_RMQ_SYS_", retryPrefix, dlqPrefix}
)

// isSystemTopic reports a topic the broker makes or reserves for itself,
// which users cannot create and which does not count against MaxTopics.
func isSystemTopic(name string) bool {
	if reservedTopics[name] {
		return true
	}
	_, ok := hasPrefixFold(name, reservedTopicPrefixes)
	return ok
}

func validateName(kind, name string, maxLen int) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s name is empty", ErrInvalidArgument, kind)
	case len(name) > maxLen:
		return fmt.Errorf("%w: %s name is %d characters, at most %d allowed", ErrInvalidArgument, kind, len(name), maxLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("%w: %s name %q may contain only letters, digits, %%, |, _ and -", ErrInvalidArgument, kind, name)
	}
	return nil
}

func hasPrefixFold(s string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return p, true
		}
	}
	return "", false
}

// validateUserTopicName checks a name a user may create or update.
func validateUserTopicName(name string) error {
	if err := validateName("topic", name, maxTopicLen); err != nil {
		return err
	}
	if reservedTopics[name] {
		return fmt.Errorf("%w: topic name %q is reserved for the system", ErrInvalidArgument, name)
	}
	if p, ok := hasPrefixFold(name, reservedTopicPrefixes); ok {
		return fmt.Errorf("%w: topic name %q uses the reserved prefix %q", ErrInvalidArgument, name, p)
	}
	return nil
}

func validateGroupName(name string) error {
	if err := validateName("group", name, maxGroupLen); err != nil {
		return err
	}
	if reservedGroups[name] {
		return fmt.Errorf("%w: group name %q is reserved for the system", ErrInvalidArgument, name)
	}
	if p, ok := hasPrefixFold(name, reservedGroupPrefixes); ok {
		return fmt.Errorf("%w: group name %q uses the reserved prefix %q", ErrInvalidArgument, name, p)
	}
	return nil
}

func validateTopic(t Topic) error {
	if err := validateUserTopicName(t.Name); err != nil {
		return err
	}
	switch t.Type {
	case TopicNormal, TopicFIFO, TopicDelay, TopicTransaction:
	default:
		return fmt.Errorf("%w: topic type %q is not one of NORMAL, FIFO, DELAY, TRANSACTION", ErrInvalidArgument, t.Type)
	}
	if t.Queues < 1 || t.Queues > maxQueues {
		return fmt.Errorf("%w: topic queue count %d is outside 1..%d", ErrInvalidArgument, t.Queues, maxQueues)
	}
	if t.MaxSendTPS < 0 {
		return fmt.Errorf("%w: topic max send TPS %d must not be negative (0: no cap)", ErrInvalidArgument, t.MaxSendTPS)
	}
	return nil
}

// normalizeGroup validates g and resolves MaxRetries 0 to the default.
func normalizeGroup(g Group) (Group, error) {
	if err := validateGroupName(g.Name); err != nil {
		return g, err
	}
	switch {
	case g.MaxRetries == 0:
		g.MaxRetries = DefaultMaxRetries
	case g.MaxRetries < NoRetries || g.MaxRetries > MaxRetriesLimit:
		return g, fmt.Errorf("%w: group max retries %d is outside -1..%d", ErrInvalidArgument, g.MaxRetries, MaxRetriesLimit)
	}
	if g.MaxReceiveTPS < 0 {
		return g, fmt.Errorf("%w: group max receive TPS %d must not be negative (0: no cap)", ErrInvalidArgument, g.MaxReceiveTPS)
	}
	// Whole seconds: Node.js push consumers read the retry policy in
	// seconds only.
	if r := g.RetryInterval; r != 0 && (r < time.Second || r > MaxRetryInterval || r%time.Second != 0) {
		return g, fmt.Errorf("%w: group retry interval %s is not whole seconds within 1s..%s (0: exponential backoff)", ErrInvalidArgument, r, MaxRetryInterval)
	}
	return g, nil
}

// maxDeliveries is how many times a group's message may be delivered.
func (g Group) maxDeliveries() int32 {
	return max(g.MaxRetries, 0) + 1
}

// ValidateTopicName checks a topic name a user may create: RocketMQ's
// characters and length, no reserved name or system prefix. The error wraps
// ErrInvalidArgument. The control plane uses it to refuse bad names before
// they reach a node.
func ValidateTopicName(name string) error { return validateUserTopicName(name) }

// ValidateGroupName checks a consumer group name a user may create, like
// ValidateTopicName.
func ValidateGroupName(name string) error { return validateGroupName(name) }
