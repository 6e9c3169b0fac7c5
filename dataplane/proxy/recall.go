package proxy

import (
	"context"
	"log/slog"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

// RecallMessage cancels a scheduled delay message before its delivery time
// (spec §7.11, §9.6) and answers its message id. Apache reports every
// failure as INTERNAL_SERVER_ERROR; the spec's better codes are used here: a
// missing handle is BAD_REQUEST, a handle that names nothing scheduled
// (delivered, recalled, unknown) NOT_FOUND, a handle that does not decode or
// belongs to another topic BAD_REQUEST (the broker's ErrInvalidArgument).
func (s *Server) RecallMessage(ctx context.Context, req *v2.RecallMessageRequest) (*v2.RecallMessageResponse, error) {
	clientID := clientIDOf(ctx)
	id, err := s.recall(ctx, clientID, req)
	st := statusOf(err)
	logStatus(ctx, s.log, "RecallMessage", st, err, slog.String("client_id", clientID), slog.String("topic", req.GetTopic().GetName()))
	return &v2.RecallMessageResponse{Status: st, MessageId: id}, nil
}

func (s *Server) recall(ctx context.Context, clientID string, req *v2.RecallMessageRequest) (string, error) {
	if clientID == "" {
		return "", reject(v2.Code_CLIENT_ID_REQUIRED, "x-mq-client-id header is required")
	}
	topic, err := checkTopic(req.GetTopic())
	if err != nil {
		return "", err
	}
	if isBlank(req.GetRecallHandle()) {
		return "", reject(v2.Code_BAD_REQUEST, "recall handle is required")
	}
	return s.cfg.Broker.Recall(ctx, topic, req.GetRecallHandle())
}
