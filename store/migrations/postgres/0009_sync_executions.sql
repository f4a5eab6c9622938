-- Sync dispatches are recorded too (behind the answer, in batches): `sync` rows are born final,
-- partial or failed and are never claimed by a worker.
ALTER TABLE executions ADD COLUMN delivery TEXT NOT NULL DEFAULT 'async';
