-- +goose Up
-- A create carrying an Idempotency-Key is recorded here; a retry with the same
-- key and body replays the stored response instead of creating twice.
CREATE TABLE idempotency_keys (
    account_id     TEXT NOT NULL,
    key            TEXT NOT NULL,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    request_hash   BLOB NOT NULL,
    status_code    INTEGER NOT NULL DEFAULT 0,
    response_body  BLOB,
    content_type   TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL,
    completed_at   DATETIME,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
