package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// adminOpts are the flags every `orbit admin` command shares.
type adminOpts struct {
	addr    string
	token   string
	output  string
	timeout time.Duration
}

// adminEnv maps the shared flags to their environment variables. Leaf flags
// (--name, --queues...) have none: they describe one command, not a setup.
var adminEnv = map[string]string{"addr": "ORBIT_ADMIN_ADDR", "token": "ORBIT_ADMIN_TOKEN"}

// newAdminCmd is the operator's command line over a node's admin service,
// like RocketMQ's mqadmin.
func newAdminCmd() *cobra.Command {
	o := &adminOpts{}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage a data-plane node through its admin service",
		Long: `Manage a data-plane node through its admin gRPC service: topics, consumer
groups, offsets, messages, message traces and node statistics. --output json
prints one JSON document per command, for scripts.`,
		Example: `  export ORBIT_ADMIN_ADDR=127.0.0.1:9081 ORBIT_ADMIN_TOKEN=...
  orbit admin topic create --name orders --type FIFO --queues 8
  orbit admin topic list --output json
  orbit admin group create --name billing --max-retries 5
  orbit admin group offsets --name billing
  orbit admin group reset-offset --name billing --topic orders --to earliest
  orbit admin message query --topic orders --key order-42
  orbit admin message get --topic orders --id 7F0000010001...
  orbit admin trace --topic orders --id 7F0000010001...
  orbit admin stats`,
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return o.applyEnv(cmd)
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:9081", "address of the node's admin service (env ORBIT_ADMIN_ADDR)")
	f.StringVar(&o.token, "token", "", "the node's admin token (env ORBIT_ADMIN_TOKEN, which keeps it out of the process list)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of each call to the node")
	cmd.AddCommand(newAdminTopicCmd(o), newAdminGroupCmd(o), newAdminMessageCmd(o), newAdminTraceCmd(o), newAdminStatsCmd(o), newAdminClientCmd(o))
	return cmd
}

// applyEnv fills unset shared flags from the environment (flags win) and
// checks them.
func (o *adminOpts) applyEnv(cmd *cobra.Command) error {
	for flag, env := range adminEnv {
		f := cmd.Flags().Lookup(flag)
		v, ok := os.LookupEnv(env)
		if f == nil || f.Changed || !ok {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("admin: environment %s: %w", env, err)
		}
	}
	switch o.output {
	case "table", "json":
	default:
		return fmt.Errorf("admin: --output %q: want table or json", o.output)
	}
	if strings.TrimSpace(o.token) == "" {
		return errors.New("admin: an admin token is required: --token or ORBIT_ADMIN_TOKEN")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("admin: --timeout %s: must be positive", o.timeout)
	}
	return nil
}

// call connects to the node, runs f and turns its error into a message for
// the operator.
func (o *adminOpts) call(cmd *cobra.Command, f func(ctx context.Context, c *adminclient.Client) error) error {
	c, err := adminclient.New(adminclient.Config{Addr: o.addr, Token: o.token, Timeout: o.timeout})
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer c.Close()
	if err := f(cmd.Context(), c); err != nil {
		return o.explain(err)
	}
	return nil
}

// explain words a failed call for the operator: the server's messages are
// meant for them already; transport failures get the address and a hint.
func (o *adminOpts) explain(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("admin: %w", err)
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("admin: node at %s is unavailable: %s", o.addr, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("admin: node at %s did not answer within %s", o.addr, o.timeout)
	case codes.Unauthenticated:
		return fmt.Errorf("admin: %s (check --token or ORBIT_ADMIN_TOKEN)", st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("admin: the node at %s does not support this command (%s)", o.addr, st.Message())
	case codes.Canceled:
		return errors.New("admin: canceled")
	}
	return fmt.Errorf("admin: %s", st.Message())
}

// print writes v as one JSON document, or calls table.
func (o *adminOpts) print(w io.Writer, v any, table func(w io.Writer)) error {
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("admin: write output: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("admin: write output: %w", err)
	}
	return nil
}

// --- topics

// topicTypes are the --type values, in the order help lists them.
var topicTypes = []string{"NORMAL", "FIFO", "DELAY", "TRANSACTION"}

func parseTopicType(s string) (adminpb.TopicType, error) {
	v, ok := adminpb.TopicType_value["TOPIC_TYPE_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("admin: --type %q: want one of %s", s, strings.Join(topicTypes, ", "))
	}
	return adminpb.TopicType(v), nil
}

func topicTypeName(t adminpb.TopicType) string {
	return strings.TrimPrefix(t.String(), "TOPIC_TYPE_")
}

// topicView is a topic in the JSON output (lowerCamelCase, like the REST API).
type topicView struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	QueueCount int32      `json:"queueCount"`
	MaxSendTps int32      `json:"maxSendTps"` // 0: no cap
	CreateTime *time.Time `json:"createTime,omitempty"`
	UpdateTime *time.Time `json:"updateTime,omitempty"`
}

