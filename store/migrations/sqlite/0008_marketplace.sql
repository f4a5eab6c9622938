-- The marketplace: publishers (created by the admin, owned by a tenant whose tokens submit for
-- them), submissions with their package bytes and check report, every state transition, and the
-- copies tenants installed.
CREATE TABLE mk_publishers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);

CREATE TABLE mk_submissions (
    id              TEXT PRIMARY KEY,
    publisher       TEXT NOT NULL REFERENCES mk_publishers(name),
    slug            TEXT NOT NULL,
    version         TEXT NOT NULL,
    version_major   INTEGER NOT NULL,
    version_minor   INTEGER NOT NULL,
    version_patch   INTEGER NOT NULL,
    state           TEXT NOT NULL,
    manifest        TEXT NOT NULL,
    package         BLOB NOT NULL,
    sha256          TEXT NOT NULL,
    report          TEXT NOT NULL,
    deprecated_at   TEXT,
    yanked_at       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
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
    at              TEXT NOT NULL
);
CREATE INDEX mk_transitions_by_submission ON mk_transitions (submission_id, at);

CREATE TABLE mk_installations (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    action_id       TEXT NOT NULL UNIQUE REFERENCES actions(id) ON DELETE CASCADE,
    submission_id   TEXT NOT NULL REFERENCES mk_submissions(id),
    slug            TEXT NOT NULL,
    version         TEXT NOT NULL,
    configuration   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX mk_installations_by_tenant ON mk_installations (tenant_id, created_at);
