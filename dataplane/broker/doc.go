// Package broker keeps topics and consumer groups and implements RocketMQ 5
// semantics over the store: sending with queue selection, pop-style receive
// with invisible time, ack, change-invisible, redelivery with attempt counts,
// dead-lettering after the group's max attempts, tag and SQL92 filters,
// long polling and consumer offsets that survive restarts.
//
// May import: store, broker/filter, broker/park, trace (later usage).
//
// # Consumption model
//
// Every (group, topic) pair has a subscription, and every queue of it a
// queueState. Any receiver may pop any queue (server-side load balancing,
// like Apache's pop with queue id -1). A queueState keeps:
//
//   - offset: the consumer offset; every message below it is done (acked,
//     filtered out or dead-lettered). This is what meta.db persists.
//   - scan: the first offset never looked at for the group. Every offset in
//     [offset, scan) is in inflight, marked in the done bitset, or (orderly
//     groups only) waiting; queueState.stateOf tells which.
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
// # Orderly consumption
//
// A group with Orderly set consumes each message group (store.Message.Group)
// in queue-offset order, which is send order because Send hashes a message
// group to one queue. Per message group at most one message is in flight at
// any time, within one receive batch too. The queue's fifoState (fifo.go)
// keeps:
//
//   - busy: message group → its head, the one offset of the group that is
//     in flight, awaiting redelivery, being dead-lettered, or ready;
//   - held: per busy group, the offsets scanned behind its head, in order.
//     Held offsets are "waiting": neither in flight nor done, so the consumer
//     offset cannot pass them;
//   - ready: heads of groups whose previous head finished, delivered before
//     any new scanning.
//
// A pop of an orderly queue takes, in this order: expired deliveries
// (redelivered in place with attempt+1, or dead-lettered after the group's
// max deliveries), ready heads, then new offsets from scan, holding back any
// whose group is busy. A failed head (invisible time passed, ChangeInvisible,
// client gone) therefore blocks only its own message group; the other groups
// of the queue keep flowing. When a head is done (ack, dead-lettering by the
// server or by ForwardToDLQ, filtered out, removed by retention) the group's
// next held offset becomes ready, and the acking call wakes long-pollers
// (subscription.wakeAll) since a receiver may be waiting behind it. A
// message without a message group is a group of its own: nothing waits for
// it. At most maxWaiting (10,000) offsets wait per queue; at the bound the
// queue stops scanning until a busy group moves on.
//
// This is the per-message-group blocking the protocol allows instead of
// Apache's per-queue batch blocking; a receive repeating an AttemptID does
// not get the same batch back. The state lives in memory only: after a
// restart scanning resumes at the persisted offset, below every unfinished
// message, so order still holds (with redeliveries). A group that stops
// being orderly delivers its waiting offsets unordered; one that becomes
// orderly does not know its message groups' earlier in-flight messages, so
// order holds from the messages it scans next.
//
// # Tracing
//
// Consumer events (deliver, ack, nack, timeout, DLQ) go to Config.Tracer
// once the queue lock is released; Record must not block, and may not call
// into the broker before returning (it buffers). A delivery with attempt
// n > 1 comes from an expired delivery, so its timeout (attempt n-1) is
// recorded with it; a server-side dead-lettering records the timeout of the
// last attempt, then the DLQ event.
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
// # Held-back messages
//
// Scheduled delay messages and unresolved transaction (half) messages are
// kept out of their topic, with their payloads, in park.db (broker/park),
// so retention cannot remove them and no per-message timer is kept in
// memory: one loop fires what is due, finishes interrupted commits and hands
// out due orphan checks (TakeTxnChecks). Each becomes visible exactly once;
// timer.go describes how a crash between the append and its record is
// resolved.
//
// # Lock order
//
// Acquire in this order, never the reverse; release before going back up:
//
//	Broker.fireMu   the timer's firing round, or one Broker.txnLocks entry (one transaction's commit)
//	Broker.ckMu     checkpoints vs deletions (held across a meta.db write)
//	Broker.mu       topics, groups, subscriptions, closed (RW)
//	subscription.mu its queue slice and wake channel
//	queueState.mu   one queue's consumer state, including its fifoState
//
// The store, meta.db and park.db (bbolt) are leaves: they may be called with any of
// these held (Send appends under Broker.mu read-locked so a topic cannot be
// deleted mid-append; receive reads the store under queueState.mu so two
// receivers never pop the same message) and never call back. Nothing takes
// Broker.mu or subscription.mu while holding a queueState.mu: dead-letter
// appends that may create a topic run after the queue lock is released, with
// the delivery marked "forwarding" meanwhile, and an ack that frees an
// orderly message group wakes long-pollers (subscription.mu) only after
// releasing the queue lock. Consumer trace events are recorded with no
// queue lock held.
package broker
