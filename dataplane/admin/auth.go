package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// authMetadata is the metadata key carrying "Bearer <token>".
const authMetadata = "authorization"

var (
	errNoToken = status.Error(codes.Unauthenticated,
		`missing admin token: send gRPC metadata "authorization: Bearer <token>"`)
	errBadScheme = status.Error(codes.Unauthenticated,
		`malformed authorization metadata: want exactly one "Bearer <token>" value`)
	errBadToken = status.Error(codes.Unauthenticated, "invalid admin token")
)

// authenticate checks the admin token of an incoming call in constant time.
// The token itself never appears in errors or logs.
func (s *Server) authenticate(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(authMetadata)
	switch {
	case len(vals) == 0:
		return errNoToken
	case len(vals) > 1:
		return errBadScheme
	}
	v := strings.TrimSpace(vals[0])
	if strings.EqualFold(v, "Bearer") {
		return errNoToken
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return errBadScheme
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return errNoToken
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		return errBadToken
	}
	return nil
}

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
