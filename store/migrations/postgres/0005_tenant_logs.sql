-- The tenant log and its streams to webhooks.
--
-- Ordering: `seq` is per tenant and handed out from `log_heads` in the same transaction as the
-- insert (see store/src/logs/events.rs): the head row stays locked until commit, so the committed
-- events of a tenant are always a prefix 1..head and a reader paging by checkpoint never passes
-- an event that commits later with a lower number.

CREATE TABLE log_heads (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    last_seq    BIGINT NOT NULL
);

CREATE TABLE log_events (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    date            TIMESTAMPTZ NOT NULL,
    type            TEXT NOT NULL,
    level           BIGINT NOT NULL,
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
    details         JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
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
    config                      JSONB NOT NULL,
    authorization_ciphertext    BYTEA,
    authorization_nonce         BYTEA,
    key_ciphertext              BYTEA NOT NULL,
    key_nonce                   BYTEA NOT NULL,
    previous_key_ciphertext     BYTEA,
    previous_key_nonce          BYTEA,
    previous_key_expires_at     TIMESTAMPTZ,
    checkpoint                  BIGINT NOT NULL,
    generation                  BIGINT NOT NULL,
    in_flight_to                BIGINT,
    next_attempt_at             TIMESTAMPTZ NOT NULL,
    lease_owner                 TEXT,
    lease_expires_at            TIMESTAMPTZ,
    last_success_at             TIMESTAMPTZ,
    last_error_at               TIMESTAMPTZ,
    last_error_status           BIGINT,
    last_error_body             TEXT,
    consecutive_failures        BIGINT NOT NULL,
    failing_since               TIMESTAMPTZ,
    created_at                  TIMESTAMPTZ NOT NULL,
    updated_at                  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX log_streams_due ON log_streams(status, next_attempt_at);
