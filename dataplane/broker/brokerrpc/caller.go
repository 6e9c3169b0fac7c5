package brokerrpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/orbitmq/orbit/dataplane/broker"
)

// broker.Caller crosses the wire in metadata, so a broker-role node sees
// which RocketMQ client a proxy node called for (traces name producers and
// consumers). Binary ("-bin") headers: gRPC encodes them, so a client id is
// carried exactly, whatever bytes the client sent.
const (
	mdCallerClientID = "x-orbit-caller-client-id-bin"
	mdCallerAddr     = "x-orbit-caller-addr-bin"
)

// withCallerMetadata adds the caller of ctx, if any, to the outgoing metadata.
func withCallerMetadata(ctx context.Context) context.Context {
	c := broker.CallerFrom(ctx)
	var kv []string
	if c.ClientID != "" {
		kv = append(kv, mdCallerClientID, c.ClientID)
	}
	if c.Addr != "" {
		kv = append(kv, mdCallerAddr, c.Addr)
	}
	if kv == nil {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// sendCaller is the client interceptor that carries the caller.
func sendCaller(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(withCallerMetadata(ctx), method, req, reply, cc, opts...)
}

// callerContext returns ctx carrying the caller named in the incoming
// metadata; ctx itself when there is none.
func callerContext(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	var c broker.Caller
	if v := md.Get(mdCallerClientID); len(v) > 0 {
		c.ClientID = v[0]
	}
	if v := md.Get(mdCallerAddr); len(v) > 0 {
		c.Addr = v[0]
	}
	if c == (broker.Caller{}) {
		return ctx
	}
	return broker.WithCaller(ctx, c)
}
