-- The automated checks run outside the submit request: the node running a submission's checks
-- holds a lease on them, so that several nodes check each submission once, and checks cut by a
-- stop are claimed again once the lease ends.
ALTER TABLE mk_submissions ADD COLUMN checks_owner TEXT;
ALTER TABLE mk_submissions ADD COLUMN checks_lease_expires_at TEXT;
CREATE INDEX mk_submissions_by_state ON mk_submissions (state, created_at);
