package proxy

import (
	"crypto/md5"
	"encoding/hex"
	"maps"
	"strings"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

// toStoreType maps the wire message type; ok is false for types the store
// does not have (LITE, PRIORITY, UNSPECIFIED).
func toStoreType(t v2.MessageType) (store.MessageType, bool) {
	switch t {
	case v2.MessageType_NORMAL:
		return store.TypeNormal, true
	case v2.MessageType_FIFO:
		return store.TypeFIFO, true
	case v2.MessageType_DELAY:
		return store.TypeDelay, true
	case v2.MessageType_TRANSACTION:
		return store.TypeTransaction, true
	default:
		return 0, false
	}
}

func toWireType(t store.MessageType) v2.MessageType {
	switch t {
	case store.TypeNormal:
		return v2.MessageType_NORMAL
	case store.TypeFIFO:
		return v2.MessageType_FIFO
	case store.TypeDelay:
		return v2.MessageType_DELAY
	case store.TypeTransaction:
		return v2.MessageType_TRANSACTION
	default:
		return v2.MessageType_MESSAGE_TYPE_UNSPECIFIED
	}
}

// acceptTypes lists the message types a topic of the given type takes
// (spec §7.1). Unknown types fall back to NORMAL: [UNSPECIFIED] would make
// clients refuse every send.
func acceptTypes(topicType string) []v2.MessageType {
	switch strings.ToUpper(topicType) {
	case string(broker.TopicFIFO):
		return []v2.MessageType{v2.MessageType_FIFO}
	case string(broker.TopicDelay):
		return []v2.MessageType{v2.MessageType_DELAY}
	case string(broker.TopicTransaction):
		return []v2.MessageType{v2.MessageType_TRANSACTION}
	case "MIXED":
		return []v2.MessageType{v2.MessageType_NORMAL, v2.MessageType_FIFO, v2.MessageType_DELAY, v2.MessageType_TRANSACTION}
	case "LITE":
		return []v2.MessageType{v2.MessageType_LITE}
	case "PRIORITY":
		return []v2.MessageType{v2.MessageType_PRIORITY}
	default:
		return []v2.MessageType{v2.MessageType_NORMAL}
	}
}

// toStoreMessage converts a validated client message. bornHost is the
// fallback when the client did not name its host.
func toStoreMessage(m *v2.Message, typ store.MessageType, now time.Time, bornHost string) *store.Message {
	sp := m.GetSystemProperties()
	sm := &store.Message{
		Topic:      m.GetTopic().GetName(),
		MessageID:  sp.GetMessageId(),
		Type:       typ,
		Tag:        sp.GetTag(),
		Keys:       append([]string(nil), sp.GetKeys()...),
		Group:      sp.GetMessageGroup(),
		Properties: maps.Clone(m.GetUserProperties()),
		Body:       m.GetBody(),
		BornTime:   now,
		BornHost:   sp.GetBornHost(),
	}
	if ts := sp.GetBornTimestamp(); ts != nil && ts.IsValid() {
		sm.BornTime = ts.AsTime()
	}
	if sm.BornHost == "" {
		sm.BornHost = bornHost
	}
	if ts := sp.GetDeliveryTimestamp(); ts != nil && typ == store.TypeDelay {
		sm.DeliveryTime = ts.AsTime()
	}
	return sm
}

// bodyDigest is the MD5 of the body as uppercase hex (spec §0.4: Node
// dereferences it unconditionally; CRC32 formats disagree between clients).
func bodyDigest(body []byte) *v2.Digest {
	sum := md5.Sum(body)
	return &v2.Digest{Type: v2.DigestType_MD5, Checksum: strings.ToUpper(hex.EncodeToString(sum[:]))}
}

// toWireMessage builds a delivered message with every system property of
// spec §8.2. topic is the topic the client received from (never a %RETRY%
// name); storeHost identifies this node.
func toWireMessage(d broker.Delivery, topic, storeHost string, now time.Time) *v2.Message {
	m := d.Message
	attempt := d.Attempt
	if attempt < 1 {
		attempt = 1
	}
	msgID := m.MessageID
	if msgID == "" {
		msgID = m.OriginMessageID
	}
	handle := d.ReceiptHandle
	offset := m.QueueOffset
	sp := &v2.SystemProperties{
		Keys:            append([]string(nil), m.Keys...),
		MessageId:       msgID,
		BodyDigest:      bodyDigest(m.Body),
		BodyEncoding:    v2.Encoding_IDENTITY,
		MessageType:     toWireType(m.Type),
		BornHost:        m.BornHost,
		StoreHost:       storeHost,
		ReceiptHandle:   &handle,
		QueueId:         m.QueueID,
		QueueOffset:     &offset,
		DeliveryAttempt: &attempt,
	}
	if m.Tag != "" {
		tag := m.Tag
		sp.Tag = &tag
	}
	if m.Group != "" {
		g := m.Group
		sp.MessageGroup = &g
	}
	if !m.BornTime.IsZero() {
		sp.BornTimestamp = timestamppb.New(m.BornTime)
	}
	if !m.StoreTime.IsZero() {
		sp.StoreTimestamp = timestamppb.New(m.StoreTime)
	}
	if !m.DeliveryTime.IsZero() {
		sp.DeliveryTimestamp = timestamppb.New(m.DeliveryTime)
	}
	if !d.InvisibleUntil.IsZero() {
		if left := d.InvisibleUntil.Sub(now); left > 0 {
			sp.InvisibleDuration = durationpb.New(left)
		}
	}
	if strings.HasPrefix(topic, "%DLQ%") && m.OriginTopic != "" {
		sp.DeadLetterQueue = &v2.DeadLetterQueue{Topic: m.OriginTopic, MessageId: m.OriginMessageID}
	}
	props := m.Properties
	if props == nil {
		props = map[string]string{}
	}
	return &v2.Message{
		Topic:            &v2.Resource{Name: topic},
		UserProperties:   maps.Clone(props),
		SystemProperties: sp,
		Body:             m.Body,
	}
}
