package proxy

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

func ptr[T any](v T) *T { return &v }

func clientMessage(mut func(m *v2.Message)) *v2.Message {
	m := &v2.Message{
		Topic:          &v2.Resource{Name: "orders", ResourceNamespace: "ns"},
		UserProperties: map[string]string{"k": "v"},
		Body:           []byte("hello"),
		SystemProperties: &v2.SystemProperties{
			MessageId:     "01ABCDEF",
			Keys:          []string{"a", "b"},
			Tag:           ptr("ab"),
			BornHost:      "producer-host",
			BornTimestamp: timestamppb.New(time.Unix(1700000000, 0)),
			BodyEncoding:  v2.Encoding_IDENTITY,
			MessageType:   v2.MessageType_NORMAL,
		},
	}
	if mut != nil {
		mut(m)
	}
	return m
}

func testServer() *Server {
	cfg := DefaultConfig()
	return &Server{cfg: cfg, log: cfg.Log}
}

func TestCheckMessageConvertsToStore(t *testing.T) {
	t.Parallel()
	s := testServer()
	now := time.Unix(1700000100, 0)
	sm, err := s.checkMessage(clientMessage(nil), now, "10.0.0.9")
	require.NoError(t, err)
	require.Equal(t, &store.Message{
		Topic: "orders", MessageID: "01ABCDEF", Type: store.TypeNormal, Tag: "ab",
		Keys: []string{"a", "b"}, Properties: map[string]string{"k": "v"}, Body: []byte("hello"),
		BornTime: time.Unix(1700000000, 0).UTC(), BornHost: "producer-host",
	}, sm)

	// FIFO carries the group, DELAY the delivery time; the born host falls
	// back to the peer.
	sm, err = s.checkMessage(clientMessage(func(m *v2.Message) {
		m.SystemProperties.MessageType = v2.MessageType_FIFO
		m.SystemProperties.MessageGroup = ptr("g1")
		m.SystemProperties.BornHost = ""
		m.SystemProperties.BornTimestamp = nil
	}), now, "10.0.0.9")
	require.NoError(t, err)
	require.Equal(t, store.TypeFIFO, sm.Type)
	require.Equal(t, "g1", sm.Group)
	require.Equal(t, "10.0.0.9", sm.BornHost)
	require.Equal(t, now, sm.BornTime)

	at := now.Add(10 * time.Second)
	sm, err = s.checkMessage(clientMessage(func(m *v2.Message) {
		m.SystemProperties.MessageType = v2.MessageType_DELAY
		m.SystemProperties.DeliveryTimestamp = timestamppb.New(at)
	}), now, "")
	require.NoError(t, err)
	require.Equal(t, store.TypeDelay, sm.Type)
	require.True(t, sm.DeliveryTime.Equal(at))

	// How far ahead is the broker's limit (Config.MaxDelay, 3 days by
	// default), not Apache's 24 h proxy limit; a past time means "now".
	for _, at := range []time.Time{now.Add(71 * time.Hour), now.Add(-time.Hour)} {
		sm, err = s.checkMessage(clientMessage(func(m *v2.Message) {
			m.SystemProperties.MessageType = v2.MessageType_DELAY
			m.SystemProperties.DeliveryTimestamp = timestamppb.New(at)
		}), now, "")
		require.NoError(t, err)
		require.True(t, sm.DeliveryTime.Equal(at))
	}
}

func TestTxnCheckMessageIsADecodableMessage(t *testing.T) {
	t.Parallel()
	born := time.Unix(1700000000, 0).UTC()
	half := &store.Message{
		Topic: "pay", QueueID: 1, MessageID: "01HALF", Type: store.TypeTransaction, Tag: "t",
		Keys: []string{"k"}, Properties: map[string]string{"order": "42"}, Body: []byte("half"),
		BornTime: born, BornHost: "producer", QueueOffset: 7, StoreTime: born.Add(time.Second),
	}
	m := txnCheckMessage(half, "node-1:8081", born.Add(time.Minute))
	sum := md5.Sum(half.Body)
	require.Equal(t, "pay", m.GetTopic().GetName())
	require.Equal(t, []byte("half"), m.GetBody())
	require.Equal(t, map[string]string{"order": "42"}, m.GetUserProperties())
	sp := m.GetSystemProperties()
	require.Equal(t, "01HALF", sp.GetMessageId(), "Go answers with message.system_properties.message_id")
	require.Equal(t, strings.ToUpper(hex.EncodeToString(sum[:])), sp.GetBodyDigest().GetChecksum(), "Node checks the digest")
	require.Equal(t, v2.MessageType_TRANSACTION, sp.GetMessageType())
	require.Equal(t, "t", sp.GetTag())
	require.Equal(t, []string{"k"}, sp.GetKeys())
	require.Equal(t, "node-1:8081", sp.GetStoreHost())
	require.Nil(t, sp.ReceiptHandle, "a check is not a delivery")
	require.Nil(t, sp.InvisibleDuration)
}

