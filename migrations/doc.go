// Package migrations owns Orbit's control-plane database: it opens it (Open,
// PostgreSQL or the embedded SQLite default) and moves its schema between
// versions (Up, Down, Version) with hand-written SQL files embedded from
// postgres/ and sqlite/.
//
// Both dialects carry the same migration numbers (goose format, one file per
// change with its "-- +goose Up" and "-- +goose Down" halves); a test fails
// when the two sets differ. gorm AutoMigrate is never used outside throwaway
// tests.
//
// Up is safe to call from several processes at once, which happens when
// several `orbit serve` replicas start together: on PostgreSQL goose holds a
// session-level advisory lock while it migrates; on SQLite an exclusive
// flock(2) on "<db file>.migrate.lock" (plus an in-process lock) serialises
// migrators of the same file.
//
// SQLite connections are limited to one per *gorm.DB (SetMaxOpenConns(1)) so
// that one process never fights itself for the write lock (SQLITE_BUSY).
// The price: code must never use the outer *gorm.DB inside a transaction
// callback, nor run a second query while iterating rows, or it waits forever
// for the only connection. Use the tx handed to the callback.
//
// May import: nothing from Orbit.
package migrations
