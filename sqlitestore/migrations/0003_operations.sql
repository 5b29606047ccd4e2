-- Version 3: what operators need (attempt history, redelivery, stats) and
-- the webhook's failing streak.

-- When the latest attempt started (unix ns), NULL before the first.
ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at INTEGER;

-- When the first failed attempt since the latest success was made, NULL
-- while the webhook is healthy.
ALTER TABLE webhook_hooks ADD COLUMN failing_since INTEGER;

-- Every attempt of every delivery, oldest first by pk; deleted with the
-- delivery. response holds at most webhook.MaxResponseRecord bytes.
CREATE TABLE webhook_attempts (
	pk          INTEGER PRIMARY KEY,
	delivery_pk INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	duration    INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT    NOT NULL,
	response    BLOB    NOT NULL,
	retry       INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_pk);

-- due_at joins the claim index: QueueStats reads count and oldest due
-- time from it alone, and claims order by (run_at, due_at, pk).
DROP INDEX webhook_deliveries_run;
CREATE INDEX webhook_deliveries_run ON webhook_deliveries (run_at, due_at) WHERE state = 1;

-- A webhook's deliveries newest first, for ListDeliveries; its prefix
-- serves DeleteHook as the old index did.
DROP INDEX webhook_deliveries_hook;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_pk, created_at, id);

-- A webhook's failed deliveries by their last attempt, for RecoverFailed.
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (hook_pk, last_attempt_at) WHERE state = 3;