func viewTopic(t *adminpb.Topic) topicView {
	return topicView{
		Name: t.GetName(), Type: topicTypeName(t.GetType()), QueueCount: t.GetQueueCount(), MaxSendTps: t.GetMaxSendTps(),
		CreateTime: timeOf(t.GetCreateTime()), UpdateTime: timeOf(t.GetUpdateTime()),
	}
}

func topicTable(w io.Writer, topics ...topicView) {
	fmt.Fprintln(w, "NAME\tTYPE\tQUEUES\tMAX SEND TPS\tCREATED\tUPDATED")
	for _, t := range topics {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", t.Name, t.Type, t.QueueCount, fmtCap(t.MaxSendTps), fmtTime(t.CreateTime), fmtTime(t.UpdateTime))
	}
}

func newAdminTopicCmd(o *adminOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "topic", Short: "Create, update, inspect and delete topics", Args: cobra.NoArgs}

	var name, typ string
	var queues, sendTPS int32
	create := &cobra.Command{
		Use:   "create --name TOPIC [--type NORMAL|FIFO|DELAY|TRANSACTION] [--queues N] [--max-send-tps N]",
		Short: "Create a topic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tt, err := parseTopicType(typ)
			if err != nil {
				return err
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				t, err := c.CreateTopic(ctx, &adminpb.CreateTopicRequest{Name: name, Type: tt, QueueCount: queues, MaxSendTps: sendTPS})
				if err != nil {
					return err
				}
				v := viewTopic(t)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "created topic %q\n", v.Name)
					topicTable(w, v)
				})
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "topic name (required)")
	create.Flags().StringVar(&typ, "type", "NORMAL", "message type: "+strings.Join(topicTypes, ", "))
	create.Flags().Int32Var(&queues, "queues", 8, "number of queues, 1..64")
	create.Flags().Int32Var(&sendTPS, "max-send-tps", 0, maxSendTPSUsage)
	_ = create.MarkFlagRequired("name")

	var uName, uType string
	var uQueues, uSendTPS int32
	update := &cobra.Command{
		Use:   "update --name TOPIC [--type TYPE] [--queues N] [--max-send-tps N]",
		Short: "Change a topic's type, queue count or send cap",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &adminpb.UpdateTopicRequest{Name: uName}
			if cmd.Flags().Changed("type") {
				tt, err := parseTopicType(uType)
				if err != nil {
					return err
				}
				req.Type = &tt
			}
			if cmd.Flags().Changed("queues") {
				req.QueueCount = &uQueues
			}
			if cmd.Flags().Changed("max-send-tps") {
				req.MaxSendTps = &uSendTPS
			}
			if req.Type == nil && req.QueueCount == nil && req.MaxSendTps == nil {
				return errors.New("admin: nothing to update: give --type, --queues or --max-send-tps")
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				t, err := c.UpdateTopic(ctx, req)
				if err != nil {
					return err
				}
				v := viewTopic(t)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "updated topic %q\n", v.Name)
					topicTable(w, v)
				})
			})
		},
	}
	update.Flags().StringVar(&uName, "name", "", "topic name (required)")
	update.Flags().StringVar(&uType, "type", "", "new message type: "+strings.Join(topicTypes, ", "))
	update.Flags().Int32Var(&uQueues, "queues", 0, "new number of queues, 1..64")
	update.Flags().Int32Var(&uSendTPS, "max-send-tps", 0, maxSendTPSUsage)
	_ = update.MarkFlagRequired("name")

	var gName string
	get := &cobra.Command{
		Use:   "get --name TOPIC",
		Short: "Show a topic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				t, err := c.GetTopic(ctx, &adminpb.GetTopicRequest{Name: gName})
				if err != nil {
					return err
				}
				v := viewTopic(t)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) { topicTable(w, v) })
			})
		},
	}
	get.Flags().StringVar(&gName, "name", "", "topic name (required)")
	_ = get.MarkFlagRequired("name")

	var dName string
	del := &cobra.Command{
		Use:   "delete --name TOPIC",
		Short: "Delete a topic (no confirmation: its messages become unreachable)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				if _, err := c.DeleteTopic(ctx, &adminpb.DeleteTopicRequest{Name: dName}); err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), deletedView{Kind: "topic", Name: dName, Deleted: true}, func(w io.Writer) {
					fmt.Fprintf(w, "deleted topic %q\n", dName)
				})
			})
		},
	}
	del.Flags().StringVar(&dName, "name", "", "topic name (required)")
	_ = del.MarkFlagRequired("name")

	var limit int
	list := &cobra.Command{
		Use:   "list [--limit N]",
		Short: "List topics by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("admin: --limit %d: must not be negative", limit)
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				topics, err := c.ListAllTopics(ctx, limit)
				if err != nil {
					return err
				}
				views := make([]topicView, len(topics))
				for i, t := range topics {
					views[i] = viewTopic(t)
				}
				return o.print(cmd.OutOrStdout(), struct {
					Topics []topicView `json:"topics"`
				}{views}, func(w io.Writer) { topicTable(w, views...) })
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many topics (0: all)")

	cmd.AddCommand(create, update, get, del, list)
	return cmd
}

