-- Crashes of sandbox processes attributed to an action version (kept for the quarantine window),
-- and the versions quarantined for crashing too often: their executions end `crashed` at once.
CREATE TABLE sandbox_crashes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id  TEXT NOT NULL REFERENCES action_versions(id) ON DELETE CASCADE,
    at          TEXT NOT NULL
);
CREATE INDEX sandbox_crashes_by_version ON sandbox_crashes (version_id, at);

CREATE TABLE version_quarantines (
    version_id  TEXT PRIMARY KEY REFERENCES action_versions(id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    crashes     BIGINT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX version_quarantines_by_action ON version_quarantines (tenant_id, action_id);
