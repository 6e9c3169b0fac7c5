package brokerrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/broker/brokerrpc/brokerpb"
	"github.com/orbitmq/orbit/dataplane/store"
)

// sentinels are the errors that cross the wire by name. The proxy maps them
// to RocketMQ codes (dataplane/proxy/status.go), so a remote broker must fail
// with errors that match the same ones. Order matters only for the gRPC code:
// the first match picks it, so refinements (ErrBodyEmpty) come before what
// they refine (ErrInvalidArgument).
var sentinels = []struct {
	name string
	err  error
	code codes.Code
}{
	{"broker.ErrTopicNotFound", broker.ErrTopicNotFound, codes.NotFound},
	{"broker.ErrGroupNotFound", broker.ErrGroupNotFound, codes.NotFound},
	{"broker.ErrTopicExists", broker.ErrTopicExists, codes.AlreadyExists},
	{"broker.ErrGroupExists", broker.ErrGroupExists, codes.AlreadyExists},
	{"broker.ErrInvalidHandle", broker.ErrInvalidHandle, codes.FailedPrecondition},
	{"broker.ErrTransactionNotFound", broker.ErrTransactionNotFound, codes.NotFound},
	{"broker.ErrRecallNotFound", broker.ErrRecallNotFound, codes.NotFound},
	{"broker.ErrIllegalDeliveryTime", broker.ErrIllegalDeliveryTime, codes.InvalidArgument},
	{"broker.ErrTypeMismatch", broker.ErrTypeMismatch, codes.InvalidArgument},
	{"broker.ErrBadFilter", broker.ErrBadFilter, codes.InvalidArgument},
	{"broker.ErrBodyEmpty", broker.ErrBodyEmpty, codes.InvalidArgument},
	{"broker.ErrBodyTooLarge", broker.ErrBodyTooLarge, codes.InvalidArgument},
	{"broker.ErrInvalidArgument", broker.ErrInvalidArgument, codes.InvalidArgument},
	{"broker.ErrClosed", broker.ErrClosed, codes.Unavailable},
	{"broker.ErrUnsupported", broker.ErrUnsupported, codes.Unimplemented},
	{"broker.ErrQuotaExceeded", broker.ErrQuotaExceeded, codes.ResourceExhausted},
	{"store.ErrTooLarge", store.ErrTooLarge, codes.InvalidArgument},
	{"store.ErrInvalidMessage", store.ErrInvalidMessage, codes.InvalidArgument},
	{"store.ErrNotFound", store.ErrNotFound, codes.NotFound},
	{"store.ErrOffsetRange", store.ErrOffsetRange, codes.OutOfRange},
	{"store.ErrCorrupt", store.ErrCorrupt, codes.DataLoss},
	{"store.ErrClosed", store.ErrClosed, codes.Unavailable},
	{"context.Canceled", context.Canceled, codes.Canceled},
	{"context.DeadlineExceeded", context.DeadlineExceeded, codes.DeadlineExceeded},
}

// toStatus turns a broker error into a gRPC status naming the sentinels it
// matches. The message is the broker's error text: the broker words
// ErrInvalidArgument details for clients, and the proxy logs the rest.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Internal
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			if names == nil {
				code = s.code
			}
			names = append(names, s.name)
		}
	}
	st := status.New(code, err.Error())
	if len(names) > 0 {
		if withDetail, derr := st.WithDetails(&brokerpb.ErrorDetail{Sentinels: names}); derr == nil {
			st = withDetail
		}
	}
	return st.Err()
}

// RemoteError is a failure the broker reported over the wire. Its text is the
// broker's error text; errors.Is matches the sentinels the broker's error
// matched.
type RemoteError struct {
	Code      codes.Code
	Message   string
	sentinels []error
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the matched sentinels, for errors.Is and errors.As.
func (e *RemoteError) Unwrap() []error { return e.sentinels }

// GRPCStatus keeps the original code for callers that inspect statuses.
func (e *RemoteError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

var sentinelByName = func() map[string]error {
	m := make(map[string]error, len(sentinels))
	for _, s := range sentinels {
		m[s.name] = s.err
	}
	return m
}()

// fromStatus rebuilds a broker error from a failed call. A status without
// our detail is a transport or framework failure (no connection, the
// caller's deadline, an auth failure): deadline and cancellation map to the
// context errors so the proxy answers them as timeouts.
func fromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("broker rpc %s: %w", op, err)
	}
	for _, d := range st.Details() {
		detail, ok := d.(*brokerpb.ErrorDetail)
		if !ok {
			continue
		}
		re := &RemoteError{Code: st.Code(), Message: st.Message()}
		for _, name := range detail.GetSentinels() {
			if s, ok := sentinelByName[name]; ok {
				re.sentinels = append(re.sentinels, s)
			}
		}
		return re
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return fmt.Errorf("broker rpc %s: %s: %w", op, st.Message(), context.DeadlineExceeded)
	case codes.Canceled:
		return fmt.Errorf("broker rpc %s: %s: %w", op, st.Message(), context.Canceled)
	}
	return fmt.Errorf("broker rpc %s: %w", op, err)
}
