package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/namesrv"
	"github.com/orbitmq/orbit/dataplane/store"
)

// This file is the one mapping from Go errors to RocketMQ status codes
// (spec §4). Errors travel in the response Status with gRPC status OK; gRPC
// errors are kept for transport problems and rejected telemetry streams.

// codeError is a request the proxy itself rejects with a specific code.
type codeError struct {
	code v2.Code
	msg  string // safe for the client
}

func (e *codeError) Error() string { return e.code.String() + ": " + e.msg }

// reject builds a codeError; the message is sent to the client.
func reject(code v2.Code, format string, args ...any) error {
	return &codeError{code: code, msg: fmt.Sprintf(format, args...)}
}

// internalMessage is all a client learns about an internal failure.
const internalMessage = "internal error"

// statusOf maps err to a Status. nil is OK. Unknown errors become
// INTERNAL_ERROR with a message that leaks nothing; the caller logs them
// (see logStatus).
func statusOf(err error) *v2.Status {
	if err == nil {
		return okStatus()
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return &v2.Status{Code: ce.code, Message: ce.msg}
	}
	code, msg := classify(err)
	return &v2.Status{Code: code, Message: msg}
}

func classify(err error) (v2.Code, string) {
	switch {
	case errors.Is(err, broker.ErrTopicNotFound), errors.Is(err, namesrv.ErrTopicNotFound):
		return v2.Code_TOPIC_NOT_FOUND, "topic not found"
	case errors.Is(err, broker.ErrGroupNotFound):
		return v2.Code_CONSUMER_GROUP_NOT_FOUND, "consumer group not found"
	case errors.Is(err, namesrv.ErrNoReadableQueue):
		return v2.Code_FORBIDDEN, "no readable queue"
	case errors.Is(err, broker.ErrInvalidHandle):
		return v2.Code_INVALID_RECEIPT_HANDLE, "receipt handle is invalid or expired"
	case errors.Is(err, broker.ErrTransactionNotFound):
		return v2.Code_INVALID_TRANSACTION_ID, "transaction not found: unknown, or resolved and forgotten"
	case errors.Is(err, broker.ErrRecallNotFound):
		return v2.Code_NOT_FOUND, "message already delivered, recalled or unknown"
	case errors.Is(err, broker.ErrIllegalDeliveryTime):
		// The broker words the limit (Config.MaxDelay) for the client.
		return v2.Code_ILLEGAL_DELIVERY_TIME, err.Error()
	case errors.Is(err, broker.ErrTypeMismatch):
		return v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, "message type does not match the topic type"
	case errors.Is(err, broker.ErrBadFilter):
		return v2.Code_ILLEGAL_FILTER_EXPRESSION, "invalid filter expression"
	case errors.Is(err, store.ErrTooLarge), errors.Is(err, broker.ErrBodyTooLarge):
		return v2.Code_MESSAGE_BODY_TOO_LARGE, "message body too large"
	case errors.Is(err, broker.ErrBodyEmpty):
		return v2.Code_MESSAGE_BODY_EMPTY, "message body is empty"
	case errors.Is(err, broker.ErrUnsupported):
		return v2.Code_UNSUPPORTED, err.Error()
	case errors.Is(err, broker.ErrInvalidArgument):
		// The broker wraps ErrInvalidArgument with a client-facing detail.
		return v2.Code_BAD_REQUEST, err.Error()
	case errors.Is(err, ErrForbidden):
		return v2.Code_FORBIDDEN, "forbidden"
	case errors.Is(err, ErrUnauthorized):
		return v2.Code_UNAUTHORIZED, "unauthorized"
	case errors.Is(err, context.DeadlineExceeded):
		return v2.Code_PROXY_TIMEOUT, "request timed out"
	case errors.Is(err, context.Canceled):
		return v2.Code_REQUEST_TIMEOUT, "request canceled"
	case errors.Is(err, broker.ErrClosed), errors.Is(err, store.ErrClosed), errors.Is(err, errStopping):
		return v2.Code_INTERNAL_SERVER_ERROR, "service is shutting down"
	default:
		return v2.Code_INTERNAL_ERROR, internalMessage
	}
}

func okStatus() *v2.Status { return &v2.Status{Code: v2.Code_OK, Message: "OK"} }

// isServerError reports codes an operator may have to act on (5xx).
func isServerError(c v2.Code) bool { return c >= 50000 && c < 60000 }

// logStatus logs a failed request: internal errors at Error with the cause
// (never sent to the client), client errors at Debug.
func logStatus(ctx context.Context, log *slog.Logger, op string, st *v2.Status, err error, attrs ...any) {
	if err == nil || st.GetCode() == v2.Code_OK {
		return
	}
	attrs = append(attrs, slog.String("op", op), slog.String("code", st.GetCode().String()), slog.Any("err", err))
	if isServerError(st.GetCode()) && !errors.Is(err, context.Canceled) {
		log.ErrorContext(ctx, "request failed", attrs...)
		return
	}
	log.DebugContext(ctx, "request rejected", attrs...)
}

// commonStatus is the top-level status of a batch: the shared entry code, or
// MULTIPLE_RESULTS when entries differ (spec §7.3, §7.6).
func commonStatus(entries []*v2.Status) *v2.Status {
	if len(entries) == 0 {
		return okStatus()
	}
	first := entries[0]
	for _, s := range entries[1:] {
		if s.GetCode() != first.GetCode() {
			return &v2.Status{Code: v2.Code_MULTIPLE_RESULTS, Message: "entries have different results"}
		}
	}
	return &v2.Status{Code: first.GetCode(), Message: first.GetMessage()}
}
