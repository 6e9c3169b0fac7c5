package admin

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/broker"
	"github.com/orbitmq/orbit/dataplane/store"
)

// subject names what a call was about, for messages like `topic "x" not found`.
type subject struct {
	topic, group string
}

// toStatus is the one mapping from broker and store errors to gRPC statuses.
// Messages are safe to show to the caller: errors the caller cannot act on
// become a generic Internal status and are logged here with their cause.
func (s *Server) toStatus(ctx context.Context, op string, about subject, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, broker.ErrTopicNotFound):
		return status.Errorf(codes.NotFound, "topic %q not found", about.topic)
	case errors.Is(err, broker.ErrGroupNotFound):
		return status.Errorf(codes.NotFound, "consumer group %q not found", about.group)
	case errors.Is(err, broker.ErrTopicExists):
		return status.Errorf(codes.AlreadyExists, "topic %q already exists", about.topic)
	case errors.Is(err, broker.ErrGroupExists):
		return status.Errorf(codes.AlreadyExists, "consumer group %q already exists", about.group)
	case errors.Is(err, broker.ErrInvalidArgument), errors.Is(err, broker.ErrTypeMismatch), errors.Is(err, broker.ErrBadFilter):
		// The broker words these for the caller ("invalid argument: ...").
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, broker.ErrQuotaExceeded):
		// The broker words the limit ("the instance allows 10 topics").
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, broker.ErrClosed), errors.Is(err, store.ErrClosed):
		return status.Error(codes.Unavailable, "the node is shutting down")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "call canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "call deadline exceeded")
	}
	s.log.ErrorContext(ctx, "admin call failed", "op", op, "topic", about.topic, "group", about.group, "err", err)
	return status.Error(codes.Internal, fmt.Sprintf("internal error in %s; the node's log has the details", op))
}

// invalid is an InvalidArgument status about the request itself.
func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
