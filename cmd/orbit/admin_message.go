package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// --- messages

// deliveryView is one consumer group's state for a message.
type deliveryView struct {
	Group          string     `json:"group"`
	State          string     `json:"state"`
	Attempt        int32      `json:"attempt"`
	InvisibleUntil *time.Time `json:"invisibleUntil,omitempty"`
}

// messageView is a message in the JSON output. body is base64 (exact);
// bodyText repeats it when it is valid UTF-8.
type messageView struct {
	MessageID       string            `json:"messageId"`
	Topic           string            `json:"topic"`
	Type            string            `json:"type"`
	State           string            `json:"state"`
	Tag             string            `json:"tag,omitempty"`
	Keys            []string          `json:"keys,omitempty"`
	MessageGroup    string            `json:"messageGroup,omitempty"`
	Properties      map[string]string `json:"properties,omitempty"`
	Body            []byte            `json:"body"`
	BodyText        *string           `json:"bodyText,omitempty"`
	BodyTruncated   bool              `json:"bodyTruncated"`
	BodySize        int64             `json:"bodySize"`
	BornTime        *time.Time        `json:"bornTime,omitempty"`
	BornHost        string            `json:"bornHost,omitempty"`
	StoreTime       *time.Time        `json:"storeTime,omitempty"`
	StoreHost       string            `json:"storeHost,omitempty"`
	QueueID         int32             `json:"queueId"`
	QueueOffset     int64             `json:"queueOffset"`
	DeliveryTime    *time.Time        `json:"deliveryTime,omitempty"`
	OriginTopic     string            `json:"originTopic,omitempty"`
	OriginMessageID string            `json:"originMessageId,omitempty"`
	DeliveryAttempt int32             `json:"deliveryAttempt,omitempty"`
	Deliveries      []deliveryView    `json:"deliveries"`
}

// enumName drops a proto enum's type prefix: MESSAGE_TYPE_NORMAL → NORMAL.
func enumName(s, prefix string) string { return strings.TrimPrefix(s, prefix) }

func viewMessage(m *adminpb.Message) messageView {
	v := messageView{
		MessageID: m.GetMessageId(), Topic: m.GetTopic(),
		Type:  enumName(m.GetType().String(), "MESSAGE_TYPE_"),
		State: enumName(m.GetState().String(), "MESSAGE_STATE_"),
		Tag:   m.GetTag(), Keys: m.GetKeys(), MessageGroup: m.GetMessageGroup(), Properties: m.GetProperties(),
		Body: m.GetBody(), BodyTruncated: m.GetBodyTruncated(), BodySize: m.GetBodySize(),
		BornTime: timeOf(m.GetBornTime()), BornHost: m.GetBornHost(),
		StoreTime: timeOf(m.GetStoreTime()), StoreHost: m.GetStoreHost(),
		QueueID: m.GetQueueId(), QueueOffset: m.GetQueueOffset(), DeliveryTime: timeOf(m.GetDeliveryTime()),
		OriginTopic: m.GetOriginTopic(), OriginMessageID: m.GetOriginMessageId(), DeliveryAttempt: m.GetDeliveryAttempt(),
		Deliveries: make([]deliveryView, len(m.GetDeliveries())),
	}
	if v.Body == nil {
		v.Body = []byte{}
	}
	if utf8.Valid(v.Body) {
		s := string(v.Body)
		v.BodyText = &s
	}
	for i, d := range m.GetDeliveries() {
		v.Deliveries[i] = deliveryView{
			Group: d.GetGroup(), State: enumName(d.GetState().String(), "DELIVERY_STATE_"),
			Attempt: d.GetAttempt(), InvisibleUntil: timeOf(d.GetInvisibleUntil()),
		}
	}
	return v
}

