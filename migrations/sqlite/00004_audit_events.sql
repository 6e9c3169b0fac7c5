-- +goose Up
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    actor_id     TEXT NOT NULL,
    actor_email  TEXT NOT NULL,
    action       TEXT NOT NULL,
    resource     TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    result       TEXT NOT NULL,
    source_ip    TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    created_at   DATETIME NOT NULL
);
-- Listing is newest first per account; ids are UUIDv7 so they sort by time.
CREATE INDEX audit_events_account_idx ON audit_events (account_id, id DESC);

-- +goose Down
DROP TABLE audit_events;
