# Orbit. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/orbit
# Extra flags for go test, e.g. make test GOTESTFLAGS='-run TestSignUp'.
GOTESTFLAGS ?=

.PHONY: help run build build-go web-deps web-build node-client-deps gen test test-go test-web e2e deps lint

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

run: build ## Build everything and run Orbit with embedded defaults (SQLite in ./orbit-data)
	$(BIN) serve

build: web-build build-go ## Build the web console and the orbit binary with the console embedded

build-go:
	CGO_ENABLED=0 $(GO) build -tags embed -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/orbit

web-deps:
	@if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		cd web && npm ci --no-audit --no-fund; fi

# The official RocketMQ Node.js client (pinned) that dataplane/node's
# TestNodeJSClient runs.
NODE_CLIENT := dataplane/node/testdata/nodeclient

node-client-deps: ## Install the Node.js RocketMQ client the Go tests run (needs node and npm: make deps)
	@if [ ! -d $(NODE_CLIENT)/node_modules ] || [ $(NODE_CLIENT)/package-lock.json -nt $(NODE_CLIENT)/node_modules/.package-lock.json ]; then \
		cd $(NODE_CLIENT) && npm ci --no-audit --no-fund; fi

web-build: web-deps
	cd web && npm run build

gen: web-deps ## Regenerate generated code: admin gRPC (needs protoc), web/openapi.json, the console's API client
	dataplane/protogen.sh
	$(GO) run ./cmd/orbit openapi > web/openapi.json
	cd web && npm run gen

deps: ## Install what the tests need on a fresh Debian machine (PostgreSQL, Chromium)
	.ci/deps.sh

test: deps build ## Run every test: Go (PostgreSQL + SQLite), web unit tests, browser e2e
	.ci/testpg.sh $(MAKE) --no-print-directory test-go test-web e2e

test-go: node-client-deps ## Go tests (uses ORBIT_TEST_DATABASE_URL, or starts its own PostgreSQL)
	$(GO) tool gotestsum --format testname -- -race -count=1 $(GOTESTFLAGS) ./...

test-web: web-deps ## Web console unit tests (vitest)
	cd web && npm run typecheck && npm test

e2e: ## Browser tests in Debian's Chromium against a real orbit serve (needs make build)
	cd web && ORBIT_BIN=$(CURDIR)/$(BIN) npm run e2e

lint: ## go vet and TypeScript checks
	$(GO) vet ./...
	cd web && npm run typecheck
