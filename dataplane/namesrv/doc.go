// Package namesrv keeps the route table of a data-plane instance: which
// brokers serve a topic, at which client-facing endpoints, and with how many
// queues. A node registers its own broker; the table is shaped so that more
// brokers (other nodes of a larger instance) can register later.
//
// The proxy answers QueryRoute and QueryAssignment from this table.
//
// May import: nothing (stdlib only).
package namesrv
