-- Actionflow store, SQLite schema. Timestamps are RFC 3339 UTC text written by the application
-- (microsecond precision), lists and documents are JSON text, ids are UUID v7 text.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);

CREATE TABLE actions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    supported_triggers  TEXT NOT NULL,
    code                TEXT NOT NULL,
    dependencies        TEXT NOT NULL,
    runtime             TEXT NOT NULL,
    secret_names        TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'building', 'built', 'failed')),
    build_errors        TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    deployed_version    INTEGER,
    version_seq         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE action_versions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    action_id           TEXT NOT NULL,
    number              INTEGER NOT NULL,
    code                TEXT NOT NULL,
    dependencies        TEXT NOT NULL,
    lockfile            TEXT NOT NULL,
    runtime             TEXT NOT NULL,
    secret_names        TEXT NOT NULL,
    supported_triggers  TEXT NOT NULL,
    copied_from         INTEGER,
    created_at          TEXT NOT NULL,
    UNIQUE (action_id, number),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE secrets (
    tenant_id   TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    nonce       BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, action_id, name),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions(tenant_id, id) ON DELETE CASCADE
);

-- The current revision number of each trigger's flow; bumped in the same transaction as the change.
CREATE TABLE binding_heads (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id  TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id)
);

-- Every revision's whole ordered list, as JSON; never updated.
CREATE TABLE binding_revisions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id  TEXT NOT NULL,
    number      INTEGER NOT NULL,
    bindings    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id, number)
);

-- The current list, one row per binding, so that a bound action cannot be deleted by accident.
CREATE TABLE bindings (
    tenant_id     TEXT NOT NULL,
    trigger_id    TEXT NOT NULL,
    position      INTEGER NOT NULL,
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
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    idempotency_key   TEXT,
    action_ids        TEXT NOT NULL,
    event             TEXT NOT NULL,
    results           TEXT NOT NULL,
    last_error        TEXT,
    next_attempt_at   TEXT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (tenant_id, trigger_id, idempotency_key)
);
CREATE INDEX executions_due ON executions(next_attempt_at) WHERE status IN ('pending', 'running');
CREATE INDEX executions_tenant_created ON executions(tenant_id, created_at);
