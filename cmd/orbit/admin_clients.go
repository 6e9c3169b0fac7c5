package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbitmq/orbit/dataplane/admin/adminclient"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
)

// --- connected clients and group subscriptions

// subscriptionView is one topic a consumer subscribes to.
type subscriptionView struct {
	Topic      string `json:"topic"`
	FilterType string `json:"filterType"`
	Expression string `json:"expression"`
}

// clientView is a connected client in the JSON output.
type clientView struct {
	ClientID      string             `json:"clientId"`
	Kind          string             `json:"kind"`
	Address       string             `json:"address"`
	Language      string             `json:"language"`
	Version       string             `json:"version"`
	Hostname      string             `json:"hostname,omitempty"`
	Group         string             `json:"group,omitempty"`
	Subscriptions []subscriptionView `json:"subscriptions"`
	Topics        []string           `json:"topics"`
	AccessKey     string             `json:"accessKey,omitempty"`
	LastHeartbeat *time.Time         `json:"lastHeartbeat,omitempty"`
	FirstSeen     *time.Time         `json:"firstSeen,omitempty"`
}

func viewClient(c *adminpb.Client) clientView {
	v := clientView{
		ClientID: c.GetClientId(), Kind: enumName(c.GetKind().String(), "CLIENT_KIND_"),
		Address: c.GetAddress(), Language: c.GetLanguage(), Version: c.GetVersion(), Hostname: c.GetHostname(),
		Group: c.GetGroup(), Subscriptions: []subscriptionView{}, Topics: append([]string{}, c.GetTopics()...),
		AccessKey: c.GetAccessKey(), LastHeartbeat: timeOf(c.GetLastHeartbeat()), FirstSeen: timeOf(c.GetFirstSeen()),
	}
	for _, s := range c.GetSubscriptions() {
		v.Subscriptions = append(v.Subscriptions, subscriptionView{
			Topic: s.GetTopic(), FilterType: enumName(s.GetFilterType().String(), "FILTER_TYPE_"), Expression: s.GetExpression(),
		})
	}
	return v
}

// clientTopics is what a client does, in a few words: "t1(TAG a||b)" per
// subscription, or the producer's topics.
func clientTopics(c clientView) string {
	var parts []string
	for _, s := range c.Subscriptions {
		parts = append(parts, fmt.Sprintf("%s(%s %s)", s.Topic, s.FilterType, s.Expression))
	}
	parts = append(parts, c.Topics...)
	return orDash(strings.Join(parts, " "))
}

func clientTable(w io.Writer, clients []clientView) {
	fmt.Fprintln(w, "CLIENT ID\tKIND\tGROUP\tTOPICS\tADDRESS\tLANGUAGE\tVERSION\tACCESS KEY\tLAST HEARTBEAT")
	for _, c := range clients {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Kind, orDash(c.Group), clientTopics(c),
			orDash(c.Address), orDash(c.Language), orDash(c.Version), orDash(c.AccessKey), fmtTime(c.LastHeartbeat))
	}
}

func newAdminClientCmd(o *adminOpts) *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Inspect the clients connected to the node", Args: cobra.NoArgs}
	var group, topic string
	list := &cobra.Command{
		Use:   "list [--group GROUP] [--topic TOPIC]",
		Short: "List the clients connected to the node's proxy by client id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				views := []clientView{}
				for token := ""; ; {
					resp, err := c.ListClients(ctx, &adminpb.ListClientsRequest{Group: group, Topic: topic, PageSize: 1000, PageToken: token})
					if err != nil {
						return err
					}
					for _, cl := range resp.GetClients() {
						views = append(views, viewClient(cl))
					}
					if token = resp.GetNextPageToken(); token == "" {
						break
					}
				}
				return o.print(cmd.OutOrStdout(), struct {
					Clients []clientView `json:"clients"`
				}{views}, func(w io.Writer) { clientTable(w, views) })
			})
		},
	}
	list.Flags().StringVar(&group, "group", "", "only the consumers of this group")
	list.Flags().StringVar(&topic, "topic", "", "only clients that publish or subscribe to this topic")
	cmd.AddCommand(list)
	return cmd
}

// variantView is one distinct way a topic is subscribed.
type variantView struct {
	FilterType string   `json:"filterType"`
	Expression string   `json:"expression"`
	ClientIDs  []string `json:"clientIds"`
}

type topicSubscriptionView struct {
	Topic      string        `json:"topic"`
	Consistent bool          `json:"consistent"`
	Variants   []variantView `json:"variants"`
}

func newAdminGroupSubscriptionsCmd(o *adminOpts) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "subscriptions GROUP",
		Short: "Show what a group's online consumers subscribe to and whether they agree",
		Long: `Show, per topic, the filters a group's online consumers subscribe with and
which clients use each. A topic is inconsistent when its consumers use
different filters or when only some of the group's consumers subscribe to it;
messages are then delivered by whichever consumer happens to receive them.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && name != "" && name != args[0]:
				return fmt.Errorf("admin: group %q and --name %q differ", args[0], name)
			case len(args) == 1:
				name = args[0]
			case name == "":
				return errors.New("admin: a group is required: orbit admin group subscriptions GROUP")
			}
			return o.call(cmd, func(ctx context.Context, c *adminclient.Client) error {
				resp, err := c.GetGroupSubscriptions(ctx, &adminpb.GetGroupSubscriptionsRequest{Group: name})
				if err != nil {
					return err
				}
				v := struct {
					Group         string                  `json:"group"`
					ClientCount   int32                   `json:"clientCount"`
					Consistent    bool                    `json:"consistent"`
					Subscriptions []topicSubscriptionView `json:"subscriptions"`
				}{name, resp.GetClientCount(), resp.GetConsistent(), []topicSubscriptionView{}}
				for _, ts := range resp.GetSubscriptions() {
					tv := topicSubscriptionView{Topic: ts.GetTopic(), Consistent: ts.GetConsistent(), Variants: []variantView{}}
					for _, vr := range ts.GetVariants() {
						tv.Variants = append(tv.Variants, variantView{
							FilterType: enumName(vr.GetFilterType().String(), "FILTER_TYPE_"), Expression: vr.GetExpression(),
							ClientIDs: append([]string{}, vr.GetClientIds()...),
						})
					}
					v.Subscriptions = append(v.Subscriptions, tv)
				}
				return o.print(cmd.OutOrStdout(), v, func(w io.Writer) {
					fmt.Fprintln(w, "TOPIC\tCONSISTENT\tFILTER\tEXPRESSION\tCLIENTS")
					for _, ts := range v.Subscriptions {
						for _, vr := range ts.Variants {
							fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\n", ts.Topic, ts.Consistent, vr.FilterType, vr.Expression, strings.Join(vr.ClientIDs, ","))
						}
					}
					state := "consistent"
					if !v.Consistent {
						state = "INCONSISTENT"
					}
					fmt.Fprintf(w, "%d online consumers; subscriptions %s\n", v.ClientCount, state)
				})
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "group name (instead of the argument)")
	return cmd
}
