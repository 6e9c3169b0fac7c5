-- +goose Up
-- Topics and consumer groups are desired definitions: the control plane
-- keeps them here and pushes them to the instance's node through its admin
-- service; the reconciler recreates any the node lacks.
CREATE TABLE topics (
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    message_type  TEXT NOT NULL CHECK (message_type IN ('NORMAL', 'FIFO', 'DELAY', 'TRANSACTION')),
    queue_count   INTEGER NOT NULL CHECK (queue_count BETWEEN 1 AND 64),
    max_send_tps  INTEGER NOT NULL DEFAULT 0 CHECK (max_send_tps >= 0),
    remark        TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (instance_id, name)
);

CREATE TABLE consumer_groups (
    instance_id                TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_id                   TEXT NOT NULL,
    delivery_order_type        TEXT NOT NULL CHECK (delivery_order_type IN ('Concurrently', 'Orderly')),
    max_retry_times            INTEGER NOT NULL CHECK (max_retry_times BETWEEN 0 AND 1000),
    retry_policy               TEXT NOT NULL CHECK (retry_policy IN ('DefaultRetryPolicy', 'FixedRetryPolicy')),
    fixed_interval_retry_time  INTEGER NOT NULL DEFAULT 0 CHECK (fixed_interval_retry_time >= 0),
    max_receive_tps            INTEGER NOT NULL DEFAULT 0 CHECK (max_receive_tps >= 0),
    remark                     TEXT NOT NULL DEFAULT '',
    created_at                 DATETIME NOT NULL,
    updated_at                 DATETIME NOT NULL,
    PRIMARY KEY (instance_id, group_id)
);

-- +goose Down
DROP TABLE consumer_groups;
DROP TABLE topics;
