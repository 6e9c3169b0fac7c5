package proxy

import (
	"context"
	"time"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

// Broker is what the proxy needs of a broker: *broker.Broker in the same
// process (`orbit node --roles all`), or a brokerrpc client when the proxy
// runs apart from the broker (`--roles proxy`). Errors must match the broker
// package's sentinels with errors.Is, since status.go maps them to RocketMQ
// codes. The proxy puts broker.WithCaller on the context of every call it
// makes for a client.
type Broker interface {
	Send(ctx context.Context, msgs []*store.Message) ([]broker.SendResult, error)
	Receive(ctx context.Context, req broker.ReceiveRequest) ([]broker.Delivery, error)
	Ack(ctx context.Context, group, topic, messageID, handle string) error
	ChangeInvisible(ctx context.Context, group, topic, messageID, handle string, d time.Duration) (string, error)
	ForwardToDLQ(ctx context.Context, group, topic, messageID, handle string) error
	ClientGone(clientID string)
	GetGroup(name string) (broker.Group, error)
	// GetTopic serves route lookups (BrokerTopics).
	GetTopic(name string) (broker.Topic, error)
	// EndTransaction resolves a transaction (EndTransaction RPC).
	EndTransaction(ctx context.Context, topic, messageID, transactionID string, r broker.Resolution, fromCheck bool) error
	// Recall cancels a scheduled delay message and returns its id.
	Recall(ctx context.Context, topic, handle string) (string, error)
	// TakeTxnChecks returns the orphan transaction checks due now; the proxy
	// pushes each to one live producer of its topic (transaction.go).
	TakeTxnChecks(ctx context.Context, max int) ([]broker.TxnCheck, error)
}

// The in-process broker is the reference implementation.
var _ Broker = (*broker.Broker)(nil)
