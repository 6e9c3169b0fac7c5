// Package api is Orbit's REST API under /api/v1: gin for routing and
// middleware, huma for typed operations, validation and the OpenAPI
// document, problem+json for every error.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/controlplane/audit"
	"github.com/orbitmq/orbit/controlplane/idempotency"
	"github.com/orbitmq/orbit/controlplane/instances"
	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/iam"
)

// BasePath is where the REST API lives.
const BasePath = "/api/v1"

// maxBodyBytes bounds JSON request bodies; nothing in this API needs more.
const maxBodyBytes = 64 << 10

// Config holds the API's own settings.
type Config struct {
	Version string
	// CookieSecure marks the refresh cookie Secure. Leave it on unless the
	// console is served over plain HTTP (the embedded default on loopback).
	CookieSecure bool
	// TrustedProxies are the proxies whose X-Forwarded-For is believed when
	// finding a client's IP (for login throttling and audit). None by default.
	TrustedProxies []string
}

// Deps are the parts the API is built on. DB, IAM, Audit, Idempotency and Instances may
// be nil only when the server is built to render the OpenAPI document.
type Deps struct {
	DB          *gorm.DB
	IAM         *iam.Service
	Audit       *audit.Store
	Idempotency *idempotency.Store
	Instances   *instances.Service
	Resources   *resources.Service          // topics and consumer groups
	AccessKeys  *resources.AccessKeyService // access keys of instances
	Console     http.Handler                // serves everything outside /api; may be nil
	Log         *slog.Logger
}

// Server is the HTTP handler of `orbit serve`.
type Server struct {
	cfg       Config
	db        *gorm.DB
	iam       *iam.Service
	audit     *audit.Store
	idem      *idempotency.Store
	instances *instances.Service
	resources *resources.Service
	akeys     *resources.AccessKeyService
	log       *slog.Logger
	engine    *gin.Engine
	api       huma.API
}

// New builds the router with every route registered.
func New(cfg Config, deps Deps) *Server {
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	installErrorModel(log)
	// Lists are always sent as arrays (handlers never return nil slices), so
	// the document says so and typed clients need no null checks.
	huma.DefaultArrayNullable = false
	gin.SetMode(gin.ReleaseMode)

	s := &Server{cfg: cfg, db: deps.DB, iam: deps.IAM, audit: deps.Audit, idem: deps.Idempotency, instances: deps.Instances, resources: deps.Resources, akeys: deps.AccessKeys, log: log}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	e := gin.New()
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		log.Error("ignoring bad trusted proxies", "err", err)
		_ = e.SetTrustedProxies(nil)
	}
	e.HandleMethodNotAllowed = true
	e.Use(requestContext(log), recovery(log), newHTTPMetrics(reg).middleware())
	e.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, BasePath+"/") || c.Request.URL.Path == BasePath || deps.Console == nil {
			writeProblem(c, newProblem(http.StatusNotFound, "not_found", "No such API route."))
			return
		}
		deps.Console.ServeHTTP(c.Writer, c.Request)
	})
	e.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "That method is not allowed on this route."))
	})

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))

	hc := huma.DefaultConfig("Orbit API", cfg.Version)
	hc.OpenAPIPath = BasePath + "/openapi"
	hc.DocsPath = BasePath + "/docs"
	hc.SchemasPath = ""
	hc.CreateHooks = nil // no $schema links in bodies: plain JSON for clients
	hc.Transformers = []huma.Transformer{stampProblem}
	hc.Info.Description = "Orbit control plane: accounts, users, API tokens, audit log, the spec catalogue, instances, and their topics and consumer groups."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", Description: "A session access token (JWT) or an API token (orbit_…)."},
	}
	s.api = humagin.New(e, hc)
	s.api.UseMiddleware(s.authenticate, s.auditCall, s.idempotent)
	s.engine = e

	s.registerAuth()
	s.registerUsers()
	s.registerTokens()
	s.registerAudit()
	s.registerInstances()
	s.registerTopics()
	s.registerGroups()
	s.registerAccessKeys()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// OpenAPI returns the API description, as served at /api/v1/openapi.json.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Routes lists the registered gin routes as "METHOD path" (for tests and docs).
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	sqlDB, err := s.db.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		loggerFrom(c.Request.Context(), s.log).Warn("readiness check failed", "err", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, "database_unavailable", "The database is not reachable."))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// setRequestContext stores ctx on the underlying gin request so that gin
// middleware running after the handler (access log) sees what huma middleware added.
func setRequestContext(hctx huma.Context, ctx context.Context) {
	gc := humagin.Unwrap(hctx)
	gc.Request = gc.Request.WithContext(ctx)
}
