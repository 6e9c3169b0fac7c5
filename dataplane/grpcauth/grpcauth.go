// Package grpcauth is the bearer-token check of the node's internal gRPC
// services (admin, broker): one shared token per node, sent as
// "authorization: Bearer <token>" metadata and compared in constant time.
// The token never appears in errors or logs.
package grpcauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata is the metadata key carrying "Bearer <token>".
const Metadata = "authorization"

// Verifier checks the token of incoming calls.
type Verifier struct {
	// sum is the SHA-256 of the token: comparing digests takes the same time
	// whatever the presented token's length.
	sum                                  [sha256.Size]byte
	errMissing, errMalformed, errInvalid error
}

// NewVerifier returns a Verifier for token; noun names the token in error
// messages ("admin token"). An empty token is refused: a service must never
// run unauthenticated by accident.
func NewVerifier(token, noun string) (*Verifier, error) {
	if strings.TrimSpace(token) == "" {
		return nil, errors.New(noun + " is required")
	}
	return &Verifier{
		sum:          sha256.Sum256([]byte(strings.TrimSpace(token))),
		errMissing:   status.Error(codes.Unauthenticated, `missing `+noun+`: send gRPC metadata "authorization: Bearer <token>"`),
		errMalformed: status.Error(codes.Unauthenticated, `malformed authorization metadata: want exactly one "Bearer <token>" value`),
		errInvalid:   status.Error(codes.Unauthenticated, "invalid "+noun),
	}, nil
}

// Check returns nil when ctx carries the right token, else an Unauthenticated status.
func (v *Verifier) Check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(Metadata)
	switch {
	case len(vals) == 0:
		return v.errMissing
	case len(vals) > 1:
		return v.errMalformed
	}
	val := strings.TrimSpace(vals[0])
	if strings.EqualFold(val, "Bearer") {
		return v.errMissing
	}
	scheme, token, ok := strings.Cut(val, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return v.errMalformed
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return v.errMissing
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], v.sum[:]) != 1 {
		return v.errInvalid
	}
	return nil
}

// Credentials sends token on every call of a client connection. It works
// over plaintext too: these services run on loopback or a private network.
func Credentials(token string) credentials.PerRPCCredentials {
	return bearer("Bearer " + strings.TrimSpace(token))
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{Metadata: string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
