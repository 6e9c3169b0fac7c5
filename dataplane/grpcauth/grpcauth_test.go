package grpcauth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/orbitmq/orbit/dataplane/grpcauth"
)

func TestVerifier(t *testing.T) {
	const token = "s3cret-token-value"
	v, err := grpcauth.NewVerifier(token, "admin token")
	require.NoError(t, err)
	tests := []struct {
		name string
		vals []string
		want string // "" = accepted
	}{
		{"right token", []string{"Bearer " + token}, ""},
		{"scheme case and spaces", []string{"  bearer   " + token + " "}, ""},
		{"no metadata", nil, "missing admin token"},
		{"bare scheme", []string{"Bearer"}, "missing admin token"},
		{"empty bearer", []string{"Bearer   "}, "missing admin token"},
		{"wrong token", []string{"Bearer nope"}, "invalid admin token"},
		{"token prefix", []string{"Bearer " + token[:5]}, "invalid admin token"},
		{"no scheme", []string{token}, "malformed authorization"},
		{"basic scheme", []string{"Basic " + token}, "malformed authorization"},
		{"two values", []string{"Bearer " + token, "Bearer " + token}, "malformed authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.vals != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.MD{grpcauth.Metadata: tc.vals})
			}
			err := v.Check(ctx)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, codes.Unauthenticated, status.Code(err))
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), token)
		})
	}
}

func TestVerifierNeedsToken(t *testing.T) {
	_, err := grpcauth.NewVerifier("  ", "admin token")
	require.ErrorContains(t, err, "admin token is required")
}

func TestCredentialsRoundTrip(t *testing.T) {
	v, err := grpcauth.NewVerifier("tok", "token")
	require.NoError(t, err)
	md, err := grpcauth.Credentials(" tok ").GetRequestMetadata(context.Background())
	require.NoError(t, err)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.New(md))
	require.NoError(t, v.Check(ctx))
}
