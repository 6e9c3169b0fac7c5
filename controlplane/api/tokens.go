package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/iam"
)

// Token describes an API token; the secret is never shown again after creation.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The first characters of the token, to tell tokens apart."`
	Role       iam.Role   `json:"role" enum:"owner,admin,developer,viewer"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func tokenView(t iam.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Role: t.Role, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: utcPtr(t.ExpiresAt), LastUsedAt: utcPtr(t.LastUsedAt)}
}

type TokenList struct {
	Items         []Token `json:"items"`
	NextPageToken string  `json:"nextPageToken,omitempty"`
}

// CreatedToken carries the secret, shown this once.
type CreatedToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret" doc:"The token itself. It is shown only in this response; store it now."`
}

// CreateTokenRequest describes a new API token.
type CreateTokenRequest struct {
	Name      string     `json:"name" maxLength:"100"`
	Role      iam.Role   `json:"role,omitempty" enum:"owner,admin,developer,viewer" doc:"Defaults to the caller's role; cannot be higher."`
	ExpiresAt *time.Time `json:"expiresAt,omitempty" doc:"When the token stops working; never if absent."`
}

func (s *Server) registerTokens() {
	tags := []string{"API tokens"}
	huma.Register(s.api, huma.Operation{
		OperationID: "listTokens", Method: http.MethodGet, Path: BasePath + "/tokens",
		Summary: "List API tokens", Description: "The caller's own API tokens that are not revoked.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *struct{ PageParams }) (*struct{ Body TokenList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		toks, err := s.iam.ListTokens(ctx, mustPrincipal(ctx), iam.ListOptions{AfterID: after, Limit: in.PageSize + 1})
		if err != nil {
			return nil, err
		}
		toks, next := page(toks, in.PageSize, func(t iam.APIToken) string { return t.ID })
		out := &struct{ Body TokenList }{Body: TokenList{Items: make([]Token, 0, len(toks)), NextPageToken: next}}
		for _, t := range toks {
			out.Body.Items = append(out.Body.Items, tokenView(t))
		}
		return out, nil
	}))

	type createTokenInput struct {
		IdempotencyHeader
		Body CreateTokenRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createToken", Method: http.MethodPost, Path: BasePath + "/tokens",
		Summary: "Create an API token", Description: "Creates a token for automation acting as the caller. The secret is in this response only.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
		Metadata: map[string]any{idempotentOp: true, idempotentRedact: []string{"secret"}},
	}, handle(s, func(ctx context.Context, in *createTokenInput) (*struct{ Body CreatedToken }, error) {
		tok, secret, err := s.iam.CreateToken(ctx, mustPrincipal(ctx), iam.CreateTokenInput{Name: in.Body.Name, Role: in.Body.Role, ExpiresAt: in.Body.ExpiresAt})
		if err != nil {
			return nil, err
		}
		noteAuditResource(ctx, "tokens/"+tok.ID)
		return &struct{ Body CreatedToken }{Body: CreatedToken{Token: tokenView(tok), Secret: secret}}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteToken", Method: http.MethodDelete, Path: BasePath + "/tokens/{tokenId}",
		Summary: "Revoke an API token", Description: "The token stops working at once.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusNoContent,
	}, handle(s, func(ctx context.Context, in *struct {
		TokenID string `path:"tokenId" maxLength:"64"`
	}) (*struct{}, error) {
		return nil, s.iam.RevokeToken(ctx, mustPrincipal(ctx), in.TokenID)
	}))
}
