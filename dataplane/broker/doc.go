// Package broker keeps topics and consumer groups and implements RocketMQ 5
// semantics over the store: sending with queue selection, pop-style receive
// with invisible time, ack, change-invisible, redelivery with attempt counts,
// dead-lettering after the group's max attempts, tag and SQL92 filters,
// long polling and consumer offsets that survive restarts.
//
// May import: store, broker/filter (later broker/timer, broker/txn, usage).
//
// # Consumption model
//
// Every (group, topic) pair has a subscription, and every queue of it a
// queueState. Any receiver may pop any queue (server-side load balancing,
// like Apache's pop with queue id -1). A queueState keeps:
//
//   - offset: the consumer offset; every message below it is done (acked,
//     filtered out or dead-lettered). This is what meta.db persists.
//   - scan: the first offset never delivered to the group. Every offset in
//     [offset, scan) is either in inflight or marked in the done bitset.
//   - inflight: delivery records (attempt, deadline, handle generation,
//     auto-renew owner) and a min-heap of deadlines. An expired record is
//     ready for redelivery with attempt+1; expiry is evaluated lazily when a
//     receiver pops the queue, and long-pollers sleep until the nearest
//     deadline.
//
// Redelivery happens in place (the same queue offset), as Apache does for
// FIFO pops, instead of through %RETRY% topics: no extra writes per nack.
// In-flight state lives in memory only: after a restart every message at or
// above the persisted offset is delivered again, with attempt 1
// (at-least-once).
//
// Auto-renewal is implicit: an auto-renewed delivery's deadline is set to
// MaxAutoRenewHold (3 h) when it is made, which is what renewing every
// DefaultInvisible for as long as the client lives would amount to, without
// a timer per message. ClientGone (the proxy calls it when a client
// terminates or stops heartbeating) pulls those deadlines in to
// ClientGoneDelay.
//
// # Receipt handles
//
// "1.<queue>.<offset>.<generation hex>". The generation comes from a
// per-process counter seeded randomly, so it names exactly one delivery: a
// redelivery or ChangeInvisible gets a new one, and the old handle stops
// matching the in-flight record. Ack of an expired handle is accepted until
// the message is actually redelivered (fewer duplicates than Apache, which
// refuses it at once).
//
// # Lock order
//
// Acquire in this order, never the reverse; release before going back up:
//
//	Broker.ckMu     checkpoints vs deletions (held across a meta.db write)
//	Broker.mu       topics, groups, subscriptions, closed (RW)
//	subscription.mu its queue slice and wake channel
//	queueState.mu   one queue's consumer state
//
// The store and meta.db (bbolt) are leaves: they may be called with any of
// these held (Send appends under Broker.mu read-locked so a topic cannot be
// deleted mid-append; receive reads the store under queueState.mu so two
// receivers never pop the same message) and never call back. Nothing takes
// Broker.mu or subscription.mu while holding a queueState.mu: dead-letter
// appends that may create a topic run after the queue lock is released, with
// the delivery marked "forwarding" meanwhile.
package broker
