-- A deploy's build in flight: its stamp and when it began. A draft is `building` exactly while
-- build_id is set; only the build holding the stamp records its end, and a build that began long
-- ago (its node stopped) may be taken over by a new deploy.
ALTER TABLE actions ADD COLUMN build_id TEXT;
ALTER TABLE actions ADD COLUMN build_started_at TEXT;
-- Builds left `building` before this migration belong to no live node any more.
UPDATE actions SET build_id = 'interrupted', build_started_at = updated_at WHERE status = 'building';

-- One row: a known value sealed (by the binary) with the master key this database was first written
-- with, so that a node started with another key refuses to start instead of sealing with it.
CREATE TABLE master_key_canary (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    ciphertext  BLOB NOT NULL,
    nonce       BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
