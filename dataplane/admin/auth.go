package admin

import (
	"context"

	"google.golang.org/grpc"
)

// authenticate checks the admin token of an incoming call (grpcauth).
func (s *Server) authenticate(ctx context.Context) error { return s.auth.Check(ctx) }

// authUnary wraps a generated method handler so the token is checked as the
// innermost step of the server's interceptor chain.
func (s *Server) authUnary(h grpc.MethodHandler) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		chain := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			authed := func(ctx context.Context, req any) (any, error) {
				if err := s.authenticate(ctx); err != nil {
					return nil, err
				}
				return handler(ctx, req)
			}
			if interceptor == nil {
				return authed(ctx, req)
			}
			return interceptor(ctx, req, info, authed)
		}
		return h(srv, ctx, dec, chain)
	}
}

// authStream does the same for streaming methods (none yet).
func (s *Server) authStream(h grpc.StreamHandler) grpc.StreamHandler {
	return func(srv any, stream grpc.ServerStream) error {
		if err := s.authenticate(stream.Context()); err != nil {
			return err
		}
		return h(srv, stream)
	}
}
