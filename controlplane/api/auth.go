package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/iam"
)

const refreshCookie = "orbit_refresh"

// User is a user as the API shows it.
type User struct {
	ID        string    `json:"id"`
	AccountID string    `json:"accountId"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      iam.Role  `json:"role" enum:"owner,admin,developer,viewer"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Account is an account (tenant) as the API shows it.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

func userView(u iam.User) User {
	return User{ID: u.ID, AccountID: u.AccountID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

func accountView(a iam.Account) Account {
	return Account{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt.UTC()}
}

// Session is returned by sign-up, login and refresh. The refresh token is
// never in the body: it travels only in an httpOnly cookie.
type Session struct {
	User                 User      `json:"user"`
	Account              Account   `json:"account"`
	AccessToken          string    `json:"accessToken" doc:"Short-lived JWT; send as 'Authorization: Bearer <token>'."`
	AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
}

// Me is the calling user and their account.
type Me struct {
	User    User    `json:"user"`
	Account Account `json:"account"`
}

type sessionOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      Session
}

// SignUpRequest creates an account and its owner.
type SignUpRequest struct {
	Email       string `json:"email" maxLength:"254" doc:"Login email, unique across Orbit."`
	Password    string `json:"password" maxLength:"128" doc:"At least 10 characters, not a common password."`
	Name        string `json:"name" maxLength:"100"`
	AccountName string `json:"accountName" maxLength:"100"`
}

type signUpInput struct {
	Body SignUpRequest
}

// LoginRequest carries credentials.
type LoginRequest struct {
	Email    string `json:"email" maxLength:"254"`
	Password string `json:"password" maxLength:"128"`
}

type loginInput struct {
	Body LoginRequest
}

type refreshInput struct {
	Refresh string `cookie:"orbit_refresh" doc:"The refresh token cookie set by login."`
}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

// cookieSecure: always Secure over TLS; on plain HTTP only when configured
// (a TLS-terminating proxy in front), since browsers drop Secure cookies on http://.
func (s *Server) cookieSecure(ctx context.Context) bool {
	overTLS, _ := ctx.Value(overTLSKey).(bool)
	return s.cfg.CookieSecure || overTLS
}

func (s *Server) refreshCookie(ctx context.Context, sess iam.Session) http.Cookie {
	return http.Cookie{
		Name: refreshCookie, Value: sess.RefreshToken, Path: BasePath + "/auth",
		Expires: sess.RefreshExpiresAt.UTC(), MaxAge: int(time.Until(sess.RefreshExpiresAt).Seconds()),
		HttpOnly: true, Secure: s.cookieSecure(ctx), SameSite: http.SameSiteStrictMode,
	}
}

func (s *Server) sessionOutput(ctx context.Context, u iam.User, a iam.Account, sess iam.Session) *sessionOutput {
	return &sessionOutput{
		SetCookie: s.refreshCookie(ctx, sess),
		Body:      Session{User: userView(u), Account: accountView(a), AccessToken: sess.AccessToken, AccessTokenExpiresAt: sess.AccessExpiresAt.UTC()},
	}
}

// withAccount loads the account of a user who just authenticated.
func (s *Server) withAccount(ctx context.Context, u iam.User, sess iam.Session) (*sessionOutput, error) {
	p := iam.Principal{Kind: iam.PrincipalSession, UserID: u.ID, AccountID: u.AccountID, Email: u.Email, Role: u.Role}
	_, acct, err := s.iam.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.sessionOutput(ctx, u, acct, sess), nil
}

func (s *Server) registerAuth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "signUp", Method: http.MethodPost, Path: BasePath + "/auth/signup",
		Summary: "Sign up", Description: "Creates an account with the caller as its owner and starts a session.",
		Tags: []string{"Auth"}, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *signUpInput) (*sessionOutput, error) {
		u, a, sess, err := s.iam.SignUp(ctx, iam.SignUpInput{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name, AccountName: in.Body.AccountName}, clientMetaFrom(ctx))
		if err != nil {
			return nil, err
		}
		noteAudit(ctx, a.ID, u.ID, u.Email)
		noteAuditResource(ctx, "users/"+u.ID)
		return s.sessionOutput(ctx, u, a, sess), nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: BasePath + "/auth/login",
		Summary: "Log in", Description: "Checks email and password and starts a session. Throttled per account and per IP.",
		Tags: []string{"Auth"}, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *loginInput) (*sessionOutput, error) {
		u, sess, err := s.iam.Login(ctx, in.Body.Email, in.Body.Password, clientMetaFrom(ctx))
		if err != nil {
			return nil, err
		}
		noteAudit(ctx, u.AccountID, u.ID, u.Email)
		noteAuditResource(ctx, "users/"+u.ID)
		return s.withAccount(ctx, u, sess)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "refreshSession", Method: http.MethodPost, Path: BasePath + "/auth/refresh",
		Summary: "Refresh the session", Description: "Exchanges the refresh cookie for a new access token and a new refresh cookie. A refresh token used twice revokes the whole session.",
		Tags: []string{"Auth"},
	}, handle(s, func(ctx context.Context, in *refreshInput) (*sessionOutput, error) {
		if in.Refresh == "" {
			return nil, newProblem(http.StatusUnauthorized, "unauthenticated", "No session cookie; log in.")
		}
		u, sess, err := s.iam.Refresh(ctx, in.Refresh, clientMetaFrom(ctx))
		if err != nil {
			return nil, err
		}
		noteAudit(ctx, u.AccountID, u.ID, u.Email)
		noteAuditResource(ctx, "users/"+u.ID)
		return s.withAccount(ctx, u, sess)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: BasePath + "/auth/logout",
		Summary: "Log out", Description: "Revokes the session behind the refresh cookie and clears it.",
		Tags: []string{"Auth"}, DefaultStatus: http.StatusNoContent, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *refreshInput) (*logoutOutput, error) {
		if in.Refresh != "" {
			if err := s.iam.Logout(ctx, in.Refresh); err != nil {
				return nil, err
			}
		}
		p := mustPrincipal(ctx)
		noteAuditResource(ctx, "users/"+p.UserID)
		return &logoutOutput{SetCookie: http.Cookie{
			Name: refreshCookie, Value: "", Path: BasePath + "/auth", MaxAge: -1,
			HttpOnly: true, Secure: s.cookieSecure(ctx), SameSite: http.SameSiteStrictMode,
		}}, nil
	}))

	type meOutput struct {
		Body Me
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "getMe", Method: http.MethodGet, Path: BasePath + "/me",
		Summary: "Who am I", Description: "The calling user, their account and role.",
		Tags: []string{"Auth"}, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, _ *struct{}) (*meOutput, error) {
		u, a, err := s.iam.Me(ctx, mustPrincipal(ctx))
		if err != nil {
			return nil, err
		}
		out := &meOutput{}
		out.Body.User, out.Body.Account = userView(u), accountView(a)
		return out, nil
	}))
}
