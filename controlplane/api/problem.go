package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/iam"
)

// Problem is an RFC 9457 problem+json body. Every error the API returns has
// this shape; Code is stable and meant for programs, Detail for people.
type Problem struct {
	Type      string       `json:"type" doc:"Relative URI naming the problem type, /problems/<code>."`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty" doc:"The request path."`
	Code      string       `json:"code" doc:"Stable snake_case error code."`
	RequestID string       `json:"requestId,omitempty"`
	Errors    []FieldError `json:"errors,omitempty" doc:"Per-field validation failures."`

	retryAfter int // seconds; sent as Retry-After on 429
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problem+json for errors.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders adds Retry-After to throttled responses.
func (p *Problem) GetHeaders() http.Header {
	if p.retryAfter <= 0 {
		return nil
	}
	return http.Header{"Retry-After": []string{strconv.Itoa(p.retryAfter)}}
}

func newProblem(status int, code, detail string) *Problem {
	return &Problem{
		Type:   "/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

func badRequest(field, message string) *Problem {
	p := newProblem(http.StatusBadRequest, "validation_failed", "The request has invalid fields.")
	p.Errors = []FieldError{{Field: field, Message: message}}
	return p
}

// problemFor maps a domain error to a problem. Unknown errors become a 500
// whose detail says nothing about internals; the caller logs them.
func problemFor(err error) (p *Problem, internal bool) {
	var prob *Problem
	var verr *iam.ValidationError
	var thr *iam.ThrottledError
	switch {
	case errors.As(err, &prob):
		return prob, false
	case errors.As(err, &verr):
		return badRequest(verr.Field, verr.Message), false
	case errors.As(err, &thr):
		p := newProblem(http.StatusTooManyRequests, "too_many_attempts", "Too many attempts. Try again later.")
		p.retryAfter = max(1, int(thr.RetryAfter.Seconds()+0.999))
		return p, false
	case errors.Is(err, iam.ErrInvalidCredentials):
		return newProblem(http.StatusUnauthorized, "invalid_credentials", "The email or password is wrong."), false
	case errors.Is(err, iam.ErrRefreshReused):
		return newProblem(http.StatusUnauthorized, "session_revoked", "This session was revoked because its refresh token was used twice. Log in again."), false
	case errors.Is(err, iam.ErrUnauthenticated):
		return newProblem(http.StatusUnauthorized, "unauthenticated", "Missing, invalid or expired credentials."), false
	case errors.Is(err, iam.ErrForbidden):
		return newProblem(http.StatusForbidden, "forbidden", "Your role does not allow this action."), false
	case errors.Is(err, iam.ErrNotFound):
		return newProblem(http.StatusNotFound, "not_found", "The resource does not exist."), false
	case errors.Is(err, iam.ErrEmailTaken):
		return newProblem(http.StatusConflict, "email_taken", "That email address is already registered."), false
	case errors.Is(err, iam.ErrLastOwner):
		return newProblem(http.StatusConflict, "last_owner", "An account needs at least one owner."), false
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(http.StatusServiceUnavailable, "timeout", "A dependency did not answer in time."), true
	}
	return newProblem(http.StatusInternalServerError, "internal", "Something went wrong on our side. Quote the request id when you report it."), true
}

// installErrorModel makes huma build every error as a Problem: validation
// failures become 400 with per-field errors, handler errors are mapped with
// problemFor, and internal errors are logged with the request id.
func installErrorModel(log *slog.Logger) {
	// huma documents error responses with the type NewError returns.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return huma.NewErrorWithContext(nil, status, msg, errs...)
	}
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		var p *Problem
		switch {
		case status == http.StatusInternalServerError && len(errs) == 1 && errs[0] != nil:
			// A handler returned a plain error: map the domain error.
			var internal bool
			p, internal = problemFor(errs[0])
			if internal {
				logger := log
				if hctx != nil {
					logger = loggerFrom(hctx.Context(), log)
				}
				logger.Error("request failed", "err", errs[0])
			}
		case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
			p = newProblem(http.StatusBadRequest, "validation_failed", validationDetail(msg))
			for _, e := range errs {
				if e == nil {
					continue
				}
				p.Errors = append(p.Errors, fieldError(e))
			}
			if len(p.Errors) == 0 && msg != "" {
				p.Code = "bad_request"
				p.Type = "/problems/bad_request"
			}
		case status == http.StatusRequestEntityTooLarge:
			p = newProblem(status, "body_too_large", "The request body is too large.")
		default:
			p = newProblem(status, codeForStatus(status), msg)
		}
		if hctx != nil {
			p.Instance = hctx.URL().Path
			p.RequestID = requestIDFrom(hctx.Context())
		}
		return p
	}
}

// stampProblem fills in the request path and id of problems that handlers
// return directly (huma sends those without calling NewErrorWithContext).
func stampProblem(hctx huma.Context, _ string, v any) (any, error) {
	if p, ok := v.(*Problem); ok {
		if p.Instance == "" {
			p.Instance = hctx.URL().Path
		}
		if p.RequestID == "" {
			p.RequestID = requestIDFrom(hctx.Context())
		}
	}
	return v, nil
}

// requiredProperty pulls the field name out of huma's message for a missing property.
var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present$`)

func validationDetail(msg string) string {
	if msg == "" || msg == "validation failed" {
		return "The request has invalid fields."
	}
	// huma's messages are lower-case fragments ("unable to parse body"); make them a sentence.
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// fieldError turns huma's "body.email" locations into the field name a form
// shows the message under.
func fieldError(e error) FieldError {
	var d *huma.ErrorDetail
	if errors.As(e, &d) {
		field := d.Location
		for _, prefix := range []string{"body.", "query.", "path.", "header."} {
			field = strings.TrimPrefix(field, prefix)
		}
		if m := requiredProperty.FindStringSubmatch(d.Message); m != nil {
			field = strings.TrimPrefix(strings.TrimPrefix(field+"."+m[1], "body"), ".")
		} else if field == "body" {
			field = ""
		}
		return FieldError{Field: field, Message: d.Message}
	}
	return FieldError{Message: e.Error()}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusNotAcceptable:
		return "not_acceptable"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// handle wraps an operation's handler so that every error it returns leaves
// as a Problem: domain errors mapped, internal ones logged with the request id
// and hidden from the client.
func handle[I, O any](s *Server, h func(context.Context, *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err == nil {
			return out, nil
		}
		p, internal := problemFor(err)
		if internal {
			loggerFrom(ctx, s.log).Error("request failed", "err", err)
		}
		return nil, p
	}
}
