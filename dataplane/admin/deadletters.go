package admin

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/broker"
)

const maxResendIDs = 100

func (v *service) ResendDeadLetters(ctx context.Context, req *adminpb.ResendDeadLettersRequest) (*adminpb.ResendDeadLettersResponse, error) {
	group := req.GetGroup()
	if group == "" {
		return nil, invalid("group is required")
	}
	ids := req.GetMessageIds()
	if len(ids) == 0 || len(ids) > maxResendIDs {
		return nil, invalid("message_ids: want 1..%d ids, got %d", maxResendIDs, len(ids))
	}
	if _, err := v.s.broker.GetGroup(group); err != nil {
		return nil, v.s.toStatus(ctx, "ResendDeadLetters", subject{group: group}, err)
	}
	resp := &adminpb.ResendDeadLettersResponse{Results: make([]*adminpb.ResendResult, len(ids))}
	for i, id := range ids {
		r := &adminpb.ResendResult{MessageId: id}
		resp.Results[i] = r
		topic, err := v.s.broker.ResendDeadLetter(ctx, group, id)
		if err != nil {
			var st *status.Status
			if errors.Is(err, broker.ErrDeadLetterNotFound) {
				st = status.Newf(codes.NotFound, "message %q not found in %q", id, broker.DLQTopic(group))
			} else {
				st = status.Convert(v.s.toStatus(ctx, "ResendDeadLetters", subject{group: group, topic: topic}, err))
			}
			r.ErrorCode, r.ErrorMessage = grpcCodeName(st.Code()), st.Message()
			continue
		}
		r.Topic = topic
	}
	return resp, nil
}

// grpcCodeName is a code's canonical name, e.g. NOT_FOUND.
func grpcCodeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
