package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/orbitmq/orbit/dataplane/store"
)

// ErrTransactionNotFound: EndTransaction named a transaction this broker
// does not hold (never sent, or resolved so long ago it was forgotten).
var ErrTransactionNotFound = errors.New("transaction not found")

// Resolution is a producer's decision on a transaction.
type Resolution int

const (
	ResolutionUnknown  Resolution = iota // "not yet": no state change, checks go on
	ResolutionCommit                     // deliver the half message
	ResolutionRollback                   // discard it
)

// TxnCheck is an orphan check due now: the proxy sends it to a live
// producer of Message.Topic as RecoverOrphanedTransactionCommand.
type TxnCheck struct {
	TransactionID string
	Message       *store.Message // the half message, with its real topic
}

// EndTransaction resolves a transaction. Resolving an already-resolved
// transaction the same way again is accepted; an unknown id is
// ErrTransactionNotFound.
func (b *Broker) EndTransaction(ctx context.Context, topic, messageID, transactionID string, r Resolution, fromCheck bool) error {
	return fmt.Errorf("%w: transactions", ErrUnsupported)
}

// TakeTxnChecks returns up to max orphan checks that are due, and counts
// them as sent (the next check of each is scheduled with backoff).
func (b *Broker) TakeTxnChecks(ctx context.Context, max int) ([]TxnCheck, error) {
	return nil, nil
}
