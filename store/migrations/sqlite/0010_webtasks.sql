-- Webtasks: containers (each owned by one tenant), extensions with their code, metadata, sealed
-- secrets and locked dependencies, one storage document each, cron jobs with their durable next
-- tick and run history.
CREATE TABLE wt_containers (
    name        TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);

CREATE TABLE wt_extensions (
    container     TEXT NOT NULL REFERENCES wt_containers(name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    code          TEXT NOT NULL,
    meta          TEXT NOT NULL,
    secrets       TEXT NOT NULL,
    dependencies  TEXT NOT NULL,
    lockfile      TEXT,
    version       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (container, name)
);

CREATE TABLE wt_storage (
    container   TEXT NOT NULL,
    name        TEXT NOT NULL,
    data        TEXT NOT NULL,
    etag        INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (container, name),
    FOREIGN KEY (container, name) REFERENCES wt_extensions(container, name) ON DELETE CASCADE
);

CREATE TABLE wt_cron_jobs (
    container       TEXT NOT NULL,
    name            TEXT NOT NULL,
    schedule        TEXT NOT NULL,
    tz              TEXT NOT NULL,
    state           TEXT NOT NULL,
    meta            TEXT NOT NULL,
    next_at         TEXT NOT NULL,
    running_run_id  TEXT,
    running_since   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (container, name),
    FOREIGN KEY (container, name) REFERENCES wt_extensions(container, name) ON DELETE CASCADE
);
CREATE INDEX wt_cron_jobs_due ON wt_cron_jobs (state, next_at);

CREATE TABLE wt_cron_runs (
    id              TEXT PRIMARY KEY,
    container       TEXT NOT NULL,
    name            TEXT NOT NULL,
    scheduled_at    TEXT NOT NULL,
    started_at      TEXT,
    completed_at    TEXT,
    outcome         TEXT,
    status_code     INTEGER,
    body            TEXT,
    node            TEXT NOT NULL,
    FOREIGN KEY (container, name) REFERENCES wt_cron_jobs(container, name) ON DELETE CASCADE
);
CREATE INDEX wt_cron_runs_by_job ON wt_cron_runs (container, name, scheduled_at);
