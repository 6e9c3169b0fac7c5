// Package proxy serves apache.rocketmq.v2.MessagingService, the RocketMQ 5
// gRPC protocol, in front of the node's broker: the official RocketMQ 5
// clients talk to it unchanged. It translates protobuf to broker calls, keeps
// the per-client registry (settings, telemetry streams, liveness), answers
// routes from the namesrv table and maps broker errors to RocketMQ status
// codes (status.go). TLS and plaintext share one port (listener.go). Every
// broker call made for a client carries broker.Caller (client id, address).
// A background loop pushes the broker's orphan transaction checks to a
// connected producer of each check's topic over its Telemetry stream
// (transaction.go).
//
// shared/docs/rocketmq-grpc-protocol.md is the specification; comments cite
// its sections as "spec §N".
//
// May import: dataplane/broker, dataplane/namesrv, dataplane/store,
// proxy/auth, proxy/limit, usage, the rocketmq protocol/v2 package.
package proxy
