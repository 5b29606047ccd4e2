-- Version 5: fewer writes per delivery, and webhooks read from memory.

-- A counter of the changes to webhooks that Emit and Claim read: bumped by
-- the triggers below whenever a webhook is created, deleted, or changed in
-- what matching or sending uses (not by the latest status that every
-- settled attempt writes, but by its failing streak starting or ending).
-- A Store keeps the webhooks in memory and reads only this row to know
-- whether they are still current, whichever process changed them.
CREATE TABLE webhook_hook_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	v  INTEGER NOT NULL
);
INSERT INTO webhook_hook_version (id, v) VALUES (1, 1);

CREATE TRIGGER webhook_hooks_inserted AFTER INSERT ON webhook_hooks
BEGIN
	UPDATE webhook_hook_version SET v = v + 1;
END;

CREATE TRIGGER webhook_hooks_deleted AFTER DELETE ON webhook_hooks
BEGIN
	UPDATE webhook_hook_version SET v = v + 1;
END;

CREATE TRIGGER webhook_hooks_changed AFTER UPDATE ON webhook_hooks
WHEN OLD.id IS NOT NEW.id OR OLD.user_id IS NOT NEW.user_id OR OLD.name IS NOT NEW.name
	OR OLD.events IS NOT NEW.events OR OLD.url IS NOT NEW.url OR OLD.secret IS NOT NEW.secret
	OR OLD.active IS NOT NEW.active OR OLD.signing_secret IS NOT NEW.signing_secret
	OR OLD.previous_signing_secrets IS NOT NEW.previous_signing_secrets
	OR OLD.failing_since IS NOT NEW.failing_since OR OLD.ordered IS NOT NEW.ordered
BEGIN
	UPDATE webhook_hook_version SET v = v + 1;
END;

-- A payload counts the deliveries that share it, so that no index of
-- deliveries by payload (one more entry written per delivery) is needed
-- to find the payloads left unused when deliveries are deleted.
ALTER TABLE webhook_payloads ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_payloads SET refs = (SELECT count(*) FROM webhook_deliveries d WHERE d.payload_pk = webhook_payloads.pk);
DELETE FROM webhook_payloads WHERE refs = 0;
DROP INDEX webhook_deliveries_payload;
