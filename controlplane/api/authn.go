package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"

	"github.com/orbitmq/orbit/iam"
)

const bearerScheme = "bearer"

// bearerSecurity is attached to every operation that needs a caller. The
// authenticate middleware enforces exactly what the document declares, so the
// OpenAPI document cannot claim a route is protected when it is not.
var bearerSecurity = []map[string][]string{{bearerScheme: {}}}

func principalFrom(ctx context.Context) (iam.Principal, bool) {
	p, ok := ctx.Value(principalKey).(iam.Principal)
	return p, ok
}

// mustPrincipal returns the caller of an authenticated operation. The
// middleware guarantees one exists; a missing one is a wiring bug.
func mustPrincipal(ctx context.Context) iam.Principal {
	p, ok := principalFrom(ctx)
	if !ok {
		panic("api: operation without a principal; is Security set on it?")
	}
	return p
}

// authenticate resolves the bearer token for operations that declare security.
func (s *Server) authenticate(hctx huma.Context, next func(huma.Context)) {
	if len(hctx.Operation().Security) == 0 {
		next(hctx)
		return
	}
	h := hctx.Header("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		s.writeErr(hctx, newProblem(http.StatusUnauthorized, "unauthenticated", "Send an access token or API token as 'Authorization: Bearer <token>'."))
		return
	}
	p, err := s.iam.Authenticate(hctx.Context(), strings.TrimSpace(token))
	if err != nil {
		prob, internal := problemFor(err)
		if internal {
			loggerFrom(hctx.Context(), s.log).Error("authenticate", "err", err)
		}
		s.writeErr(hctx, prob)
		return
	}
	hctx = huma.WithValue(hctx, principalKey, p)
	// Keep the principal on the gin request too, for the access log.
	setRequestContext(hctx, hctx.Context())
	next(hctx)
}

// writeErr sends a problem from a huma middleware.
func (s *Server) writeErr(hctx huma.Context, p *Problem) {
	writeProblem(humagin.Unwrap(hctx), p)
}
