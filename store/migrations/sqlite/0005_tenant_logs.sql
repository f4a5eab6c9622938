-- The tenant log and its streams to webhooks.
--
-- Ordering: `seq` is per tenant and handed out from `log_heads` in the same transaction as the
-- insert (see store/src/logs/events.rs): the head row stays locked until commit, so the committed
-- events of a tenant are always a prefix 1..head and a reader paging by checkpoint never passes
-- an event that commits later with a lower number. SQLite has one writer, which gives the same.

CREATE TABLE log_heads (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    last_seq    INTEGER NOT NULL
);

CREATE TABLE log_events (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    date            TEXT NOT NULL,
    type            TEXT NOT NULL,
    level           INTEGER NOT NULL,
    description     TEXT,
    client_id       TEXT,
    client_name     TEXT,
    connection      TEXT,
    ip              TEXT,
    user_agent      TEXT,
    user_id         TEXT,
    user_name       TEXT,
    strategy        TEXT,
    strategy_type   TEXT,
    details         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX log_events_type ON log_events(tenant_id, type, seq);
CREATE INDEX log_events_user ON log_events(tenant_id, user_id, seq);
CREATE INDEX log_events_created ON log_events(created_at);

-- A stream: its settings as JSON (no secret in them), its sealed secrets (the binary encrypts),
-- its checkpoint (the last seq delivered or passed over), the batch in flight (so a re-send after
-- a crash is the same batch under the same webhook-id), its lease, and its health.
CREATE TABLE log_streams (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                        TEXT NOT NULL,
    status                      TEXT NOT NULL CHECK (status IN ('active', 'paused', 'suspended')),
    status_reason               TEXT,
    config                      TEXT NOT NULL,
    authorization_ciphertext    BLOB,
    authorization_nonce         BLOB,
    key_ciphertext              BLOB NOT NULL,
    key_nonce                   BLOB NOT NULL,
    previous_key_ciphertext     BLOB,
    previous_key_nonce          BLOB,
    previous_key_expires_at     TEXT,
    checkpoint                  INTEGER NOT NULL,
    generation                  INTEGER NOT NULL,
    in_flight_to                INTEGER,
    next_attempt_at             TEXT NOT NULL,
    lease_owner                 TEXT,
    lease_expires_at            TEXT,
    last_success_at             TEXT,
    last_error_at               TEXT,
    last_error_status           INTEGER,
    last_error_body             TEXT,
    consecutive_failures        INTEGER NOT NULL,
    failing_since               TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX log_streams_due ON log_streams(status, next_attempt_at);
