-- Every sync dispatch is recorded, so `executions` grows by every login and holds days of them.
-- The queue's polls (claim, expire) and the retention purge must not read all of it: finished
-- executions get an index of their own for the purge, and the polls name the statuses of
-- `executions_due` so that SQLite, which only uses a partial index whose condition the query
-- states, reads the few pending and running rows through it.
CREATE INDEX executions_finished ON executions(updated_at) WHERE status IN ('final', 'partial', 'failed');
