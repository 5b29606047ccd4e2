-- The schema of sqlitestore at version 4 (before the throughput work of
-- version 5), as SQLite keeps it (sqlite_master), and a populated
-- database: TestMigratePopulatedV4 migrates it and checks that nothing
-- was lost. Times are unix ns around 2025-03-04T05:06:07.891Z (T).

CREATE TABLE webhook_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
CREATE TABLE webhook_hooks (
	pk             INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT    NOT NULL UNIQUE,
	user_id        TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	events         TEXT    NOT NULL,
	url            TEXT    NOT NULL,
	secret         TEXT    NOT NULL,
	active         INTEGER NOT NULL,
	latest_sent_at INTEGER,
	latest_status  INTEGER
, signing_secret TEXT NOT NULL DEFAULT '', previous_signing_secrets TEXT NOT NULL DEFAULT '', failing_since INTEGER, ordered INTEGER NOT NULL DEFAULT 0);
CREATE INDEX webhook_hooks_user ON webhook_hooks (user_id, id);
CREATE TABLE webhook_hook_events (
	user_id TEXT    NOT NULL,
	event   TEXT    NOT NULL,
	hook_pk INTEGER NOT NULL,
	PRIMARY KEY (user_id, event, hook_pk)
) WITHOUT ROWID;
CREATE TABLE webhook_payloads (
	pk   INTEGER PRIMARY KEY,
	body BLOB NOT NULL
);
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
, last_attempt_at INTEGER, ordered INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0);
CREATE INDEX webhook_deliveries_payload ON webhook_deliveries (payload_pk);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 1;
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
CREATE INDEX webhook_deliveries_run ON webhook_deliveries (run_at, due_at) WHERE state = 1;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_pk, created_at, id);
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (hook_pk, last_attempt_at) WHERE state = 3;
CREATE INDEX webhook_deliveries_ordered ON webhook_deliveries (hook_pk) WHERE state = 1 AND ordered = 1;

INSERT INTO webhook_migrations VALUES (1, 'init', 0), (2, 'signing', 0), (3, 'operations', 0), (4, 'ordered', 0);

-- h1: alice's, failing since T; h2: alice's, ordered; h3: bob's, inactive.
INSERT INTO webhook_hooks (pk, id, user_id, name, events, url, secret, active, latest_sent_at, latest_status,
	signing_secret, previous_signing_secrets, failing_since, ordered) VALUES
	(1, 'h1', 'alice', 'one', 'note,reply', 'https://r.example/1', 's1', 1, 1741064767891000000, 500,
		'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '', 1741064767891000000, 0),
	(2, 'h2', 'alice', 'two', 'note', 'https://r.example/2', 's2', 1, NULL, NULL, '', '', NULL, 1),
	(3, 'h3', 'bob', 'three', 'note,reply', 'https://r.example/3', 's3', 0, NULL, NULL, '', '', NULL, 0);
INSERT INTO webhook_hook_events (user_id, event, hook_pk) VALUES
	('alice', 'note', 1), ('alice', 'reply', 1), ('alice', 'note', 2);

-- p1 is shared by d1 and d2, one Emit to two webhooks.
INSERT INTO webhook_payloads (pk, body) VALUES
	(1, '{"note":{"id":"n1"}}'), (2, '{"note":{"id":"n2"}}'), (3, '{"note":{"id":"n3"}}'),
	(4, '{"note":{"id":"n4"}}'), (5, '{"note":{"id":"n5"}}');

-- d1: h1, pending, retrying at T+60s after a 500 at T.
-- d2: h2 (ordered), pending, its head, due at T.
-- d3: h1, delivered at T-2s.   d4: h1, failed (410) at T-1s.
-- d5: h2 (ordered), pending, held behind d2.
-- d6: h1, pending, leased (its 3rd claim) until T+30s.
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts,
	due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES
	(1, X'11111111111141118111111111111111', 1, 1, 'alice', 'note', 'https://example.tld', 1741064767000000000, 1, 1,
		1741064827891000000, 1741064827891000000, -1, 500, 'status 500', NULL, 1741064767891000000, 0, 0),
	(2, X'22222222222242228222222222222222', 2, 1, 'alice', 'note', 'https://example.tld', 1741064767000000000, 1, 0,
		1741064767891000000, 1741064767891000000, 0, 0, '', NULL, NULL, 1, 0),
	(3, X'33333333333343338333333333333333', 1, 2, 'alice', 'note', 'https://example.tld', 1741064765000000000, 2, 1,
		1741064765000000000, 1741064765000000000, -1, 204, '', 1741064765891000000, 1741064765891000000, 0, 0),
	(4, X'44444444444444448444444444444444', 1, 3, 'alice', 'reply', 'https://example.tld', 1741064766000000000, 3, 1,
		1741064766000000000, 1741064766000000000, -1, 410, 'status 410', 1741064766891000000, 1741064766891000000, 0, 0),
	(5, X'55555555555545558555555555555555', 2, 4, 'alice', 'note', 'https://example.tld', 1741064767500000000, 1, 0,
		1741064767891000000, 9223372036854775807, 0, 0, '', NULL, NULL, 1, 1),
	(6, X'66666666666646668666666666666666', 1, 5, 'alice', 'note', 'https://example.tld', 1741064767600000000, 1, 2,
		1741064767891000000, 1741064797891000000, 3, 503, 'status 503', NULL, 1741064767791000000, 0, 0);

INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES
	(1, 3, 1741064765891000000, 1000000, 204, '', X'', 0),
	(2, 4, 1741064766891000000, 2000000, 410, 'status 410', 'gone', 0),
	(3, 1, 1741064767891000000, 3000000, 500, 'status 500', 'oops', 1),
	(4, 6, 1741064767691000000, 1000000, 503, 'status 503', '', 1),
	(5, 6, 1741064767791000000, 1000000, 503, 'status 503', '', 1);
