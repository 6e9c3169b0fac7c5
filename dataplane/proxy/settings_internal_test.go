package proxy

import (
	"context"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store/memstore"
)

func settingsServer(t *testing.T) (*Server, *broker.Broker) {
	t.Helper()
	b, err := broker.New(broker.Config{DataDir: t.TempDir(), Store: memstore.New(memstore.Config{})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	s, err := New(Config{Broker: b})
	require.NoError(t, err)
	return s, b
}

func clientSettings(ct v2.ClientType) *v2.Settings {
	return &v2.Settings{
		ClientType:     &ct,
		AccessPoint:    &v2.Endpoints{Scheme: v2.AddressScheme_IPv4, Addresses: []*v2.Address{{Host: "127.0.0.1", Port: 8081}}},
		RequestTimeout: durationpb.New(3 * time.Second),
		UserAgent:      &v2.UA{Language: v2.Language_GOLANG, Version: "5.1.4", Hostname: "h"},
	}
}

func TestMergeSettingsProducer(t *testing.T) {
	t.Parallel()
	s, _ := settingsServer(t)
	in := clientSettings(v2.ClientType_PRODUCER)
	in.PubSub = &v2.Settings_Publishing{Publishing: &v2.Publishing{Topics: []*v2.Resource{{Name: "t1"}, {Name: "t2"}}}}
	// Go producers send their own policy; the server's replaces it.
	in.BackoffPolicy = &v2.RetryPolicy{MaxAttempts: 3, Strategy: &v2.RetryPolicy_ExponentialBackoff{ExponentialBackoff: &v2.ExponentialBackoff{}}}
	orig := proto.Clone(in)

	out := s.mergeSettings(in)
	require.True(t, proto.Equal(orig, in), "the client's settings are not modified")

	// Client fields are echoed.
	require.Equal(t, v2.ClientType_PRODUCER, out.GetClientType())
	require.True(t, proto.Equal(in.GetAccessPoint(), out.GetAccessPoint()))
	require.Equal(t, 3*time.Second, out.GetRequestTimeout().AsDuration())
	require.True(t, proto.Equal(in.GetUserAgent(), out.GetUserAgent()))

	pub := out.GetPublishing()
	require.NotNil(t, pub, "pub_sub MUST be publishing")
	require.Len(t, pub.GetTopics(), 2)
	require.Equal(t, int32(DefaultMaxBodyBytes), pub.GetMaxBodySize(), "0 would fail every send")
	require.False(t, pub.GetValidateMessageType(), "the server checks message types and answers 40014")

	bp := out.GetBackoffPolicy()
	require.Equal(t, int32(3), bp.GetMaxAttempts())
	exp := bp.GetExponentialBackoff()
	require.NotNil(t, exp, "Node producers require exponential backoff")
	require.Equal(t, 10*time.Millisecond, exp.GetInitial().AsDuration())
	require.Equal(t, time.Second, exp.GetMax().AsDuration())
	require.Equal(t, float32(2), exp.GetMultiplier())
	require.False(t, out.GetMetric().GetOn())
}

func TestMergeSettingsConsumer(t *testing.T) {
	t.Parallel()
	s, b := settingsServer(t)
	ctx := context.Background()
	_, err := b.CreateGroup(ctx, broker.Group{Name: "orderly", Orderly: true, MaxRetries: 3})
	require.NoError(t, err)
	_, err = b.CreateGroup(ctx, broker.Group{Name: "once", MaxRetries: broker.NoRetries})
	require.NoError(t, err)
	_, err = b.CreateGroup(ctx, broker.Group{Name: "plain"})
	require.NoError(t, err)

	sub := func(group string, ct v2.ClientType) *v2.Settings {
		in := clientSettings(ct)
		in.PubSub = &v2.Settings_Subscription{Subscription: &v2.Subscription{
			Group: &v2.Resource{Name: group},
			Subscriptions: []*v2.SubscriptionEntry{{
				Topic:      &v2.Resource{Name: "t"},
				Expression: &v2.FilterExpression{Type: v2.FilterType_TAG, Expression: "*"},
			}},
			LongPollingTimeout: durationpb.New(30 * time.Second),
		}}
		return in
	}
	cases := []struct {
		group       string
		fifo        bool
		maxAttempts int32
	}{
		{"orderly", true, 4},
		{"plain", false, broker.DefaultMaxRetries + 1},
		{"once", false, 1},
		{"unknown", false, 17},
	}
	for _, c := range cases {
		for _, ct := range []v2.ClientType{v2.ClientType_PUSH_CONSUMER, v2.ClientType_SIMPLE_CONSUMER} {
			out := s.mergeSettings(sub(c.group, ct))
			got := out.GetSubscription()
			require.NotNil(t, got, "pub_sub MUST be subscription")
			require.Equal(t, c.group, got.GetGroup().GetName())
			require.Len(t, got.GetSubscriptions(), 1)
			require.Equal(t, "*", got.GetSubscriptions()[0].GetExpression().GetExpression())
			require.NotNil(t, got.Fifo)
			require.Equal(t, c.fifo, got.GetFifo(), c.group)
			require.Equal(t, int32(32), got.GetReceiveBatchSize())
			require.Equal(t, 20*time.Second, got.GetLongPollingTimeout().AsDuration())

			bp := out.GetBackoffPolicy()
			require.Equal(t, c.maxAttempts, bp.GetMaxAttempts(), c.group)
			exp := bp.GetExponentialBackoff()
			require.NotNil(t, exp, "Go push needs a policy; Node reads only exponential, in seconds")
			require.Equal(t, time.Second, exp.GetInitial().AsDuration())
			require.Equal(t, 2*time.Hour, exp.GetMax().AsDuration())
			require.Equal(t, float32(2), exp.GetMultiplier())
		}
	}
}
