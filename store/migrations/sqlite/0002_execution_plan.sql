-- The flow pinned at dispatch (bound actions, their deployed versions and error policies), as the
-- domain shaped it: an async execution runs these versions on every attempt.
ALTER TABLE executions ADD COLUMN plan TEXT NOT NULL DEFAULT '[]';