// deletedView reports a deletion.
type deletedView struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
}

// --- groups

type groupView struct {
	Name       string `json:"name"`
	Orderly    bool   `json:"orderly"`
	MaxRetries int32  `json:"maxRetries"`
	// MaxReceiveTps 0: no cap; RetryIntervalSeconds 0: exponential backoff.
	MaxReceiveTps        int32      `json:"maxReceiveTps"`
	RetryIntervalSeconds int32      `json:"retryIntervalSeconds"`
	CreateTime           *time.Time `json:"createTime,omitempty"`
	UpdateTime           *time.Time `json:"updateTime,omitempty"`
}

func viewGroup(g *adminpb.Group) groupView {
	return groupView{
		Name: g.GetName(), Orderly: g.GetOrderly(), MaxRetries: g.GetMaxRetries(),
		MaxReceiveTps: g.GetMaxReceiveTps(), RetryIntervalSeconds: g.GetRetryIntervalSeconds(),
		CreateTime: timeOf(g.GetCreateTime()), UpdateTime: timeOf(g.GetUpdateTime()),
	}
}

func groupTable(w io.Writer, groups ...groupView) {
	fmt.Fprintln(w, "NAME\tORDERLY\tMAX RETRIES\tRETRY INTERVAL\tMAX RECEIVE TPS\tCREATED\tUPDATED")
	for _, g := range groups {
		fmt.Fprintf(w, "%s\t%t\t%d\t%s\t%s\t%s\t%s\n", g.Name, g.Orderly, g.MaxRetries, fmtRetryInterval(g.RetryIntervalSeconds),
			fmtCap(g.MaxReceiveTps), fmtTime(g.CreateTime), fmtTime(g.UpdateTime))
	}
}

type offsetView struct {
	Topic          string `json:"topic"`
	QueueID        int32  `json:"queueId"`
	MinOffset      int64  `json:"minOffset"`
	MaxOffset      int64  `json:"maxOffset"`
	ConsumerOffset int64  `json:"consumerOffset"`
	Lag            int64  `json:"lag"`
	Inflight       int64  `json:"inflight"`
}

func viewOffsets(qs []*adminpb.QueueOffset) []offsetView {
	out := make([]offsetView, len(qs))
	for i, q := range qs {
		out[i] = offsetView{
			Topic: q.GetTopic(), QueueID: q.GetQueueId(), MinOffset: q.GetMinOffset(), MaxOffset: q.GetMaxOffset(),
			ConsumerOffset: q.GetConsumerOffset(), Lag: q.GetLag(), Inflight: q.GetInflight(),
		}
	}
	return out
}

