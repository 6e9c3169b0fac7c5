-- +goose Up
-- Access keys of an instance's node. The secret key is kept only encrypted
-- (AES-256-GCM under the control plane's master key, controlplane/secrets):
-- it is decrypted to push the key to the node and is shown to the user once.
CREATE TABLE access_keys (
    instance_id        TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    access_key         TEXT NOT NULL,
    secret_ciphertext  BYTEA NOT NULL,
    nonce              BYTEA NOT NULL,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    permissions        TEXT NOT NULL DEFAULT '[]',
    source_ips         TEXT NOT NULL DEFAULT '[]',
    remark             TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, access_key)
);

-- +goose Down
DROP TABLE access_keys;