func TestToWireMessageDelayAndFIFO(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700003600, 0).UTC()
	delay := broker.Delivery{Message: &store.Message{Topic: "later", MessageID: "01D", Type: store.TypeDelay, Body: []byte("x"), DeliveryTime: at}}
	sp := toWireMessage(delay, "later", "h", at).GetSystemProperties()
	require.Equal(t, v2.MessageType_DELAY, sp.GetMessageType())
	require.True(t, sp.GetDeliveryTimestamp().AsTime().Equal(at), "received DELAY messages carry their scheduled time (spec §8.2)")
	require.Nil(t, sp.MessageGroup)

	fifo := broker.Delivery{Message: &store.Message{Topic: "ordered", MessageID: "01F", Type: store.TypeFIFO, Body: []byte("x"), Group: "order-7"}}
	sp = toWireMessage(fifo, "ordered", "h", at).GetSystemProperties()
	require.Equal(t, v2.MessageType_FIFO, sp.GetMessageType())
	require.Equal(t, "order-7", sp.GetMessageGroup(), "the Go FIFO accelerator groups by it")
	require.Nil(t, sp.DeliveryTimestamp)
}

func TestCheckMessageRejects(t *testing.T) {
	t.Parallel()
	s := testServer()
	now := time.Now()
	cases := []struct {
		name string
		mut  func(m *v2.Message)
		code v2.Code
	}{
		{"bad topic", func(m *v2.Message) { m.Topic.Name = "a b" }, v2.Code_ILLEGAL_TOPIC},
		{"system topic", func(m *v2.Message) { m.Topic.Name = "%RETRY%g" }, v2.Code_ILLEGAL_TOPIC},
		{"long topic", func(m *v2.Message) { m.Topic.Name = strings.Repeat("t", 128) }, v2.Code_ILLEGAL_TOPIC},
		{"no id", func(m *v2.Message) { m.SystemProperties.MessageId = "" }, v2.Code_ILLEGAL_MESSAGE_ID},
		{"empty body", func(m *v2.Message) { m.Body = nil }, v2.Code_MESSAGE_BODY_EMPTY},
		{"big body", func(m *v2.Message) { m.Body = make([]byte, DefaultMaxBodyBytes+1) }, v2.Code_MESSAGE_BODY_TOO_LARGE},
		{"blank tag", func(m *v2.Message) { m.SystemProperties.Tag = ptr(" ") }, v2.Code_ILLEGAL_MESSAGE_TAG},
		{"pipe tag", func(m *v2.Message) { m.SystemProperties.Tag = ptr("a|b") }, v2.Code_ILLEGAL_MESSAGE_TAG},
		{"control tag", func(m *v2.Message) { m.SystemProperties.Tag = ptr("a\x01") }, v2.Code_ILLEGAL_MESSAGE_TAG},
		{"blank key", func(m *v2.Message) { m.SystemProperties.Keys = []string{""} }, v2.Code_ILLEGAL_MESSAGE_KEY},
		{"control key", func(m *v2.Message) { m.SystemProperties.Keys = []string{"k\n"} }, v2.Code_ILLEGAL_MESSAGE_KEY},
		{"long group", func(m *v2.Message) {
			m.SystemProperties.MessageType = v2.MessageType_FIFO
			m.SystemProperties.MessageGroup = ptr(strings.Repeat("g", 64))
		}, v2.Code_ILLEGAL_MESSAGE_GROUP},
		{"blank group", func(m *v2.Message) {
			m.SystemProperties.MessageType = v2.MessageType_FIFO
			m.SystemProperties.MessageGroup = ptr("")
		}, v2.Code_ILLEGAL_MESSAGE_GROUP},
		{"reserved property", func(m *v2.Message) { m.UserProperties["UNIQ_KEY"] = "x" }, v2.Code_ILLEGAL_MESSAGE_PROPERTY_KEY},
		{"blank property", func(m *v2.Message) { m.UserProperties[""] = "x" }, v2.Code_ILLEGAL_MESSAGE_PROPERTY_KEY},
		{"too many properties", func(m *v2.Message) {
			for i := range 129 {
				m.UserProperties[strings.Repeat("p", i+1)] = "v"
			}
		}, v2.Code_MESSAGE_PROPERTIES_TOO_LARGE},
		{"properties too large", func(m *v2.Message) { m.UserProperties["big"] = strings.Repeat("v", 17<<10) }, v2.Code_MESSAGE_PROPERTIES_TOO_LARGE},
		{"unspecified type", func(m *v2.Message) { m.SystemProperties.MessageType = v2.MessageType_MESSAGE_TYPE_UNSPECIFIED }, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{"normal with group", func(m *v2.Message) { m.SystemProperties.MessageGroup = ptr("g") }, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{"fifo without group", func(m *v2.Message) { m.SystemProperties.MessageType = v2.MessageType_FIFO }, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{"delay without time", func(m *v2.Message) { m.SystemProperties.MessageType = v2.MessageType_DELAY }, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{"lite", func(m *v2.Message) {
			m.SystemProperties.MessageType = v2.MessageType_LITE
			m.SystemProperties.LiteTopic = ptr("x")
		}, v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE},
		{"invalid delivery time", func(m *v2.Message) {
			m.SystemProperties.MessageType = v2.MessageType_DELAY
			m.SystemProperties.DeliveryTimestamp = &timestamppb.Timestamp{Seconds: 1, Nanos: 2e9}
		}, v2.Code_ILLEGAL_DELIVERY_TIME},
		{"gzip", func(m *v2.Message) { m.SystemProperties.BodyEncoding = v2.Encoding_GZIP }, v2.Code_BAD_REQUEST},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.checkMessage(clientMessage(c.mut), now, "")
			require.Error(t, err)
			require.Equal(t, c.code, statusOf(err).GetCode(), "%v", err)
		})
	}
}

func TestToWireMessageCarriesSystemProperties(t *testing.T) {
	t.Parallel()
	born := time.Unix(1700000000, 0).UTC()
	stored := born.Add(time.Second)
	deliverAt := born.Add(time.Minute)
	now := born.Add(2 * time.Minute)
	body := []byte("payload")
	d := broker.Delivery{
		Message: &store.Message{
			Topic: "%RETRY%g", QueueID: 3, MessageID: "01MSG", Type: store.TypeFIFO, Tag: "t1",
			Keys: []string{"k1"}, Group: "mg", Properties: map[string]string{"p": "q"}, Body: body,
			BornTime: born, BornHost: "born-host", DeliveryTime: deliverAt, QueueOffset: 42, StoreTime: stored,
		},
		ReceiptHandle:  "handle-1",
		Attempt:        2,
		InvisibleUntil: now.Add(30 * time.Second),
	}
	m := toWireMessage(d, "orders", "10.1.1.1:8081", now)
	sum := md5.Sum(body)

	require.Equal(t, "orders", m.GetTopic().GetName(), "never the retry topic")
	require.Equal(t, body, m.GetBody())
	require.Equal(t, map[string]string{"p": "q"}, m.GetUserProperties())
	sp := m.GetSystemProperties()
	require.Equal(t, "01MSG", sp.GetMessageId())
	require.Equal(t, v2.DigestType_MD5, sp.GetBodyDigest().GetType())
	require.Equal(t, strings.ToUpper(hex.EncodeToString(sum[:])), sp.GetBodyDigest().GetChecksum())
	require.Equal(t, v2.Encoding_IDENTITY, sp.GetBodyEncoding())
	require.Equal(t, v2.MessageType_FIFO, sp.GetMessageType())
	require.Equal(t, "t1", sp.GetTag())
	require.Equal(t, []string{"k1"}, sp.GetKeys())
	require.Equal(t, "mg", sp.GetMessageGroup())
	require.Equal(t, int32(3), sp.GetQueueId())
	require.Equal(t, int64(42), sp.GetQueueOffset())
	require.NotNil(t, sp.QueueOffset)
	require.Equal(t, int32(2), sp.GetDeliveryAttempt())
	require.Equal(t, "handle-1", sp.GetReceiptHandle())
	require.True(t, sp.GetBornTimestamp().AsTime().Equal(born))
	require.Equal(t, "born-host", sp.GetBornHost())
	require.True(t, sp.GetStoreTimestamp().AsTime().Equal(stored))
	require.Equal(t, "10.1.1.1:8081", sp.GetStoreHost())
	require.True(t, sp.GetDeliveryTimestamp().AsTime().Equal(deliverAt))
	require.Equal(t, 30*time.Second, sp.GetInvisibleDuration().AsDuration())
	require.Nil(t, sp.DeadLetterQueue)

	// The first delivery is attempt 1 even if the broker left it zero;
	// untagged messages have no tag and a non-nil property map.
	d.Attempt = 0
	d.Message.Tag, d.Message.Properties = "", nil
	m = toWireMessage(d, "orders", "h", now)
	require.Equal(t, int32(1), m.GetSystemProperties().GetDeliveryAttempt())
	require.Nil(t, m.GetSystemProperties().Tag)
	require.NotNil(t, m.GetUserProperties())

	// A dead-lettered copy names its origin.
	d.Message.OriginTopic, d.Message.OriginMessageID = "orders", "01ORIG"
	m = toWireMessage(d, "%DLQ%g", "h", now)
	require.Equal(t, "orders", m.GetSystemProperties().GetDeadLetterQueue().GetTopic())
	require.Equal(t, "01ORIG", m.GetSystemProperties().GetDeadLetterQueue().GetMessageId())
}

func TestAcceptTypes(t *testing.T) {
	t.Parallel()
	require.Equal(t, []v2.MessageType{v2.MessageType_NORMAL}, acceptTypes("NORMAL"))
	require.Equal(t, []v2.MessageType{v2.MessageType_FIFO}, acceptTypes("FIFO"))
	require.Equal(t, []v2.MessageType{v2.MessageType_DELAY}, acceptTypes("DELAY"))
	require.Equal(t, []v2.MessageType{v2.MessageType_TRANSACTION}, acceptTypes("TRANSACTION"))
	require.Len(t, acceptTypes("MIXED"), 4)
	// Never [UNSPECIFIED]: clients would refuse every send.
	require.Equal(t, []v2.MessageType{v2.MessageType_NORMAL}, acceptTypes("weird"))
}

func TestPollTime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	const rt = 3 * time.Second
	poll := func(req *durationpb.Duration, deadline time.Duration, has bool) (time.Duration, error) {
		return pollTime(req, now.Add(deadline), has, now, rt, DefaultMinPoll, DefaultMaxPoll)
	}
	// Go push: long_polling 20 s, deadline 23 s.
	d, err := poll(durationpb.New(20*time.Second), 23*time.Second, true)
	require.NoError(t, err)
	require.Equal(t, 20*time.Second, d)
	// Go simple: no long_polling, deadline await 5 s + 3 s: 8 - 1.5.
	d, err = poll(nil, 8*time.Second, true)
	require.NoError(t, err)
	require.Equal(t, 6500*time.Millisecond, d)
	// Clamped to [5 s, 20 s].
	d, err = poll(durationpb.New(time.Second), time.Minute, true)
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, d)
	d, err = poll(durationpb.New(time.Minute), 2*time.Minute, true)
	require.NoError(t, err)
	require.Equal(t, 20*time.Second, d)
	// Always answers before the deadline, even below the 5 s minimum.
	d, err = poll(nil, 3*time.Second, true)
	require.NoError(t, err)
	require.Equal(t, 3*time.Second-pollMargin, d)
	d, err = poll(durationpb.New(20*time.Second), 10*time.Second, true)
	require.NoError(t, err)
	require.Equal(t, 10*time.Second-pollMargin, d)
	// No deadline: the requested or maximum poll.
	d, err = poll(nil, 0, false)
	require.NoError(t, err)
	require.Equal(t, 20*time.Second, d)
	// A deadline with no room at all.
	_, err = poll(nil, pollMargin, true)
	require.Equal(t, v2.Code_ILLEGAL_POLLING_TIME, statusOf(err).GetCode())
}

func TestFilterOf(t *testing.T) {
	t.Parallel()
	ft, expr, err := filterOf(nil)
	require.NoError(t, err)
	require.Equal(t, broker.FilterTag, ft)
	require.Equal(t, "*", expr)
	ft, expr, err = filterOf(&v2.FilterExpression{Type: v2.FilterType_TAG, Expression: " a || b "})
	require.NoError(t, err)
	require.Equal(t, broker.FilterTag, ft)
	require.Equal(t, "a || b", expr)
	ft, expr, err = filterOf(&v2.FilterExpression{Type: v2.FilterType_SQL, Expression: "a > 1"})
	require.NoError(t, err)
	require.Equal(t, broker.FilterSQL, ft)
	require.Equal(t, "a > 1", expr)
	_, _, err = filterOf(&v2.FilterExpression{Type: v2.FilterType_SQL})
	require.Equal(t, v2.Code_ILLEGAL_FILTER_EXPRESSION, statusOf(err).GetCode())
}
