package proxy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

const (
	// txnCheckBatch is how many orphan checks one TakeTxnChecks asks for;
	// txnCheckRounds bounds the batches taken per period, so a backlog is
	// worked off in steps instead of one long burst.
	txnCheckBatch  = 64
	txnCheckRounds = 16
	// txnCheckTimeout bounds one TakeTxnChecks call.
	txnCheckTimeout = 5 * time.Second
)

// EndTransaction resolves a transaction (spec §7.9): the producer's commit
// or rollback after a send, or its answer to an orphan check.
func (s *Server) EndTransaction(ctx context.Context, req *v2.EndTransactionRequest) (*v2.EndTransactionResponse, error) {
	clientID := clientIDOf(ctx)
	err := s.endTransaction(ctx, clientID, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "EndTransaction", st, err, slog.String("client_id", clientID),
		slog.String("topic", req.GetTopic().GetName()), slog.String("transaction_id", truncate(req.GetTransactionId())))
	return &v2.EndTransactionResponse{Status: st}, nil
}

func (s *Server) endTransaction(ctx context.Context, clientID string, req *v2.EndTransactionRequest) error {
	if clientID == "" {
		return reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	topic, err := checkTopic(req.GetTopic())
	if err != nil {
		return err
	}
	if isBlank(req.GetTransactionId()) {
		return reject(v2.Code_INVALID_TRANSACTION_ID, "transaction id is required")
	}
	var r broker.Resolution
	switch req.GetResolution() {
	case v2.TransactionResolution_COMMIT:
		r = broker.ResolutionCommit
	case v2.TransactionResolution_ROLLBACK:
		r = broker.ResolutionRollback
	case v2.TransactionResolution_TRANSACTION_RESOLUTION_UNSPECIFIED:
		// Go's answer when its checker says UNKNOWN: no state change,
		// checks go on (spec §6.3, §7.9).
		r = broker.ResolutionUnknown
	default:
		return reject(v2.Code_BAD_REQUEST, "unknown transaction resolution %d", req.GetResolution())
	}
	// Go leaves source unset even when answering a check; Node marks it.
	fromCheck := req.GetSource() == v2.TransactionSource_SOURCE_SERVER_CHECK
	return s.cfg.Broker.EndTransaction(ctx, topic, req.GetMessageId(), req.GetTransactionId(), r, fromCheck)
}

// runTxnChecks pushes due orphan transaction checks to producers every
// TxnCheckPeriod until ctx ends (spec §9.4). A broker that cannot be asked
// (a proxy node whose broker node is down) is logged when that starts and
// when it ends, not every period.
func (s *Server) runTxnChecks(ctx context.Context) {
	failing := false
	every(ctx, s.cfg.TxnCheckPeriod, func() {
		err := s.pushTxnChecks(ctx)
		switch {
		case err == nil:
			if failing {
				s.log.InfoContext(ctx, "taking transaction checks from the broker again")
			}
			failing = false
		case ctx.Err() != nil, errors.Is(err, broker.ErrClosed), errors.Is(err, store.ErrClosed):
			// Shutting down.
		case errors.Is(err, broker.ErrUnsupported):
			s.log.DebugContext(ctx, "take transaction checks", slog.Any("err", err))
		case !failing:
			failing = true
			s.log.WarnContext(ctx, "take transaction checks; orphan checks wait until the broker answers", slog.Any("err", err))
		default:
			s.log.DebugContext(ctx, "take transaction checks", slog.Any("err", err))
		}
	})
}

// pushTxnChecks takes the checks that are due and sends each to one live
// producer of its topic. The broker counts a check as sent once taken, so a
// check no producer can get is dropped here and comes back at its next
// check time.
func (s *Server) pushTxnChecks(ctx context.Context) error {
	for range txnCheckRounds {
		tctx, cancel := context.WithTimeout(ctx, txnCheckTimeout)
		checks, err := s.cfg.Broker.TakeTxnChecks(tctx, txnCheckBatch)
		cancel()
		if err != nil {
			return err
		}
		for _, c := range checks {
			s.pushTxnCheck(ctx, c)
		}
		if len(checks) < txnCheckBatch {
			return nil
		}
	}
	return nil
}

// pushTxnCheck sends one check as RecoverOrphanedTransactionCommand on the
// telemetry stream of one producer that publishes to the message's topic,
// rotating among them; a producer whose stream is full is skipped.
func (s *Server) pushTxnCheck(ctx context.Context, c broker.TxnCheck) {
	if c.Message == nil {
		return
	}
	topic := c.Message.Topic
	attrs := []any{slog.String("topic", topic), slog.String("transaction_id", c.TransactionID)}
	producers := s.clients.producerStreams(topic)
	if len(producers) == 0 {
		s.metrics.txnChecks.WithLabelValues("no_producer").Inc()
		s.log.DebugContext(ctx, "transaction check dropped: no producer of the topic is connected", attrs...)
		return
	}
	n := uint64(len(producers))
	first := s.txnRR.Add(1) - 1
	now := s.cfg.Now()
	for i := range n {
		p := producers[(first+i)%n]
		cmd := &v2.TelemetryCommand{Command: &v2.TelemetryCommand_RecoverOrphanedTransactionCommand{
			RecoverOrphanedTransactionCommand: &v2.RecoverOrphanedTransactionCommand{
				Message:       txnCheckMessage(c.Message, p.stream.storeHost, now),
				TransactionId: c.TransactionID,
			},
		}}
		if p.stream.push(cmd) {
			s.metrics.txnChecks.WithLabelValues("sent").Inc()
			s.log.DebugContext(ctx, "transaction check sent", append(attrs, slog.String("client_id", p.clientID))...)
			return
		}
	}
	s.metrics.txnChecks.WithLabelValues("busy").Inc()
	s.log.DebugContext(ctx, "transaction check dropped: producer streams are full", attrs...)
}

// txnCheckMessage is the half message as a client decodes a received one
// (spec §6.3: digest rules apply), without the fields of a delivery.
func txnCheckMessage(m *store.Message, storeHost string, now time.Time) *v2.Message {
	wm := toWireMessage(broker.Delivery{Message: m, Attempt: 1}, m.Topic, storeHost, now)
	wm.SystemProperties.ReceiptHandle = nil
	wm.SystemProperties.InvisibleDuration = nil
	return wm
}