// deliverySummary is "group=STATE" per group, with the attempt when known.
func deliverySummary(ds []deliveryView) string {
	if len(ds) == 0 {
		return "-"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Group + "=" + d.State
		if d.Attempt > 0 {
			parts[i] += fmt.Sprintf("(%d)", d.Attempt)
		}
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func messageTable(w io.Writer, msgs []messageView) {
	fmt.Fprintln(w, "MESSAGE ID\tQUEUE\tOFFSET\tSTORED\tTAG\tKEYS\tSIZE\tSTATE\tDELIVERY")
	for _, m := range msgs {
		queue, offset := fmt.Sprint(m.QueueID), fmt.Sprint(m.QueueOffset)
		if m.StoreTime == nil {
			queue, offset = "-", "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.MessageID, queue, offset, fmtTime(m.StoreTime),
			orDash(m.Tag), orDash(strings.Join(m.Keys, ",")), fmtBytes(m.BodySize), m.State, deliverySummary(m.Deliveries))
	}
}

// printBody shows a body for people: text as is, binary as a note.
func printBody(w io.Writer, m messageView) {
	switch {
	case m.BodyText == nil:
		fmt.Fprintf(w, "body\t<%s of binary data; --output json prints it in base64>\n", fmtBytes(m.BodySize))
	case m.BodyTruncated:
		fmt.Fprintf(w, "body\t%q… (first %s of %s)\n", *m.BodyText, fmtBytes(int64(len(m.Body))), fmtBytes(m.BodySize))
	default:
		fmt.Fprintf(w, "body\t%q\n", *m.BodyText)
	}
}

func messageDetail(w io.Writer, m messageView) {
	fmt.Fprintf(w, "message id\t%s\n", m.MessageID)
	fmt.Fprintf(w, "topic\t%s\n", m.Topic)
	fmt.Fprintf(w, "type\t%s\n", m.Type)
	fmt.Fprintf(w, "state\t%s\n", m.State)
	fmt.Fprintf(w, "tag\t%s\n", orDash(m.Tag))
	fmt.Fprintf(w, "keys\t%s\n", orDash(strings.Join(m.Keys, ", ")))
	if m.MessageGroup != "" {
		fmt.Fprintf(w, "message group\t%s\n", m.MessageGroup)
	}
	fmt.Fprintf(w, "born\t%s from %s\n", fmtTime(m.BornTime), orDash(m.BornHost))
	if m.StoreTime != nil {
		fmt.Fprintf(w, "stored\t%s on %s\n", fmtTime(m.StoreTime), orDash(m.StoreHost))
		fmt.Fprintf(w, "queue\t%d, offset %d\n", m.QueueID, m.QueueOffset)
	}
	if m.DeliveryTime != nil {
		fmt.Fprintf(w, "delivery time\t%s\n", fmtTime(m.DeliveryTime))
	}
	if m.OriginTopic != "" {
		fmt.Fprintf(w, "dead letter of\t%s in %s after %d deliveries\n", m.OriginMessageID, m.OriginTopic, m.DeliveryAttempt)
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "property %s\t%s\n", k, m.Properties[k])
	}
	fmt.Fprintf(w, "size\t%s\n", fmtBytes(m.BodySize))
	printBody(w, m)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "GROUP\tSTATE\tATTEMPT\tINVISIBLE UNTIL")
	if len(m.Deliveries) == 0 {
		fmt.Fprintln(w, "(no consumer group consumes the topic)")
	}
	for _, d := range m.Deliveries {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", d.Group, d.State, d.Attempt, fmtTime(d.InvisibleUntil))
	}
}

// parseTimeFlag reads an RFC 3339 time flag.
func parseTimeFlag(name, s string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("admin: --%s %q: want an RFC 3339 time such as 2025-01-31T08:00:00Z", name, s)
	}
	return timestamppb.New(t), nil
}

