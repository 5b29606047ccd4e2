-- The schema of sqlitestore at version 5, as SQLite keeps it (sqlite_master),
-- and a database populated by that release's code: TestMigratePopulatedV5
-- migrates it and checks that nothing was lost. Times are unix ns around
-- 2025-03-04T05:06:07.891Z (T).
--
-- Webhooks: h1 (alice; note, reply; failing since T; a signing secret),
-- h2 (alice; ordered), h3 (bob; inactive). Deliveries (eventIds of byte n
-- repeated): d1 h1 pending after a 500, due T+60s; d2 h2 the ordered
-- head, claimed and released; d3 h1 delivered; d4 h1 failed (410,
-- "gone"); d5 h2 held behind d2; d6 h1 pending after two 503s, leased
-- until T+30s; d32..d51 (0x20..0x33) h1 pending, created T+10ms..T+29ms.
-- d1 and d2 share a payload.

CREATE TABLE webhook_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		);
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
, refs INTEGER NOT NULL DEFAULT 0);
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
CREATE TABLE webhook_hook_version (
id INTEGER PRIMARY KEY CHECK (id = 1),
v  INTEGER NOT NULL
);

INSERT INTO webhook_migrations (version, name, applied_at) VALUES (1, 'init', 1796529495054731630);
INSERT INTO webhook_migrations (version, name, applied_at) VALUES (2, 'signing', 1796529495055103173);
INSERT INTO webhook_migrations (version, name, applied_at) VALUES (3, 'operations', 1796529495055961891);
INSERT INTO webhook_migrations (version, name, applied_at) VALUES (4, 'ordered', 1796529495056702163);
INSERT INTO webhook_migrations (version, name, applied_at) VALUES (5, 'throughput', 1796529495057425279);
INSERT INTO webhook_hooks (pk, id, user_id, name, events, url, secret, active, latest_sent_at, latest_status, signing_secret, previous_signing_secrets, failing_since, ordered) VALUES (1, 'h1', 'alice', 'one', 'note,reply', 'https://r.example/1', 's1', 1, 1741064767891000000, 503, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '', 1741064767891000000, 0);
INSERT INTO webhook_hooks (pk, id, user_id, name, events, url, secret, active, latest_sent_at, latest_status, signing_secret, previous_signing_secrets, failing_since, ordered) VALUES (2, 'h2', 'alice', 'two', 'note', 'https://r.example/2', 's2', 1, NULL, NULL, '', '', NULL, 1);
INSERT INTO webhook_hooks (pk, id, user_id, name, events, url, secret, active, latest_sent_at, latest_status, signing_secret, previous_signing_secrets, failing_since, ordered) VALUES (3, 'h3', 'bob', 'three', 'note', 'https://r.example/3', 's3', 0, NULL, NULL, '', '', NULL, 0);
INSERT INTO webhook_hook_events (user_id, event, hook_pk) VALUES ('alice', 'note', 1);
INSERT INTO webhook_hook_events (user_id, event, hook_pk) VALUES ('alice', 'note', 2);
INSERT INTO webhook_hook_events (user_id, event, hook_pk) VALUES ('alice', 'reply', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (1, X'7b226e6f7465223a7b226964223a226e31227d7d', 2);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (2, X'7b226e6f7465223a7b226964223a226e32227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (3, X'7b226e6f7465223a7b226964223a226e33227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (4, X'7b226e6f7465223a7b226964223a226e34227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (5, X'7b226e6f7465223a7b226964223a226e35227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (6, X'7b226e6f7465223a7b226964223a226d30227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (7, X'7b226e6f7465223a7b226964223a226d31227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (8, X'7b226e6f7465223a7b226964223a226d32227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (9, X'7b226e6f7465223a7b226964223a226d33227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (10, X'7b226e6f7465223a7b226964223a226d34227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (11, X'7b226e6f7465223a7b226964223a226d35227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (12, X'7b226e6f7465223a7b226964223a226d36227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (13, X'7b226e6f7465223a7b226964223a226d37227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (14, X'7b226e6f7465223a7b226964223a226d38227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (15, X'7b226e6f7465223a7b226964223a226d39227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (16, X'7b226e6f7465223a7b226964223a226d3130227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (17, X'7b226e6f7465223a7b226964223a226d3131227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (18, X'7b226e6f7465223a7b226964223a226d3132227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (19, X'7b226e6f7465223a7b226964223a226d3133227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (20, X'7b226e6f7465223a7b226964223a226d3134227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (21, X'7b226e6f7465223a7b226964223a226d3135227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (22, X'7b226e6f7465223a7b226964223a226d3136227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (23, X'7b226e6f7465223a7b226964223a226d3137227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (24, X'7b226e6f7465223a7b226964223a226d3138227d7d', 1);
INSERT INTO webhook_payloads (pk, body, refs) VALUES (25, X'7b226e6f7465223a7b226964223a226d3139227d7d', 1);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (1, X'01111111111141118111111111111111', 1, 1, 'alice', 'note', 'https://example.tld', 1741064767891000000, 1, 1, 1741064827891000000, 1741064827891000000, -1, 500, 'status 500', NULL, 1741064767891000000, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (2, X'02222222222242228222222222222222', 2, 1, 'alice', 'note', 'https://example.tld', 1741064767891000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 1, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (3, X'03333333333343338333333333333333', 1, 2, 'alice', 'note', 'https://example.tld', 1741064767892000000, 2, 1, 1741064767891000000, 1741064827891000000, -1, 204, '', 1741064767891000000, 1741064767891000000, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (4, X'04444444444444448444444444444444', 1, 3, 'alice', 'note', 'https://example.tld', 1741064767893000000, 3, 1, 1741064767891000000, 1741064827891000000, -1, 410, 'status 410', 1741064767891000000, 1741064767891000000, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (5, X'05555555555545558555555555555555', 2, 4, 'alice', 'note', 'https://example.tld', 1741064767894000000, 1, 0, 1741064767891000000, 9223372036854775807, 0, 0, '', NULL, NULL, 1, 1);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (6, X'06666666666646668666666666666666', 1, 5, 'alice', 'note', 'https://example.tld', 1741064767895000000, 1, 2, 1741064767891000000, 1741064797891000000, 3, 503, 'status 503', NULL, 1741064767891000000, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (7, X'20000000000040008000000000000000', 1, 6, 'alice', 'note', 'https://example.tld', 1741064767901000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (8, X'21111111111141118111111111111111', 1, 7, 'alice', 'note', 'https://example.tld', 1741064767902000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (9, X'22222222222242228222222222222222', 1, 8, 'alice', 'note', 'https://example.tld', 1741064767903000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (10, X'23333333333343338333333333333333', 1, 9, 'alice', 'note', 'https://example.tld', 1741064767904000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (11, X'24444444444444448444444444444444', 1, 10, 'alice', 'note', 'https://example.tld', 1741064767905000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (12, X'25555555555545558555555555555555', 1, 11, 'alice', 'note', 'https://example.tld', 1741064767906000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (13, X'26666666666646668666666666666666', 1, 12, 'alice', 'note', 'https://example.tld', 1741064767907000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (14, X'27777777777747778777777777777777', 1, 13, 'alice', 'note', 'https://example.tld', 1741064767908000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (15, X'28888888888848888888888888888888', 1, 14, 'alice', 'note', 'https://example.tld', 1741064767909000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (16, X'29999999999949998999999999999999', 1, 15, 'alice', 'note', 'https://example.tld', 1741064767910000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (17, X'2aaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa', 1, 16, 'alice', 'note', 'https://example.tld', 1741064767911000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (18, X'2bbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb', 1, 17, 'alice', 'note', 'https://example.tld', 1741064767912000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (19, X'2ccccccccccc4ccc8ccccccccccccccc', 1, 18, 'alice', 'note', 'https://example.tld', 1741064767913000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (20, X'2ddddddddddd4ddd8ddddddddddddddd', 1, 19, 'alice', 'note', 'https://example.tld', 1741064767914000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (21, X'2eeeeeeeeeee4eee8eeeeeeeeeeeeeee', 1, 20, 'alice', 'note', 'https://example.tld', 1741064767915000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (22, X'2fffffffffff4fff8fffffffffffffff', 1, 21, 'alice', 'note', 'https://example.tld', 1741064767916000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (23, X'30000000000040008000000000000000', 1, 22, 'alice', 'note', 'https://example.tld', 1741064767917000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (24, X'31111111111141118111111111111111', 1, 23, 'alice', 'note', 'https://example.tld', 1741064767918000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (25, X'32222222222242228222222222222222', 1, 24, 'alice', 'note', 'https://example.tld', 1741064767919000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_deliveries (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state, attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held) VALUES (26, X'33333333333343338333333333333333', 1, 25, 'alice', 'note', 'https://example.tld', 1741064767920000000, 1, 0, 1741064767891000000, 1741064767891000000, -3, 0, '', NULL, NULL, 0, 0);
INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES (1, 1, 1741064767891000000, 5000000, 500, 'status 500', X'6f6f7073', 1);
INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES (2, 3, 1741064767891000000, 5000000, 204, '', X'', 0);
INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES (3, 4, 1741064767891000000, 5000000, 410, 'status 410', X'676f6e65', 0);
INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES (4, 6, 1741064767891000000, 5000000, 503, 'status 503', X'62757379', 1);
INSERT INTO webhook_attempts (pk, delivery_pk, at, duration, status, error, response, retry) VALUES (5, 6, 1741064767891000000, 5000000, 503, 'status 503', X'62757379', 1);
INSERT INTO webhook_hook_version (id, v) VALUES (1, 5);
UPDATE sqlite_sequence SET seq = 3 WHERE name = 'webhook_hooks';

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
