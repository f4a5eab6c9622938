-- Actionflow store, PostgreSQL schema. Timestamps are timestamptz written by the application,
-- lists and documents are jsonb, ids are UUID v7 text (generated in Rust, like on SQLite).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    scopes      JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);

CREATE TABLE actions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    supported_triggers  JSONB NOT NULL,
    code                TEXT NOT NULL,
    dependencies        JSONB NOT NULL,
    runtime             TEXT NOT NULL,
    secret_names        JSONB NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'building', 'built', 'failed')),
    build_errors        JSONB NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    deployed_version    BIGINT,
    version_seq         BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE action_versions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    action_id           TEXT NOT NULL,
    number              BIGINT NOT NULL,
    code                TEXT NOT NULL,
    dependencies        JSONB NOT NULL,
    lockfile            JSONB NOT NULL,
    runtime             TEXT NOT NULL,
    secret_names        JSONB NOT NULL,
    supported_triggers  JSONB NOT NULL,
    copied_from         BIGINT,
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (action_id, number),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE secrets (
    tenant_id   TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    ciphertext  BYTEA NOT NULL,
    nonce       BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, action_id, name),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions(tenant_id, id) ON DELETE CASCADE
);

-- The current revision number of each trigger's flow; bumped in the same transaction as the change.
CREATE TABLE binding_heads (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id  TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id)
);

-- Every revision's whole ordered list, as JSON; never updated.
CREATE TABLE binding_revisions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id  TEXT NOT NULL,
    number      BIGINT NOT NULL,
    bindings    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id, number)
);

-- The current list, one row per binding, so that a bound action cannot be deleted by accident.
CREATE TABLE bindings (
    tenant_id     TEXT NOT NULL,
    trigger_id    TEXT NOT NULL,
    position      BIGINT NOT NULL,
    action_id     TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    on_error      TEXT NOT NULL CHECK (on_error IN ('fail', 'continue')),
    PRIMARY KEY (tenant_id, trigger_id, position),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions(tenant_id, id)
);
CREATE INDEX bindings_action ON bindings(tenant_id, action_id);

CREATE TABLE executions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id        TEXT NOT NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('pending', 'running', 'final', 'partial', 'failed', 'dead')),
    attempts          BIGINT NOT NULL,
    max_attempts      BIGINT NOT NULL,
    idempotency_key   TEXT,
    action_ids        JSONB NOT NULL,
    event             JSONB NOT NULL,
    results           JSONB NOT NULL,
    last_error        TEXT,
    next_attempt_at   TIMESTAMPTZ NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, trigger_id, idempotency_key)
);
CREATE INDEX executions_due ON executions(next_attempt_at) WHERE status IN ('pending', 'running');
CREATE INDEX executions_tenant_created ON executions(tenant_id, created_at);
