-- Idempotency keys are stored under their source ("header:<key>" or "event.id:<key>") so that an
-- Idempotency-Key header equal to another event's id names another dispatch. Keys stored before
-- recorded no source: one equal to its event's id is taken as that id, any other as a header.
UPDATE executions
SET idempotency_key = CASE
        WHEN idempotency_key = event->>'id' THEN 'event.id:' || idempotency_key
        ELSE 'header:' || idempotency_key
    END
WHERE idempotency_key IS NOT NULL;
