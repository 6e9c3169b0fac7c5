package proxy

import (
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc/codes"
)

// This file is the authentication seam: Config.Authenticator is called by the
// interceptors in server.go before every RPC. Failures answer in the
// response Status like Apache (spec §3); a Telemetry stream is also refused
// with gRPC UNAUTHENTICATED because that is the only thing that fails a Go
// client's Start().

const grpcUnauthenticated = codes.Unauthenticated

func authStatus(err error) *v2.Status {
	msg := "unauthorized"
	code := v2.Code_UNAUTHORIZED
	if errors.Is(err, ErrForbidden) {
		msg, code = "forbidden", v2.Code_FORBIDDEN
	}
	var r *refusal // only ACLAuthenticator's messages are meant for clients
	if errors.As(err, &r) {
		msg = r.msg
	}
	return &v2.Status{Code: code, Message: msg}
}

// statusResponse builds the response of a unary RPC that only carries st, or
// nil for methods it does not know. req is the request, if any.
func statusResponse(method string, st *v2.Status, req any) any {
	switch method {
	case "QueryRoute":
		return &v2.QueryRouteResponse{Status: st}
	case "Heartbeat":
		return &v2.HeartbeatResponse{Status: st}
	case "SendMessage":
		return &v2.SendMessageResponse{Status: st}
	case "QueryAssignment":
		return &v2.QueryAssignmentResponse{Status: st}
	case "AckMessage":
		return &v2.AckMessageResponse{Status: st}
	case "ForwardMessageToDeadLetterQueue":
		return &v2.ForwardMessageToDeadLetterQueueResponse{Status: st}
	case "EndTransaction":
		return &v2.EndTransactionResponse{Status: st}
	case "NotifyClientTermination":
		return &v2.NotifyClientTerminationResponse{Status: st}
	case "ChangeInvisibleDuration":
		// The Go simple consumer stores the returned handle even on failure.
		r, _ := req.(*v2.ChangeInvisibleDurationRequest)
		return &v2.ChangeInvisibleDurationResponse{Status: st, ReceiptHandle: r.GetReceiptHandle()}
	case "RecallMessage":
		return &v2.RecallMessageResponse{Status: st}
	case "SyncLiteSubscription":
		return &v2.SyncLiteSubscriptionResponse{Status: st}
	case "UpdateOffset":
		return &v2.UpdateOffsetResponse{Status: st}
	case "GetOffset":
		return &v2.GetOffsetResponse{Status: st}
	case "QueryOffset":
		return &v2.QueryOffsetResponse{Status: st}
	default:
		return nil
	}
}

// preReadStream is a server stream whose single request the interceptor has
// already read for the Authenticator; RecvMsg hands it to the handler.
type preReadStream struct {
	grpc.ServerStream
	req  proto.Message
	done bool
}

func (p *preReadStream) RecvMsg(m any) error {
	if p.done {
		return p.ServerStream.RecvMsg(m)
	}
	p.done = true
	dst, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("proxy: unexpected request type %T", m)
	}
	proto.Reset(dst)
	proto.Merge(dst, p.req)
	return nil
}