func offsetTable(w io.Writer, offsets []offsetView) {
	fmt.Fprintln(w, "TOPIC\tQUEUE\tMIN\tMAX\tCONSUMER\tLAG\tINFLIGHT")
	for _, q := range offsets {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", q.Topic, q.QueueID, q.MinOffset, q.MaxOffset, q.ConsumerOffset, q.Lag, q.Inflight)
	}
}

func newAdminGroupCmd(o *adminOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Create, update, inspect and delete consumer groups; offsets", Args: cobra.NoArgs}

	var name string
	var orderly bool
	var retries, receiveTPS int32
	var interval time.Duration
	create := &cobra.Command{
		Use:   "create --name GROUP [--orderly] [--max-retries N] [--max-receive-tps N] [--retry-interval DURATION]",
		Short: "Create a consumer group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sec, err := retryIntervalSeconds(interval)
			if err != nil {
				return err
			}
			req := &adminpb.CreateGroupRequest{Name: name, Orderly: orderly, MaxReceiveTps: receiveTPS, RetryIntervalSeconds: sec}
			if cmd.Flags().Changed("max-retries") {
				req.MaxRetries = &retries
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				g, err := c.CreateGroup(ctx, req)
				if err != nil {
					return err
				}
				v := viewGroup(g)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "created consumer group %q\n", v.Name)
					groupTable(w, v)
				})
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "group name (required)")
	create.Flags().BoolVar(&orderly, "orderly", false, "FIFO consumption: one in-flight message per message group")
	create.Flags().Int32Var(&retries, "max-retries", 16, "redeliveries before a message goes to the dead-letter topic, 0..1000 (0: one delivery only)")
	create.Flags().Int32Var(&receiveTPS, "max-receive-tps", 0, maxReceiveTPSUsage)
	create.Flags().DurationVar(&interval, "retry-interval", 0, retryIntervalUsage)
	_ = create.MarkFlagRequired("name")

	var uName string
	var uOrderly bool
	var uRetries, uReceiveTPS int32
	var uInterval time.Duration
	update := &cobra.Command{
		Use:   "update --name GROUP [--orderly=true|false] [--max-retries N] [--max-receive-tps N] [--retry-interval DURATION]",
		Short: "Change a consumer group's settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &adminpb.UpdateGroupRequest{Name: uName}
			if cmd.Flags().Changed("orderly") {
				req.Orderly = &uOrderly
			}
			if cmd.Flags().Changed("max-retries") {
				req.MaxRetries = &uRetries
			}
			if cmd.Flags().Changed("max-receive-tps") {
				req.MaxReceiveTps = &uReceiveTPS
			}
			if cmd.Flags().Changed("retry-interval") {
				sec, err := retryIntervalSeconds(uInterval)
				if err != nil {
					return err
				}
				req.RetryIntervalSeconds = &sec
			}
			if req.Orderly == nil && req.MaxRetries == nil && req.MaxReceiveTps == nil && req.RetryIntervalSeconds == nil {
				return errors.New("admin: nothing to update: give --orderly, --max-retries, --max-receive-tps or --retry-interval")
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				g, err := c.UpdateGroup(ctx, req)
				if err != nil {
					return err
				}
				v := viewGroup(g)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "updated consumer group %q\n", v.Name)
					groupTable(w, v)
				})
			})
		},
	}
	update.Flags().StringVar(&uName, "name", "", "group name (required)")
	update.Flags().BoolVar(&uOrderly, "orderly", false, "FIFO consumption on or off")
	update.Flags().Int32Var(&uRetries, "max-retries", 0, "redeliveries before a message goes to the dead-letter topic, 0..1000 (0: one delivery only)")
	update.Flags().Int32Var(&uReceiveTPS, "max-receive-tps", 0, maxReceiveTPSUsage)
	update.Flags().DurationVar(&uInterval, "retry-interval", 0, retryIntervalUsage)
	_ = update.MarkFlagRequired("name")

	var gName string
	get := &cobra.Command{
		Use:   "get --name GROUP",
		Short: "Show a consumer group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				g, err := c.GetGroup(ctx, &adminpb.GetGroupRequest{Name: gName})
				if err != nil {
					return err
				}
				v := viewGroup(g)
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) { groupTable(w, v) })
			})
		},
	}
	get.Flags().StringVar(&gName, "name", "", "group name (required)")
	_ = get.MarkFlagRequired("name")

	var dName string
	del := &cobra.Command{
		Use:   "delete --name GROUP",
		Short: "Delete a consumer group (no confirmation: its offsets are lost)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				if _, err := c.DeleteGroup(ctx, &adminpb.DeleteGroupRequest{Name: dName}); err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), deletedView{Kind: "group", Name: dName, Deleted: true}, func(w io.Writer) {
					fmt.Fprintf(w, "deleted consumer group %q\n", dName)
				})
			})
		},
	}
	del.Flags().StringVar(&dName, "name", "", "group name (required)")
	_ = del.MarkFlagRequired("name")

	var limit int
	list := &cobra.Command{
		Use:   "list [--limit N]",
		Short: "List consumer groups by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("admin: --limit %d: must not be negative", limit)
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				groups, err := c.ListAllGroups(ctx, limit)
				if err != nil {
					return err
				}
				views := make([]groupView, len(groups))
				for i, g := range groups {
					views[i] = viewGroup(g)
				}
				return o.print(cmd.OutOrStdout(), struct {
					Groups []groupView `json:"groups"`
				}{views}, func(w io.Writer) { groupTable(w, views...) })
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many groups (0: all)")

	var oName, oTopic string
	offsets := &cobra.Command{
		Use:   "offsets --name GROUP [--topic TOPIC]",
		Short: "Show a group's offsets, lag and in-flight messages per queue",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				resp, err := c.GetGroupOffsets(ctx, &adminpb.GetGroupOffsetsRequest{Group: oName, Topic: oTopic})
				if err != nil {
					return err
				}
				v := struct {
					Group    string       `json:"group"`
					TotalLag int64        `json:"totalLag"`
					Offsets  []offsetView `json:"offsets"`
				}{oName, resp.GetTotalLag(), viewOffsets(resp.GetOffsets())}
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					offsetTable(w, v.Offsets)
					fmt.Fprintf(w, "total lag\t%d\n", v.TotalLag)
				})
			})
		},
	}
	offsets.Flags().StringVar(&oName, "name", "", "group name (required)")
	offsets.Flags().StringVar(&oTopic, "topic", "", "only this topic (default: every topic the group consumed)")
	_ = offsets.MarkFlagRequired("name")

	var rName, rTopic, rTo string
	reset := &cobra.Command{
		Use:   "reset-offset --name GROUP --topic TOPIC --to earliest|latest|TIME",
		Short: "Move a group's consumer offset on every queue of a topic",
		Long: `Move a group's consumer offset on every queue of a topic and drop its
in-flight deliveries there. --to is earliest (the oldest retained message),
latest (only new messages) or an RFC 3339 time such as 2025-01-31T08:00:00Z
(the first message stored at or after it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &adminpb.ResetGroupOffsetRequest{Group: rName, Topic: rTopic}
			switch strings.ToLower(rTo) {
			case "earliest":
				req.Target = &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_EARLIEST}
			case "latest":
				req.Target = &adminpb.ResetGroupOffsetRequest_Position{Position: adminpb.ResetPosition_RESET_POSITION_LATEST}
			default:
				t, err := time.Parse(time.RFC3339Nano, rTo)
				if err != nil {
					return fmt.Errorf("admin: --to %q: want earliest, latest or an RFC 3339 time", rTo)
				}
				req.Target = &adminpb.ResetGroupOffsetRequest_Timestamp{Timestamp: timestamppb.New(t)}
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				resp, err := c.ResetGroupOffset(ctx, req)
				if err != nil {
					return err
				}
				v := struct {
					Group   string       `json:"group"`
					Topic   string       `json:"topic"`
					To      string       `json:"to"`
					Offsets []offsetView `json:"offsets"`
				}{rName, rTopic, rTo, viewOffsets(resp.GetOffsets())}
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "reset consumer group %q on topic %q to %s\n", rName, rTopic, rTo)
					offsetTable(w, v.Offsets)
				})
			})
		},
	}
	reset.Flags().StringVar(&rName, "name", "", "group name (required)")
	reset.Flags().StringVar(&rTopic, "topic", "", "topic name (required)")
	reset.Flags().StringVar(&rTo, "to", "", "earliest, latest or an RFC 3339 time (required)")
	for _, f := range []string{"name", "topic", "to"} {
		_ = reset.MarkFlagRequired(f)
	}

	cmd.AddCommand(create, update, get, del, list, offsets, reset, newAdminGroupSubscriptionsCmd(o))
	return cmd
}

// --- stats

type statsView struct {
	Version       string     `json:"version"`
	StartTime     *time.Time `json:"startTime,omitempty"`
	UptimeSeconds int64      `json:"uptimeSeconds"`
	TopicCount    int64      `json:"topicCount"`
	GroupCount    int64      `json:"groupCount"`
	Store         struct {
		CommitLogBytes     int64 `json:"commitLogBytes"`
		DiskUsedBytes      int64 `json:"diskUsedBytes"`
		Segments           int64 `json:"segments"`
		MinCommitLogOffset int64 `json:"minCommitLogOffset"`
		MaxCommitLogOffset int64 `json:"maxCommitLogOffset"`
		DeletedSegments    int64 `json:"deletedSegments"`
		UnreadDeletions    int64 `json:"unreadDeletions"`
	} `json:"store"`
}

func newAdminStatsCmd(o *adminOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Show the node's version, uptime, store sizes and object counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				s, err := c.GetNodeStats(ctx, &adminpb.GetNodeStatsRequest{})
				if err != nil {
					return err
				}
				var v statsView
				v.Version, v.StartTime = s.GetVersion(), timeOf(s.GetStartTime())
				uptime := s.GetUptime().AsDuration()
				v.UptimeSeconds = int64(uptime / time.Second)
				v.TopicCount, v.GroupCount = s.GetTopicCount(), s.GetGroupCount()
				st := s.GetStore()
				v.Store.CommitLogBytes, v.Store.DiskUsedBytes, v.Store.Segments = st.GetCommitLogBytes(), st.GetDiskUsedBytes(), st.GetSegments()
				v.Store.MinCommitLogOffset, v.Store.MaxCommitLogOffset = st.GetMinCommitLogOffset(), st.GetMaxCommitLogOffset()
				v.Store.DeletedSegments, v.Store.UnreadDeletions = st.GetDeletedSegments(), st.GetUnreadDeletions()
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintf(w, "version\t%s\n", v.Version)
					fmt.Fprintf(w, "started\t%s\n", fmtTime(v.StartTime))
					fmt.Fprintf(w, "uptime\t%s\n", uptime.Truncate(time.Second))
					fmt.Fprintf(w, "topics\t%d\n", v.TopicCount)
					fmt.Fprintf(w, "groups\t%d\n", v.GroupCount)
					fmt.Fprintf(w, "commit log\t%s\n", fmtBytes(v.Store.CommitLogBytes))
					fmt.Fprintf(w, "disk used\t%s\n", fmtBytes(v.Store.DiskUsedBytes))
					fmt.Fprintf(w, "segments\t%d\n", v.Store.Segments)
					fmt.Fprintf(w, "commit-log offsets\t%d..%d\n", v.Store.MinCommitLogOffset, v.Store.MaxCommitLogOffset)
					fmt.Fprintf(w, "segments deleted by retention\t%d\n", v.Store.DeletedSegments)
					fmt.Fprintf(w, "deletions of unconsumed data\t%d\n", v.Store.UnreadDeletions)
				})
			})
		},
	}
}

// --- formatting

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime().UTC()
	return &t
}

const (
	maxSendTPSUsage    = "messages per second producers may send to the topic (0: no cap)"
	maxReceiveTPSUsage = "messages per second the group's consumers may receive (0: no cap)"
	retryIntervalUsage = "fixed delay before a failed message is redelivered, whole seconds within 1s..2h (0: exponential backoff 1s..2h)"
)

// retryIntervalSeconds converts --retry-interval for the admin service,
// which takes whole seconds.
func retryIntervalSeconds(d time.Duration) (int32, error) {
	if d < 0 || d > 2*time.Hour || d%time.Second != 0 {
		return 0, fmt.Errorf("admin: --retry-interval %s: want whole seconds within 1s..2h, or 0 for exponential backoff", d)
	}
	return int32(d / time.Second), nil
}

// fmtCap shows a messages-per-second cap; 0 is none.
func fmtCap(n int32) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(int(n))
}

func fmtRetryInterval(sec int32) string {
	if sec == 0 {
		return "backoff"
	}
	return (time.Duration(sec) * time.Second).String()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// fmtBytes prints a size in binary units, with the exact count for small ones.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
