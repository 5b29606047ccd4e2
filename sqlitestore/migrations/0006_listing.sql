-- Version 6: a webhook's deliveries are indexed for listing in bulk.

-- Every webhook has its own place in webhook_deliveries_hook, so that a
-- transaction enqueueing for many webhooks wrote a page of that index
-- for nearly every delivery. Now a delivery is enqueued unlisted
-- (listed = 0), outside the index, and the Store lists the unlisted ones
-- a thousand or so at a time: the page of a busy webhook is written once
-- for many of its deliveries. ListDeliveries reads the few unlisted ones
-- from the end of the table. Rows written by an older release, and by
-- this one's bulk listing, have listed = 1.
ALTER TABLE webhook_deliveries ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;

DROP INDEX webhook_deliveries_hook;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_pk, created_at, id) WHERE listed = 1;

-- upto: every delivery whose pk is at most upto is listed, so that the
-- unlisted ones are one range of pks at the end of the table. A delivery
-- is enqueued with a pk above both upto and every pk in use.
CREATE TABLE webhook_listed (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	upto INTEGER NOT NULL
);
INSERT INTO webhook_listed (id, upto) VALUES (1, (SELECT coalesce(max(pk), 0) FROM webhook_deliveries));
