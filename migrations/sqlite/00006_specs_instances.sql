-- +goose Up
-- The spec catalogue. Limits follow ApsaraMQ for RocketMQ 5.x's spec codes
-- (product-reference.md section (c)); prices are Orbit's own list prices in
-- micro-USD so billing sums integers. storage_gb is included storage;
-- price_per_gb_hour_micros is charged beyond it.
CREATE TABLE specs (
    code                               TEXT PRIMARY KEY,
    edition                            TEXT NOT NULL CHECK (edition IN ('standard', 'professional')),
    max_tps                            INTEGER NOT NULL CHECK (max_tps > 0),
    max_topics                         INTEGER NOT NULL CHECK (max_topics > 0),
    max_groups                         INTEGER NOT NULL CHECK (max_groups > 0),
    storage_gb                         INTEGER NOT NULL CHECK (storage_gb >= 0),
    price_per_hour_micros              INTEGER NOT NULL CHECK (price_per_hour_micros >= 0),
    price_per_million_requests_micros  INTEGER NOT NULL CHECK (price_per_million_requests_micros >= 0),
    price_per_gb_hour_micros           INTEGER NOT NULL CHECK (price_per_gb_hour_micros >= 0),
    sort_order                         INTEGER NOT NULL
);
INSERT INTO specs (code, edition, max_tps, max_topics, max_groups, storage_gb, price_per_hour_micros, price_per_million_requests_micros, price_per_gb_hour_micros, sort_order) VALUES
    ('rmq.s2.2xlarge',  'standard',      2000,   300, 1000,  100, 280000, 300000, 330, 10),
    ('rmq.s2.4xlarge',  'standard',      4000,   500, 2000,  200, 540000, 300000, 330, 20),
    ('rmq.p2.2xlarge',  'professional',  2000,  1000, 2000,  200, 420000, 250000, 330, 30),
    ('rmq.p2.4xlarge',  'professional',  4000,  2000, 4000,  400, 800000, 250000, 330, 40),
    ('rmq.p2.10xlarge', 'professional', 10000,  3000, 6000, 1000, 1900000, 200000, 330, 50);

-- Instances: the user's desired state (desired, generation and the settings
-- below it) next to what the reconciler last observed (status,
-- observed_generation, endpoint, admin_addr). lease_owner/lease_until say
-- which `orbit serve` replica reconciles the row now (controlplane/instances/lease.go).
-- admin_token guards the node's admin service; it never leaves the server.
CREATE TABLE instances (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    spec_code            TEXT NOT NULL REFERENCES specs(code),
    remark               TEXT NOT NULL DEFAULT '',
    retention_hours      INTEGER NOT NULL CHECK (retention_hours > 0),
    flush_mode           TEXT NOT NULL CHECK (flush_mode IN ('sync', 'async')),
    desired              TEXT NOT NULL CHECK (desired IN ('RUNNING', 'STOPPED', 'DELETED')),
    generation           INTEGER NOT NULL DEFAULT 1,
    status               TEXT NOT NULL CHECK (status IN ('CREATING', 'RUNNING', 'UPDATING', 'STOPPING', 'STOPPED', 'STARTING', 'DELETING', 'FAILED')),
    status_reason        TEXT NOT NULL DEFAULT '',
    observed_generation  INTEGER NOT NULL DEFAULT 0,
    endpoint             TEXT NOT NULL DEFAULT '',
    admin_addr           TEXT NOT NULL DEFAULT '',
    admin_token          TEXT NOT NULL,
    lease_owner          TEXT NOT NULL DEFAULT '',
    lease_until          DATETIME NULL,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX instances_account_id_idx ON instances (account_id, id);

-- +goose Down
DROP TABLE instances;
DROP TABLE specs;
