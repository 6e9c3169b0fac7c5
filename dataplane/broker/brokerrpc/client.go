package brokerrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
	"github.com/orbitmq/orbit/dataplane/grpcauth"
	"github.com/orbitmq/orbit/dataplane/store"
)

// DefaultCallTimeout bounds a call whose context has no deadline. Receive
// gets its poll timeout on top.
const DefaultCallTimeout = 10 * time.Second

// ClientConfig builds a Client.
type ClientConfig struct {
	Endpoint string // host:port of the broker node's broker rpc address; required
	Token    string // the broker node's admin token; required
	// CallTimeout bounds calls without a deadline of their own, and the
	// context-free ones (GetTopic, GetGroup, ClientGone). 0: DefaultCallTimeout.
	CallTimeout     time.Duration
	MaxMessageBytes int          // 0: DefaultMaxMessageBytes
	Log             *slog.Logger // nil: discard
}

// Client reaches a remote broker. It implements proxy.Broker and is safe for
// concurrent use; one connection is shared and redialled as needed.
type Client struct {
	conn    *grpc.ClientConn
	rpc     brokerpb.BrokerClient
	timeout time.Duration
	log     *slog.Logger
}

// NewClient checks cfg and prepares the connection; it connects on the first
// call, so a broker that starts later is fine.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("broker rpc client: an endpoint is required")
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("broker rpc client: a token is required")
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	conn, err := grpc.NewClient(cfg.Endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcauth.Credentials(cfg.Token)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxMessageBytes), grpc.MaxCallSendMsgSize(cfg.MaxMessageBytes)),
		// Notice a dead broker between calls rather than on the next send.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithChainUnaryInterceptor(sendCaller),
	)
	if err != nil {
		return nil, fmt.Errorf("broker rpc client for %s: %w", cfg.Endpoint, err)
	}
	return &Client{conn: conn, rpc: brokerpb.NewBrokerClient(conn), timeout: cfg.CallTimeout, log: cfg.Log}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// withTimeout bounds ctx by extra+CallTimeout unless it has a deadline.
func (c *Client) withTimeout(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, extra+c.timeout)
}

// Send stores msgs on the remote broker. Like broker.Broker.Send it sets
// QueueID and the store-assigned fields on msgs.
func (c *Client) Send(ctx context.Context, msgs []*store.Message) ([]broker.SendResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	req := &brokerpb.SendRequest{Messages: make([]*brokerpb.Message, len(msgs))}
	for i, m := range msgs {
		req.Messages[i] = messageToPB(m)
	}
	resp, err := c.rpc.Send(ctx, req)
	if err != nil {
		return nil, fromStatus("Send", err)
	}
	out := make([]broker.SendResult, len(resp.GetResults()))
	for i, r := range resp.GetResults() {
		out[i] = broker.SendResult{
			MessageID: r.GetMessageId(), QueueID: r.GetQueueId(), QueueOffset: r.GetQueueOffset(),
			TransactionID: r.GetTransactionId(), RecallHandle: r.GetRecallHandle(),
		}
		if i < len(msgs) && msgs[i] != nil {
			m := msgs[i]
			m.QueueID, m.QueueOffset, m.CommitLogOffset = r.GetQueueId(), r.GetQueueOffset(), r.GetCommitLogOffset()
			m.StoreTime, m.StoreSize = timeFromPB(r.GetStoreTime()), r.GetStoreSize()
		}
	}
	return out, nil
}

// Receive long-polls the remote broker. The broker answers by itself after
// req.PollTimeout; the call's deadline (the caller's, or PollTimeout plus
// CallTimeout) is a backstop for a broker that went silent.
func (c *Client) Receive(ctx context.Context, req broker.ReceiveRequest) ([]broker.Delivery, error) {
	ctx, cancel := c.withTimeout(ctx, max(req.PollTimeout, 0))
	defer cancel()
	resp, err := c.rpc.Receive(ctx, receiveToPB(req))
	if err != nil {
		return nil, fromStatus("Receive", err)
	}
	out := make([]broker.Delivery, len(resp.GetDeliveries()))
	for i, d := range resp.GetDeliveries() {
		out[i] = deliveryFromPB(d)
	}
	return out, nil
}

