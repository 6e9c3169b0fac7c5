package main

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
	"github.com/orbitmq/orbit/dataplane/trace"
)

type jsonMessage struct {
	MessageID     string            `json:"messageId"`
	Topic         string            `json:"topic"`
	Type          string            `json:"type"`
	State         string            `json:"state"`
	Tag           string            `json:"tag"`
	Keys          []string          `json:"keys"`
	Properties    map[string]string `json:"properties"`
	Body          string            `json:"body"` // base64
	BodyText      *string           `json:"bodyText"`
	BodyTruncated bool              `json:"bodyTruncated"`
	BodySize      int64             `json:"bodySize"`
	BornHost      string            `json:"bornHost"`
	StoreTime     *time.Time        `json:"storeTime"`
	StoreHost     string            `json:"storeHost"`
	QueueID       int32             `json:"queueId"`
	QueueOffset   int64             `json:"queueOffset"`
	Deliveries    []struct {
		Group   string `json:"group"`
		State   string `json:"state"`
		Attempt int32  `json:"attempt"`
	} `json:"deliveries"`
}

type jsonPage struct {
	Messages      []jsonMessage `json:"messages"`
	NextPageToken string        `json:"nextPageToken"`
}

// sendOrders stores n messages orders-0..n-1 with keys k-i and "all".
func sendOrders(t *testing.T, b *broker.Broker, n int) {
	t.Helper()
	msgs := make([]*store.Message, n)
	for i := range msgs {
		msgs[i] = &store.Message{
			Topic: "orders", MessageID: fmt.Sprint("orders-", i), Type: store.TypeNormal, Tag: "TagA",
			Keys: []string{fmt.Sprint("k-", i), "all"}, Properties: map[string]string{"region": "eu"},
			Body: []byte(fmt.Sprint("hello ", i)), BornTime: time.Now(), BornHost: "10.0.0.9:1234",
		}
	}
	msgs[n-1].Body = []byte{0xff, 0xfe, 0x00} // binary
	_, err := b.Send(t.Context(), msgs)
	require.NoError(t, err)
}

