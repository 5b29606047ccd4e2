-- Version 1: webhooks, their event subscriptions, payloads and deliveries.
-- Times are INTEGER unix nanoseconds. Every table is prefixed webhook_ so
-- that the store can share a database with the application (it must, for
-- the transactional outbox).

-- pk is AUTOINCREMENT so that the pk of a deleted webhook is never given to
-- a new one: a delivery claimed just before its webhook is deleted must not
-- be matched with somebody else's webhook.
CREATE TABLE webhook_hooks (
	pk             INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT    NOT NULL UNIQUE,
	user_id        TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	events         TEXT    NOT NULL, -- Webhook.On in order, comma-separated
	url            TEXT    NOT NULL,
	secret         TEXT    NOT NULL,
	active         INTEGER NOT NULL,
	latest_sent_at INTEGER,
	latest_status  INTEGER
);
CREATE INDEX webhook_hooks_user ON webhook_hooks (user_id, id);

-- One row per (active webhook, subscribed event): MatchHooks is one range
-- of the primary key.
CREATE TABLE webhook_hook_events (
	user_id TEXT    NOT NULL,
	event   TEXT    NOT NULL,
	hook_pk INTEGER NOT NULL,
	PRIMARY KEY (user_id, event, hook_pk)
) WITHOUT ROWID;

-- Bodies, stored once per Emit however many webhooks it fans out to, and
-- kept out of the delivery rows so that claiming and settling rewrite
-- small rows only.
CREATE TABLE webhook_payloads (
	pk   INTEGER PRIMARY KEY,
	body BLOB NOT NULL
);

-- state: 1 pending, 2 delivered, 3 failed.
-- due_at is Delivery.NextAttemptAt. run_at is when the delivery can next be
-- claimed: due_at while it is free, the lease's expiry while it is leased,
-- so that "due and not leased" is one range of one index.
-- lease counts the claims so far; it is positive while the latest claim
-- holds the delivery and negated once that claim is settled.
CREATE TABLE webhook_deliveries (
	pk          INTEGER PRIMARY KEY,
	id          BLOB    NOT NULL UNIQUE,
	hook_pk     INTEGER NOT NULL,
	payload_pk  INTEGER NOT NULL,
	user_id     TEXT    NOT NULL,
	type        TEXT    NOT NULL,
	server      TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	state       INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	due_at      INTEGER NOT NULL,
	run_at      INTEGER NOT NULL,
	lease       INTEGER NOT NULL DEFAULT 0,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	finished_at INTEGER
);
CREATE INDEX webhook_deliveries_run ON webhook_deliveries (run_at) WHERE state = 1;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_pk);
CREATE INDEX webhook_deliveries_payload ON webhook_deliveries (payload_pk);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 1;