func (c *Client) Ack(ctx context.Context, group, topic, messageID, handle string) error {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	_, err := c.rpc.Ack(ctx, &brokerpb.HandleRequest{Group: group, Topic: topic, MessageId: messageID, ReceiptHandle: handle})
	return fromStatus("Ack", err)
}

func (c *Client) ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.rpc.ChangeInvisible(ctx, &brokerpb.ChangeInvisibleRequest{
		Group: group, Topic: topic, MessageId: messageID, ReceiptHandle: handle, InvisibleDurationNanos: int64(d),
	})
	if err != nil {
		return "", fromStatus("ChangeInvisible", err)
	}
	return resp.GetReceiptHandle(), nil
}

func (c *Client) ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	_, err := c.rpc.ForwardToDLQ(ctx, &brokerpb.HandleRequest{Group: group, Topic: topic, MessageId: messageID, ReceiptHandle: handle})
	return fromStatus("ForwardToDLQ", err)
}

// ClientGone tells the broker a client left. It has no error to return (the
// broker's own method has none), so a failure is logged: the client's
// auto-renewed deliveries then stay hidden until their hold runs out.
func (c *Client) ClientGone(clientID string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if _, err := c.rpc.ClientGone(ctx, &brokerpb.ClientGoneRequest{ClientId: clientID}); err != nil {
		c.log.Warn("broker rpc: report client gone", slog.String("client_id", clientID), slog.Any("err", fromStatus("ClientGone", err)))
	}
}

func (c *Client) GetGroup(name string) (broker.Group, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	g, err := c.rpc.GetGroup(ctx, &brokerpb.GetRequest{Name: name})
	if err != nil {
		return broker.Group{}, fromStatus("GetGroup", err)
	}
	return groupFromPB(g), nil
}

func (c *Client) GetTopic(name string) (broker.Topic, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	t, err := c.rpc.GetTopic(ctx, &brokerpb.GetRequest{Name: name})
	if err != nil {
		return broker.Topic{}, fromStatus("GetTopic", err)
	}
	return topicFromPB(t), nil
}

// ListTopics lists the remote broker's topics like broker.Broker.ListTopics;
// unlike it, the call can fail.
func (c *Client) ListTopics(ctx context.Context, after string, limit int) ([]broker.Topic, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.rpc.ListTopics(ctx, &brokerpb.ListTopicsRequest{After: after, Limit: int32(min(max(limit, 0), 1<<31-1))})
	if err != nil {
		return nil, fromStatus("ListTopics", err)
	}
	return topicsFromPB(resp.GetTopics()), nil
}

// EndTransaction resolves a transaction on the remote broker.
func (c *Client) EndTransaction(ctx context.Context, topic, messageID, transactionID string, r broker.Resolution, fromCheck bool) error {
	res, err := resolutionToPB(r)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	_, err = c.rpc.EndTransaction(ctx, &brokerpb.EndTransactionRequest{
		Topic: topic, MessageId: messageID, TransactionId: transactionID, Resolution: res, FromCheck: fromCheck,
	})
	return fromStatus("EndTransaction", err)
}

// Recall cancels a scheduled delay message on the remote broker.
func (c *Client) Recall(ctx context.Context, topic, handle string) (string, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.rpc.Recall(ctx, &brokerpb.RecallRequest{Topic: topic, Handle: handle})
	if err != nil {
		return "", fromStatus("Recall", err)
	}
	return resp.GetMessageId(), nil
}

// TakeTxnChecks takes the orphan checks due on the remote broker. The broker
// counts them as sent once it answers; a check lost with the answer (a
// broken connection) is retried at its next check time.
func (c *Client) TakeTxnChecks(ctx context.Context, n int) ([]broker.TxnCheck, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.rpc.TakeTxnChecks(ctx, &brokerpb.TakeTxnChecksRequest{Max: int32(min(max(n, 0), 1<<31-1))})
	if err != nil {
		return nil, fromStatus("TakeTxnChecks", err)
	}
	out := make([]broker.TxnCheck, len(resp.GetChecks()))
	for i, ch := range resp.GetChecks() {
		out[i] = broker.TxnCheck{TransactionID: ch.GetTransactionId(), Message: messageFromPB(ch.GetMessage())}
	}
	return out, nil
}