func TestAdminMessageCommands(t *testing.T) {
	addr, b := startAdminNode(t)
	_, err := adminRun(t, addr, "topic", "create", "--name", "orders", "--queues", "2")
	require.NoError(t, err)
	_, err = adminRun(t, addr, "group", "create", "--name", "billing")
	require.NoError(t, err)
	before := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	sendOrders(t, b, 5)
	after := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	ds, err := b.Receive(t.Context(), broker.ReceiveRequest{Group: "billing", Topic: "orders", QueueID: 0, MaxMessages: 1, InvisibleDuration: time.Minute})
	require.NoError(t, err)
	require.NoError(t, b.Ack(t.Context(), "billing", "orders", ds[0].Message.MessageID, ds[0].ReceiptHandle))

	page := adminJSON[jsonPage](t, addr, "message", "query", "--topic", "orders", "--id", "orders-0")
	require.Len(t, page.Messages, 1)
	require.Empty(t, page.NextPageToken)
	m := page.Messages[0]
	require.Equal(t, "orders-0", m.MessageID)
	require.Equal(t, "NORMAL", m.Type)
	require.Equal(t, "STORED", m.State)
	require.Equal(t, []string{"k-0", "all"}, m.Keys)
	require.Equal(t, "eu", m.Properties["region"])
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("hello 0")), m.Body)
	require.Equal(t, "hello 0", *m.BodyText)
	require.Equal(t, "10.1.2.3:8081", m.StoreHost)
	require.NotNil(t, m.StoreTime)
	require.Len(t, m.Deliveries, 1)
	require.Equal(t, "billing", m.Deliveries[0].Group)
	require.Equal(t, "ACKED", m.Deliveries[0].State, "orders-0 is the first message of queue 0")

	// Pages by key, in a table, following the printed token.
	out, err := adminRun(t, addr, "message", "query", "--topic", "orders", "--key", "all", "--page-size", "2")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Regexp(t, `^MESSAGE ID\s+QUEUE\s+OFFSET\s+STORED\s+TAG\s+KEYS\s+SIZE\s+STATE\s+DELIVERY$`, lines[0])
	require.Regexp(t, `^orders-4\s+0\s+2\s+\d{4}-\d\d-\d\dT\S+\s+TagA\s+k-4,all\s+3 B\s+STORED\s+billing=NOT_DELIVERED$`, lines[1])
	token := regexp.MustCompile(`(?m)^more: --page-token (\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, token, out)
	next := adminJSON[jsonPage](t, addr, "message", "query", "--topic", "orders", "--key", "all", "--page-size", "2", "--page-token", token[1])
	require.Equal(t, []string{"orders-2", "orders-1"}, []string{next.Messages[0].MessageID, next.Messages[1].MessageID})

	byTime := adminJSON[jsonPage](t, addr, "message", "query", "--topic", "orders", "--start", before, "--end", after, "--page-size", "100")
	require.Len(t, byTime.Messages, 5)

	// One message in full.
	out, err = adminRun(t, addr, "message", "get", "--topic", "orders", "--id", "orders-1")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^message id\s+orders-1$`, out)
	require.Regexp(t, `(?m)^keys\s+k-1, all$`, out)
	require.Regexp(t, `(?m)^born\s+\S+ from 10.0.0.9:1234$`, out)
	require.Regexp(t, `(?m)^stored\s+\S+ on 10.1.2.3:8081$`, out)
	require.Regexp(t, `(?m)^property region\s+eu$`, out)
	require.Regexp(t, `(?m)^body\s+"hello 1"$`, out)
	require.Regexp(t, `(?m)^GROUP\s+STATE\s+ATTEMPT\s+INVISIBLE UNTIL$`, out)
	require.Regexp(t, `(?m)^billing\s+NOT_DELIVERED\s+0\s+-$`, out)

	out, err = adminRun(t, addr, "message", "get", "--topic", "orders", "--id", "orders-4")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^body\s+<3 B of binary data; --output json prints it in base64>$`, out)
	bin := adminJSON[jsonMessage](t, addr, "message", "get", "--topic", "orders", "--id", "orders-4")
	require.Nil(t, bin.BodyText)
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00}), bin.Body)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"message", "query", "--topic", "orders"}, "give exactly one of --id, --key, or --start and --end"},
		{[]string{"message", "query", "--topic", "orders", "--id", "x", "--key", "y"}, "give exactly one of"},
		{[]string{"message", "query", "--topic", "orders", "--start", before}, "needs both --start and --end"},
		{[]string{"message", "query", "--topic", "orders", "--start", "yesterday", "--end", after}, `--start "yesterday": want an RFC 3339 time`},
		{[]string{"message", "query", "--topic", "orders", "--key", "all", "--page-token", "nonsense"}, "admin: invalid argument: invalid cursor"},
		{[]string{"message", "query", "--topic", "orders", "--key", "all", "--page-size", "500"}, "page_size 500 is out of range"},
		{[]string{"message", "query", "--id", "x"}, `"topic" not set`},
		{[]string{"message", "get", "--topic", "orders", "--id", "nope"}, `admin: message "nope" not found in topic "orders"`},
		{[]string{"message", "get", "--topic", "nope", "--id", "x"}, `admin: topic "nope" not found`},
		{[]string{"trace", "--topic", "orders"}, `"id" not set`},
	} {
		_, err := adminRun(t, addr, tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

func TestAdminTraceCommand(t *testing.T) {
	var w *trace.Writer
	addr, b := startAdminNode(t, func(c *broker.Config) {
		var err error
		w, err = trace.NewWriter(trace.Config{Store: c.Store, FlushInterval: time.Hour})
		require.NoError(t, err)
		c.Tracer = w
	})
	_, err := adminRun(t, addr, "topic", "create", "--name", "orders", "--queues", "1")
	require.NoError(t, err)
	sendOrders(t, b, 1)
	// A timeline recorded directly, after anything the broker recorded.
	at := time.Now().Add(time.Hour).UTC()
	for _, ev := range []trace.Event{
		{Kind: trace.KindSend, Time: at, ClientID: "producer-1", Host: "10.0.0.9:1234", Cost: 1500 * time.Microsecond},
		{Kind: trace.KindDeliver, Time: at.Add(time.Second), Group: "audit", ClientID: "consumer-1", Attempt: 1, InvisibleUntil: at.Add(31 * time.Second)},
		{Kind: trace.KindTimeout, Time: at.Add(31 * time.Second), Group: "audit", Attempt: 1},
		{Kind: trace.KindDeliver, Time: at.Add(31 * time.Second), Group: "audit", ClientID: "consumer-2", Attempt: 2, InvisibleUntil: at.Add(61 * time.Second)},
		{Kind: trace.KindAck, Time: at.Add(32500 * time.Millisecond), Group: "audit", ClientID: "consumer-2", Attempt: 2},
	} {
		ev.MessageID, ev.Topic = "orders-0", "orders"
		w.Record(ev)
	}
	require.NoError(t, w.Close())

	out, err := adminRun(t, addr, "trace", "--topic", "orders", "--id", "orders-0")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^message orders-0 of topic orders: NORMAL, STORED, stored \S+ on 10.1.2.3:8081 \(queue 0, offset 0\)$`, out)
	require.Regexp(t, `(?m)^TIME\s+ELAPSED\s+EVENT\s+GROUP\s+ATTEMPT\s+CLIENT\s+DETAIL$`, out)
	stamp := regexp.QuoteMeta(at.Format("2006-01-02T15:04:05.000Z07:00"))
	require.Regexp(t, `(?m)^`+stamp+`\s+\+\S+\s+SEND\s+-\s+-\s+producer-1 10.0.0.9:1234\s+queue 0 offset 0, took 1.5ms$`, out)
	require.Regexp(t, `(?m)^\S+\s+\+\S+\s+DELIVER\s+audit\s+2\s+consumer-2\s+invisible until \S+$`, out)
	require.Regexp(t, `(?m)^\S+\s+\+\S+\s+ACK\s+audit\s+2\s+consumer-2\s+-$`, out)
	require.Regexp(t, `(?m)^GROUP\s+STATUS\s+DELIVERIES\s+DEAD LETTER$`, out)
	require.Regexp(t, `(?m)^audit\s+SUCCESS\s+2\s+-$`, out)

	type jsonTrace struct {
		Topic     string `json:"topic"`
		MessageID string `json:"messageId"`
		Message   *struct {
			MessageID string `json:"messageId"`
		} `json:"message"`
		Producer struct {
			Records []struct {
				ClientID   string `json:"clientId"`
				Status     string `json:"status"`
				CostMicros int64  `json:"costMicros"`
			} `json:"records"`
		} `json:"producer"`
		Consumers []struct {
			Group   string `json:"group"`
			Status  string `json:"status"`
			Records []struct {
				Attempt    int32  `json:"attempt"`
				Status     string `json:"status"`
				Operations []struct {
					Type string `json:"type"`
				} `json:"operations"`
			} `json:"records"`
		} `json:"consumers"`
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	tr := adminJSON[jsonTrace](t, addr, "trace", "--topic", "orders", "--id", "orders-0")
	require.Equal(t, "orders-0", tr.Message.MessageID)
	var manual bool
	for _, r := range tr.Producer.Records {
		if r.ClientID == "producer-1" {
			manual = true
			require.Equal(t, "SUCCESS", r.Status)
			require.EqualValues(t, 1500, r.CostMicros)
		}
	}
	require.True(t, manual)
	require.Len(t, tr.Consumers, 1)
	require.Equal(t, "audit", tr.Consumers[0].Group)
	require.Equal(t, "SUCCESS", tr.Consumers[0].Status)
	require.Len(t, tr.Consumers[0].Records, 2)
	require.Equal(t, "RETRY", tr.Consumers[0].Records[0].Status)
	require.Equal(t, "TIMEOUT", tr.Consumers[0].Records[0].Operations[0].Type)
	require.GreaterOrEqual(t, len(tr.Events), 5)

	_, err = adminRun(t, addr, "trace", "--topic", "orders", "--id", "nope")
	require.EqualError(t, err, `admin: message "nope" not found in topic "orders", and no trace of it`)
}
