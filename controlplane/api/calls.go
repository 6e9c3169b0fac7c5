package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"

	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/controlplane/idempotency"
)

// auditNote lets a handler say whom a call concerned when the middleware
// cannot know it by itself: sign-up and login have no principal yet.
type auditNote struct {
	accountID, actorID, actorEmail string
	resource                       string
}

func noteAudit(ctx context.Context, accountID, actorID, actorEmail string) {
	if n, ok := ctx.Value(auditNoteKey).(*auditNote); ok {
		n.accountID, n.actorID, n.actorEmail = accountID, actorID, actorEmail
	}
}

func noteAuditResource(ctx context.Context, resource string) {
	if n, ok := ctx.Value(auditNoteKey).(*auditNote); ok {
		n.resource = resource
	}
}

// auditCall writes one audit event for every mutating call, successful or
// not, once the response status is known.
func (s *Server) auditCall(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	if op.Method == http.MethodGet || op.Method == http.MethodHead || s.audit == nil {
		next(hctx)
		return
	}
	note := &auditNote{}
	hctx = huma.WithValue(hctx, auditNoteKey, note)
	next(hctx)

	ctx := hctx.Context()
	if p, ok := principalFrom(ctx); ok && note.accountID == "" {
		note.accountID, note.actorID, note.actorEmail = p.AccountID, p.UserID, p.Email
	}
	if note.accountID == "" {
		return // nobody to attribute the call to (e.g. a failed login for an unknown email)
	}
	if note.resource == "" {
		note.resource = strings.TrimPrefix(hctx.URL().Path, BasePath+"/")
	}
	status := humagin.Unwrap(hctx).Writer.Status()
	result := "success"
	if status >= 400 {
		result = "failure"
	}
	meta := clientMetaFrom(ctx)
	ev := audit.Event{
		AccountID: note.accountID, ActorID: note.actorID, ActorEmail: note.actorEmail,
		Action: op.OperationID, Resource: note.resource, StatusCode: status, Result: result,
		SourceIP: meta.IP, UserAgent: meta.UserAgent, RequestID: requestIDFrom(ctx),
	}
	// The call already happened: record it even if the client has gone away.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.audit.Record(wctx, ev); err != nil {
		loggerFrom(ctx, s.log).Error("audit event lost", "err", err, "action", ev.Action)
	}
}

// idempotentOp marks create operations that honour an Idempotency-Key header.
const idempotentOp = "idempotent"

// idempotentRedact (a []string in an operation's Metadata) names top-level
// response fields that must not be stored for replays: secrets shown once.
// A replay answers without them.
const idempotentRedact = "idempotentRedact"

// redactJSON drops fields from a JSON object; anything else is kept as is.
func redactJSON(body []byte, fields []string) []byte {
	var m map[string]json.RawMessage
	if len(fields) == 0 || json.Unmarshal(body, &m) != nil {
		return body
	}
	for _, f := range fields {
		delete(m, f)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// IdempotencyHeader is the documented header of idempotent creates.
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"A unique key per create; a retry with the same key and body returns the first result instead of creating twice."`
}

// idempotent replays the stored response of a create already made with the
// same Idempotency-Key, and refuses a key reused for a different request.
func (s *Server) idempotent(hctx huma.Context, next func(huma.Context)) {
	key := hctx.Header("Idempotency-Key")
	if key == "" || hctx.Operation().Metadata[idempotentOp] != true || s.idem == nil {
		next(hctx)
		return
	}
	p, ok := principalFrom(hctx.Context())
	if !ok {
		next(hctx) // authentication already answered
		return
	}
	gc := humagin.Unwrap(hctx)
	body, err := io.ReadAll(io.LimitReader(gc.Request.Body, maxBodyBytes+1))
	if err != nil {
		s.writeErr(hctx, newProblem(http.StatusBadRequest, "bad_request", "The request body could not be read."))
		return
	}
	gc.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	ctx := hctx.Context()
	path := hctx.URL().Path
	prev, err := s.idem.Begin(ctx, p.AccountID, key, hctx.Method(), path, sum[:])
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		s.writeErr(hctx, newProblem(http.StatusUnprocessableEntity, "idempotency_key_reused", "This Idempotency-Key was already used for a different request."))
		return
	case errors.Is(err, idempotency.ErrInProgress):
		s.writeErr(hctx, newProblem(http.StatusConflict, "idempotency_key_in_progress", "A request with this Idempotency-Key is still in progress."))
		return
	case err != nil:
		loggerFrom(ctx, s.log).Error("idempotency lookup", "err", err)
		s.writeErr(hctx, newProblem(http.StatusServiceUnavailable, "unavailable", "The request could not be checked for duplicates. Retry it."))
		return
	case prev != nil:
		gc.Header("Idempotent-Replayed", "true")
		gc.Data(prev.StatusCode, prev.ContentType, prev.Body)
		return
	}

	rec := &recordingWriter{ResponseWriter: gc.Writer}
	gc.Writer = rec
	next(hctx)
	gc.Writer = rec.ResponseWriter

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	status := rec.Status()
	if status >= 200 && status < 300 {
		redact, _ := hctx.Operation().Metadata[idempotentRedact].([]string)
		body := redactJSON(rec.body.Bytes(), redact)
		err = s.idem.Complete(wctx, p.AccountID, key, idempotency.Response{StatusCode: status, ContentType: rec.Header().Get("Content-Type"), Body: body})
	} else {
		err = s.idem.Release(wctx, p.AccountID, key)
	}
	if err != nil {
		loggerFrom(ctx, s.log).Error("store idempotent response", "err", err)
	}
}

// recordingWriter keeps a copy of the body it writes.
type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
