-- Version 4: ordered webhooks (Webhook.Ordered), which receive their
-- deliveries one at a time, in enqueue order, across retries.

-- Set when the webhook is created; UpdateHook never changes it.
ALTER TABLE webhook_hooks ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;

-- A delivery copies its webhook's ordered flag when it is enqueued, so
-- that settling it needs no look-up of the webhook.
ALTER TABLE webhook_deliveries ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;

-- held is 1 for a pending delivery of an ordered webhook waiting behind
-- that webhook's head, the earliest pending one (by pk); its run_at is
-- then the largest integer, so that the claim index never offers it and
-- claims stay one range of webhook_deliveries_run, ordered or not. When
-- the head is delivered or fails, the next one becomes the head: held 0,
-- run_at its due_at. A redelivered finished delivery takes a new pk, at
-- the end of its webhook's order.
ALTER TABLE webhook_deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;

-- The pending deliveries of ordered webhooks, in order (the rowid ends
-- every index): finding a webhook's next head reads one entry. Unordered
-- deliveries are not in it and pay nothing for it.
CREATE INDEX webhook_deliveries_ordered ON webhook_deliveries (hook_pk) WHERE state = 1 AND ordered = 1;
