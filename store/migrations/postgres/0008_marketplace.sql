-- The marketplace: publishers (created by the admin, owned by a tenant whose tokens submit for
-- them), submissions with their package bytes and check report, every state transition, and the
-- copies tenants installed.
CREATE TABLE mk_publishers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE mk_submissions (
    id              TEXT PRIMARY KEY,
    publisher       TEXT NOT NULL REFERENCES mk_publishers(name),
    slug            TEXT NOT NULL,
    version         TEXT NOT NULL,
    version_major   BIGINT NOT NULL,
    version_minor   BIGINT NOT NULL,
    version_patch   BIGINT NOT NULL,
    state           TEXT NOT NULL,
    manifest        JSONB NOT NULL,
    package         BYTEA NOT NULL,
    sha256          TEXT NOT NULL,
    report          JSONB NOT NULL,
    deprecated_at   TIMESTAMPTZ,
    yanked_at       TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (slug, version)
);
CREATE INDEX mk_submissions_by_slug ON mk_submissions (slug, state);

CREATE TABLE mk_transitions (
    id              TEXT PRIMARY KEY,
    submission_id   TEXT NOT NULL REFERENCES mk_submissions(id) ON DELETE CASCADE,
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    reason          TEXT,
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX mk_transitions_by_submission ON mk_transitions (submission_id, at);

CREATE TABLE mk_installations (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    action_id       TEXT NOT NULL UNIQUE REFERENCES actions(id) ON DELETE CASCADE,
    submission_id   TEXT NOT NULL REFERENCES mk_submissions(id),
    slug            TEXT NOT NULL,
    version         TEXT NOT NULL,
    configuration   JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX mk_installations_by_tenant ON mk_installations (tenant_id, created_at);
