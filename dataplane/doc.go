// Package dataplane is Orbit's RocketMQ-compatible node: store, broker,
// namesrv, proxy and admin service. Nothing under dataplane imports the
// control plane; the control plane reaches a node only through dataplane/admin.
package dataplane
