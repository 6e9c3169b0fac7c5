// Package filestore is the on-disk store.Store: a commit log of every
// message, a consume queue per topic/queue locating its messages in the log,
// and a hash index by message id and key, in the manner of RocketMQ's
// CommitLog, ConsumeQueue and IndexFile (the ideas, not the byte format).
// May import: store/**.
//
// # Layout of Dir
//
//	LOCK                              flock: one process per store
//	checkpoint                        how far consume queues and index are durable (checkpoint.go)
//	commitlog/FORMAT                  the segment size the log was made with
//	commitlog/<20-digit base offset>  segments (package commitlog)
//	consumequeue/<topic>/<queue>/<20-digit first entry>   32-byte entries (package consumequeue)
//	index/<20-digit first offset>     hash-slot files (package index)
//
// # Writing
//
// Append encodes frames on the caller's goroutine and queues them for one
// writer goroutine, which takes everything queued as one batch: it assigns
// queue offsets and commit-log offsets, stamps the store time, checksums,
// writes the batch with one pwrite, fsyncs once in sync mode (group commit),
// then writes the consume-queue and index entries, publishes the new queue
// ends and wakes Notify waiters, and only then releases the callers. In async
// mode the fsync is left to the background loop (every FlushInterval), which
// also writes the checkpoint in both modes. A failed write or fsync makes
// the store refuse further appends until it is reopened and recovered.
//
// # Reading
//
// Read looks up consume-queue entries (memory-mapped, no system call), reads
// runs of adjacent records with one pread each, and verifies each record's
// CRC, offset, topic, queue and queue offset before decoding it.
//
// # Locks (outer first; nothing is called out with a lock held except
// MinConsumed, under maintMu)
//
//	rmu (R)   readers of mapped files, and EnforceRetention; Close takes it
//	          exclusively, after releasing maintMu, to unmap
//	maintMu   checkpoint, retention, Close's final checkpoint
//	wmu       the writer's batch vs the checkpoint's snapshot
//	qmu       the queue table
//	consumequeue.Queue.mu, index.Index.mu, commitlog tabMu/prepMu, queue.nmu, pmu   leaves
package filestore
