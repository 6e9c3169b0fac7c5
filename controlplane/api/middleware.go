package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbitmq/orbit/iam"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	principalKey
	auditNoteKey
	clientMetaKey
	overTLSKey
)

const requestIDHeader = "X-Request-Id"

// A client may pass its own request id if it is short and plain; anything
// else is replaced so logs cannot be forged or flooded through the header.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func clientMetaFrom(ctx context.Context) iam.ClientMeta {
	m, _ := ctx.Value(clientMetaKey).(iam.ClientMeta)
	return m
}

func loggerFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// requestContext gives every request an id (echoed in X-Request-Id) and a
// logger carrying it, then writes one access-log line when it ends. 4xx are
// logged at Debug and 5xx at Error, so client mistakes do not drown real faults.
func requestContext(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader(requestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header(requestIDHeader, id)
		reqLog := log.With("request_id", id)
		ctx := context.WithValue(c.Request.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, loggerKey, reqLog)
		ctx = context.WithValue(ctx, overTLSKey, c.Request.TLS != nil)
		ctx = context.WithValue(ctx, clientMetaKey, iam.ClientMeta{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
		c.Request = c.Request.WithContext(ctx)

		c.Next()

		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelDebug
		}
		// Only the path: query strings may carry filters with personal data.
		attrs := []any{
			"method", c.Request.Method,
			"path", c.Request.URL.Path,
			"status", status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"client_ip", c.ClientIP(),
			"bytes", c.Writer.Size(),
		}
		if p, ok := principalFrom(c.Request.Context()); ok {
			attrs = append(attrs, "account_id", p.AccountID, "user_id", p.UserID)
		}
		reqLog.Log(c.Request.Context(), level, "http request", attrs...)
	}
}

// httpMetrics counts requests and observes latency per route template (not
// raw path, which would explode label cardinality).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_http_requests_total",
			Help: "HTTP requests served by the control plane, by route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orbit_http_request_duration_seconds",
			Help:    "Latency of HTTP requests served by the control plane, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// writeProblem sends a problem from plain gin handlers (outside huma).
func writeProblem(c *gin.Context, p *Problem) {
	p.Instance = c.Request.URL.Path
	p.RequestID = requestIDFrom(c.Request.Context())
	body, err := json.Marshal(p)
	if err != nil {
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	if h := p.GetHeaders(); h != nil {
		for k, v := range h {
			c.Header(k, v[0])
		}
	}
	c.Data(p.Status, "application/problem+json", body)
	c.Abort()
}

// recovery turns a panic into a logged 500 problem instead of a dropped connection.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, rec any) {
		loggerFrom(c.Request.Context(), log).Error("panic serving request", "panic", rec, "path", c.Request.URL.Path)
		writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Something went wrong on our side. Quote the request id when you report it."))
	})
}