func newAdminMessageCmd(o *adminOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "message", Short: "Find messages and show them with their delivery state per consumer group", Args: cobra.NoArgs}

	var topic, id, key, start, end, token string
	var size int32
	var full bool
	query := &cobra.Command{
		Use:   "query --topic TOPIC (--id ID | --key KEY | --start TIME --end TIME) [--page-size N] [--page-token TOKEN]",
		Short: "Find messages of a topic by message id, key or store time",
		Long: `Find messages of a topic by message id, by key (newest first) or by the time
they were stored (--start included, --end excluded; RFC 3339 times such as
2025-01-31T08:00:00Z). Each message shows the state of every consumer group
that consumes the topic. One page per call: pass the printed page token to
--page-token for the next one. Bodies are cut to 1 KiB unless --full-body.`,
		Example: `  orbit admin message query --topic orders --id 7F0000010001...
  orbit admin message query --topic orders --key order-42
  orbit admin message query --topic orders --start 2025-01-31T08:00:00Z --end 2025-01-31T09:00:00Z --page-size 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &adminpb.QueryMessagesRequest{Topic: topic, MessageId: id, Key: key, PageSize: size, PageToken: token, FullBody: full}
			given := 0
			for _, set := range []bool{id != "", key != "", start != "" || end != ""} {
				if set {
					given++
				}
			}
			if given != 1 {
				return errors.New("admin: give exactly one of --id, --key, or --start and --end")
			}
			if start != "" || end != "" {
				if start == "" || end == "" {
					return errors.New("admin: a time range needs both --start and --end")
				}
				var err error
				if req.StartTime, err = parseTimeFlag("start", start); err != nil {
					return err
				}
				if req.EndTime, err = parseTimeFlag("end", end); err != nil {
					return err
				}
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				resp, err := c.QueryMessages(ctx, req)
				if err != nil {
					return err
				}
				v := struct {
					Messages      []messageView `json:"messages"`
					NextPageToken string        `json:"nextPageToken,omitempty"`
				}{make([]messageView, len(resp.GetMessages())), resp.GetNextPageToken()}
				for i, m := range resp.GetMessages() {
					v.Messages[i] = viewMessage(m)
				}
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					messageTable(w, v.Messages)
					if v.NextPageToken != "" {
						fmt.Fprintf(w, "\nmore: --page-token %s\n", v.NextPageToken)
					}
				})
			})
		},
	}
	f := query.Flags()
	f.StringVar(&topic, "topic", "", "topic name (required)")
	f.StringVar(&id, "id", "", "message id")
	f.StringVar(&key, "key", "", "message key")
	f.StringVar(&start, "start", "", "stored at or after this RFC 3339 time")
	f.StringVar(&end, "end", "", "stored before this RFC 3339 time")
	f.Int32Var(&size, "page-size", 20, "messages per page, 1..100")
	f.StringVar(&token, "page-token", "", "the page token the previous page printed")
	f.BoolVar(&full, "full-body", false, "return whole bodies (up to 4 MiB per page) instead of 1 KiB previews")
	_ = query.MarkFlagRequired("topic")

	var gTopic, gID string
	get := &cobra.Command{
		Use:   "get --topic TOPIC --id ID",
		Short: "Show one message with its properties, whole body and delivery state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				m, err := c.GetMessage(ctx, &adminpb.GetMessageRequest{Topic: gTopic, MessageId: gID})
				if err != nil {
					return err
				}
				v := viewMessage(m)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) { messageDetail(w, v) })
			})
		},
	}
	get.Flags().StringVar(&gTopic, "topic", "", "topic name (required)")
	get.Flags().StringVar(&gID, "id", "", "message id (required)")
	_ = get.MarkFlagRequired("topic")
	_ = get.MarkFlagRequired("id")

	cmd.AddCommand(query, get)
	return cmd
}

// --- traces

type produceView struct {
	ProduceTime *time.Time `json:"produceTime,omitempty"`
	ArriveTime  *time.Time `json:"arriveTime,omitempty"`
	CostMicros  int64      `json:"costMicros"`
	Status      string     `json:"status"`
	Error       string     `json:"error,omitempty"`
	ClientID    string     `json:"clientId,omitempty"`
	ClientHost  string     `json:"clientHost,omitempty"`
	QueueID     int32      `json:"queueId"`
	QueueOffset int64      `json:"queueOffset"`
}

type brokerOpView struct {
	Type       string     `json:"type"`
	Time       *time.Time `json:"time,omitempty"`
	ClientID   string     `json:"clientId,omitempty"`
	ClientHost string     `json:"clientHost,omitempty"`
	Status     string     `json:"status,omitempty"`
}

type consumeOpView struct {
	Type           string     `json:"type"`
	Time           *time.Time `json:"time,omitempty"`
	InvisibleUntil *time.Time `json:"invisibleUntil,omitempty"`
	ClientID       string     `json:"clientId,omitempty"`
	Detail         string     `json:"detail,omitempty"`
}

type consumeRecordView struct {
	Attempt        int32           `json:"attempt"`
	ClientID       string          `json:"clientId,omitempty"`
	ClientHost     string          `json:"clientHost,omitempty"`
	DeliverTime    *time.Time      `json:"deliverTime,omitempty"`
	InvisibleUntil *time.Time      `json:"invisibleUntil,omitempty"`
	Status         string          `json:"status"`
	Operations     []consumeOpView `json:"operations"`
}

type consumerView struct {
	Group       string `json:"group"`
	Status      string `json:"status"`
	DeadMessage bool   `json:"deadMessage"`
	DeadLetter  *struct {
		Topic string     `json:"topic"`
		Time  *time.Time `json:"time,omitempty"`
	} `json:"deadLetter,omitempty"`
	Records []consumeRecordView `json:"records"`
}

type traceEventView struct {
	Type           string     `json:"type"`
	Time           *time.Time `json:"time,omitempty"`
	Group          string     `json:"group,omitempty"`
	ClientID       string     `json:"clientId,omitempty"`
	ClientHost     string     `json:"clientHost,omitempty"`
	Attempt        int32      `json:"attempt,omitempty"`
	InvisibleUntil *time.Time `json:"invisibleUntil,omitempty"`
	DeliverAt      *time.Time `json:"deliverAt,omitempty"`
	CostMicros     int64      `json:"costMicros,omitempty"`
	QueueID        int32      `json:"queueId,omitempty"`
	QueueOffset    int64      `json:"queueOffset,omitempty"`
	Status         string     `json:"status,omitempty"`
	Detail         string     `json:"detail,omitempty"`
}

// traceView is GetTrace's answer in the JSON output.
type traceView struct {
	Topic     string       `json:"topic"`
	MessageID string       `json:"messageId"`
	Message   *messageView `json:"message,omitempty"`
	Producer  struct {
		Records []produceView `json:"records"`
	} `json:"producer"`
	Broker struct {
		DelayStatus       string         `json:"delayStatus,omitempty"`
		PresetDelayTime   *time.Time     `json:"presetDelayTime,omitempty"`
		RecallResult      string         `json:"recallResult,omitempty"`
		TransactionStatus string         `json:"transactionStatus,omitempty"`
		TransactionID     string         `json:"transactionId,omitempty"`
		Operations        []brokerOpView `json:"operations"`
	} `json:"broker"`
	Consumers []consumerView   `json:"consumers"`
	Events    []traceEventView `json:"events"`
}

// unspecified maps an enum's UNSPECIFIED value to "".
func unspecified(s, prefix string) string {
	s = enumName(s, prefix)
	if s == "UNSPECIFIED" {
		return ""
	}
	return s
}

func viewTrace(t *adminpb.Trace) traceView {
	v := traceView{Topic: t.GetTopic(), MessageID: t.GetMessageId(), Consumers: []consumerView{}, Events: []traceEventView{}}
	if t.GetMessage() != nil {
		m := viewMessage(t.GetMessage())
		v.Message = &m
	}
	v.Producer.Records = []produceView{}
	for _, r := range t.GetProducer().GetRecords() {
		v.Producer.Records = append(v.Producer.Records, produceView{
			ProduceTime: timeOf(r.GetProduceTime()), ArriveTime: timeOf(r.GetArriveTime()), CostMicros: r.GetCost().AsDuration().Microseconds(),
			Status: r.GetStatus(), Error: r.GetError(), ClientID: r.GetClientId(), ClientHost: r.GetClientHost(),
			QueueID: r.GetQueueId(), QueueOffset: r.GetQueueOffset(),
		})
	}
	b := t.GetBroker()
	v.Broker.DelayStatus = unspecified(b.GetDelayStatus().String(), "DELAY_STATUS_")
	v.Broker.PresetDelayTime = timeOf(b.GetPresetDelayTime())
	v.Broker.RecallResult = b.GetRecallResult()
	v.Broker.TransactionStatus = unspecified(b.GetTransactionStatus().String(), "TRANSACTION_STATUS_")
	v.Broker.TransactionID = b.GetTransactionId()
	v.Broker.Operations = []brokerOpView{}
	for _, op := range b.GetOperations() {
		v.Broker.Operations = append(v.Broker.Operations, brokerOpView{
			Type: op.GetType(), Time: timeOf(op.GetTime()), ClientID: op.GetClientId(), ClientHost: op.GetClientHost(), Status: op.GetStatus(),
		})
	}
	for _, c := range t.GetConsumers() {
		cv := consumerView{Group: c.GetGroup(), Status: enumName(c.GetStatus().String(), "CONSUME_STATUS_"), DeadMessage: c.GetDeadMessage(), Records: []consumeRecordView{}}
		if dl := c.GetDeadLetter(); dl != nil {
			cv.DeadLetter = &struct {
				Topic string     `json:"topic"`
				Time  *time.Time `json:"time,omitempty"`
			}{dl.GetTopic(), timeOf(dl.GetTime())}
		}
		for _, r := range c.GetRecords() {
			rv := consumeRecordView{
				Attempt: r.GetAttempt(), ClientID: r.GetClientId(), ClientHost: r.GetClientHost(),
				DeliverTime: timeOf(r.GetDeliverTime()), InvisibleUntil: timeOf(r.GetInvisibleUntil()), Status: r.GetStatus(),
				Operations: []consumeOpView{},
			}
			for _, op := range r.GetOperations() {
				rv.Operations = append(rv.Operations, consumeOpView{
					Type: op.GetType(), Time: timeOf(op.GetTime()), InvisibleUntil: timeOf(op.GetInvisibleUntil()),
					ClientID: op.GetClientId(), Detail: op.GetDetail(),
				})
			}
			cv.Records = append(cv.Records, rv)
		}
		v.Consumers = append(v.Consumers, cv)
	}
	for _, e := range t.GetEvents() {
		v.Events = append(v.Events, traceEventView{
			Type: e.GetType(), Time: timeOf(e.GetTime()), Group: e.GetGroup(), ClientID: e.GetClientId(), ClientHost: e.GetClientHost(),
			Attempt: e.GetAttempt(), InvisibleUntil: timeOf(e.GetInvisibleUntil()), DeliverAt: timeOf(e.GetDeliverAt()),
			CostMicros: e.GetCost().AsDuration().Microseconds(), QueueID: e.GetQueueId(), QueueOffset: e.GetQueueOffset(),
			Status: e.GetStatus(), Detail: e.GetDetail(),
		})
	}
	return v
}

// fmtTimeMillis is a timeline time: RFC 3339 with milliseconds.
func fmtTimeMillis(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// eventDetail says what matters about one event in a few words.
func eventDetail(e traceEventView) string {
	var parts []string
	switch e.Type {
	case "SEND", "TIMER_FIRE":
		if e.Status == "" {
			parts = append(parts, fmt.Sprintf("queue %d offset %d", e.QueueID, e.QueueOffset))
		}
		if e.Type == "SEND" {
			parts = append(parts, "took "+(time.Duration(e.CostMicros)*time.Microsecond).String())
		}
	case "DELIVER", "NACK":
		parts = append(parts, "invisible until "+fmtTimeMillis(e.InvisibleUntil))
	case "TIMER_SCHEDULE":
		parts = append(parts, "due "+fmtTimeMillis(e.DeliverAt))
	case "DLQ":
		parts = append(parts, "to "+e.Detail)
	}
	if strings.HasPrefix(e.Type, "TXN_") && e.Detail != "" {
		parts = append(parts, "transaction "+e.Detail)
	}
	if e.Status != "" {
		parts = append(parts, "failed: "+e.Status)
	}
	return orDash(strings.Join(parts, ", "))
}

func traceTable(w io.Writer, v traceView) {
	if m := v.Message; m != nil {
		fmt.Fprintf(w, "message %s of topic %s: %s, %s", v.MessageID, v.Topic, m.Type, m.State)
		if m.StoreTime != nil {
			fmt.Fprintf(w, ", stored %s on %s (queue %d, offset %d)", fmtTime(m.StoreTime), orDash(m.StoreHost), m.QueueID, m.QueueOffset)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "message %s of topic %s: not stored (never, or removed by retention)\n", v.MessageID, v.Topic)
	}
	if s := v.Broker.DelayStatus; s != "" {
		fmt.Fprintf(w, "delay: %s, due %s", s, fmtTime(v.Broker.PresetDelayTime))
		if v.Broker.RecallResult != "" {
			fmt.Fprintf(w, " (%s)", v.Broker.RecallResult)
		}
		fmt.Fprintln(w)
	}
	if s := v.Broker.TransactionStatus; s != "" {
		fmt.Fprintf(w, "transaction: %s", s)
		if v.Broker.TransactionID != "" {
			fmt.Fprintf(w, " (%s)", v.Broker.TransactionID)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w)
	if len(v.Events) == 0 {
		fmt.Fprintln(w, "no trace events recorded")
	} else {
		fmt.Fprintln(w, "TIME\tELAPSED\tEVENT\tGROUP\tATTEMPT\tCLIENT\tDETAIL")
		first := v.Events[0].Time
		for _, e := range v.Events {
			elapsed := "-"
			if first != nil && e.Time != nil {
				elapsed = "+" + e.Time.Sub(*first).Round(time.Millisecond).String()
			}
			attempt := "-"
			if e.Attempt > 0 {
				attempt = fmt.Sprint(e.Attempt)
			}
			client := e.ClientID
			if e.ClientHost != "" {
				client = strings.TrimSpace(client + " " + e.ClientHost)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fmtTimeMillis(e.Time), elapsed, e.Type, orDash(e.Group), attempt, orDash(client), eventDetail(e))
		}
	}

	if len(v.Consumers) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "GROUP\tSTATUS\tDELIVERIES\tDEAD LETTER")
		for _, c := range v.Consumers {
			dead := "-"
			if c.DeadLetter != nil {
				dead = c.DeadLetter.Topic
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", c.Group, c.Status, len(c.Records), dead)
		}
	}
}

func newAdminTraceCmd(o *adminOpts) *cobra.Command {
	var topic, id string
	cmd := &cobra.Command{
		Use:   "trace --topic TOPIC --id ID",
		Short: "Show what happened to a message: send, timer and transaction steps, every delivery per group",
		Long: `Show a message's trace as recorded by the node: its send, its timer or
transaction steps, and every delivery attempt per consumer group with its
acknowledgement, nack, timeout or dead-lettering, as a timeline, followed by
each group's status. --output json prints the whole trace (message,
producer, broker, consumers and events) for scripts.`,
		Example: `  orbit admin trace --topic orders --id 7F0000010001...`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				t, err := c.GetTrace(ctx, &adminpb.GetTraceRequest{Topic: topic, MessageId: id})
				if err != nil {
					return err
				}
				v := viewTrace(t)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) { traceTable(w, v) })
			})
		},
	}
	cmd.Flags().StringVar(&topic, "topic", "", "topic name (required)")
	cmd.Flags().StringVar(&id, "id", "", "message id (required)")
	_ = cmd.MarkFlagRequired("topic")
	_ = cmd.MarkFlagRequired("id")
	return cmd
}
