package proxy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

// Limits of spec §7.1 and §7.3 (Apache defaults).
const (
	maxTopicLen         = 127
	maxGroupLen         = 120
	maxUserProperties   = 128
	maxPropertiesBytes  = 16 << 10 // user properties + tag + keys
	maxMessageGroupSize = 64       // bytes, exclusive
)

// reservedProperties are keys Apache keeps for itself (MessageConst); user
// properties must not use them (ILLEGAL_MESSAGE_PROPERTY_KEY).
var reservedProperties = func() map[string]bool {
	m := make(map[string]bool)
	for _, k := range []string{
		"KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID",
		"TRAN_MSG", "PGROUP", "MIN_OFFSET", "MAX_OFFSET", "BUYER_ID",
		"ORIGIN_MESSAGE_ID", "TRANSFER_FLAG", "CORRECTION_FLAG", "MQ2_FLAG",
		"RECONSUME_TIME", "MSG_REGION", "TRACE_ON", "UNIQ_KEY", "MAX_RECONSUME_TIMES",
		"CONSUME_START_TIME", "POP_CK", "POP_CK_OFFSET", "1ST_POP_TIME",
		"TRAN_PREPARED_QUEUE_OFFSET", "DUP_INFO", "EXTEND_UNIQ_INFO", "INSTANCE_ID",
		"CORRELATION_ID", "REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME", "PUSH_REPLY_TIME",
		"CLUSTER", "MSG_TYPE", "INNER_MULTI_QUEUE_OFFSET", "INNER_MULTI_DISPATCH",
		"__SHARDINGKEY", "TIMER_DELIVER_MS", "TIMER_DELAY_SEC", "TIMER_DELAY_MS",
		"TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES",
		"TIMER_DEL_UNIQKEY", "BORNHOST", "DLQ_ORIGIN_TOPIC", "DLQ_ORIGIN_MESSAGE_ID",
		"INNER_NUM", "INNER_BASE", "CHECK_IMMUNITY_TIME_IN_SECONDS",
		"TRANSACTION_CHECK_TIMES", "__STARTDELIVERTIME", "__RECALL_HANDLE",
	} {
		m[k] = true
	}
	return m
}()

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func validName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '%', c == '|', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// isSystemTopic reports names clients may not produce to or route
// (spec §7.1).
func isSystemTopic(name string) bool {
	return strings.HasPrefix(name, "%RETRY%") || strings.HasPrefix(name, "%DLQ%") ||
		strings.HasPrefix(name, "RMQ_SYS_") || strings.HasPrefix(name, "rmq_sys_") ||
		name == "SCHEDULE_TOPIC_XXXX" || name == "TBW102"
}

func checkTopic(r *v2.Resource) (string, error) {
	name := r.GetName()
	if !validName(name, maxTopicLen) {
		return "", reject(v2.Code_ILLEGAL_TOPIC, "topic name %q is invalid", truncate(name))
	}
	if isSystemTopic(name) {
		return "", reject(v2.Code_ILLEGAL_TOPIC, "topic %q is a system topic", name)
	}
	return name, nil
}

func checkGroup(r *v2.Resource) (string, error) {
	name := r.GetName()
	if !validName(name, maxGroupLen) {
		return "", reject(v2.Code_ILLEGAL_CONSUMER_GROUP, "consumer group name %q is invalid", truncate(name))
	}
	return name, nil
}

// truncate keeps client-supplied strings short in messages and logs.
func truncate(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// checkMessageProperties applies the tag, key, group and property checks of
// spec §7.3.
func checkMessageProperties(m *v2.Message) error {
	sp := m.GetSystemProperties()
	size := 0
	if sp.Tag != nil {
		tag := sp.GetTag()
		if isBlank(tag) || strings.Contains(tag, "|") || hasControl(tag) {
			return reject(v2.Code_ILLEGAL_MESSAGE_TAG, "message tag %q is invalid", truncate(tag))
		}
		size += len(tag)
	}
	for _, k := range sp.GetKeys() {
		if isBlank(k) || hasControl(k) {
			return reject(v2.Code_ILLEGAL_MESSAGE_KEY, "message key %q is invalid", truncate(k))
		}
		size += len(k)
	}
	if sp.MessageGroup != nil {
		g := sp.GetMessageGroup()
		if isBlank(g) || len(g) >= maxMessageGroupSize || hasControl(g) {
			return reject(v2.Code_ILLEGAL_MESSAGE_GROUP, "message group %q is invalid", truncate(g))
		}
	}
	props := m.GetUserProperties()
	if len(props) > maxUserProperties {
		return reject(v2.Code_MESSAGE_PROPERTIES_TOO_LARGE, "more than %d user properties", maxUserProperties)
	}
	for k, v := range props {
		if isBlank(k) || hasControl(k) || reservedProperties[k] {
			return reject(v2.Code_ILLEGAL_MESSAGE_PROPERTY_KEY, "property key %q is reserved or invalid", truncate(k))
		}
		if hasControl(v) {
			return reject(v2.Code_ILLEGAL_MESSAGE_PROPERTY_KEY, "value of property %q has control characters", truncate(k))
		}
		size += len(k) + len(v)
	}
	if size > maxPropertiesBytes {
		return reject(v2.Code_MESSAGE_PROPERTIES_TOO_LARGE, "properties, tag and keys exceed %d bytes", maxPropertiesBytes)
	}
	return nil
}
