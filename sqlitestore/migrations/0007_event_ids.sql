-- Version 7: eventIds that the Store makes, indexed in order.

-- An eventId is a random version 4 UUID, and the UNIQUE index on
-- webhook_deliveries.id put each new delivery at a random page of it: a
-- commit of a few dozen deliveries rewrote a few dozen pages of that
-- index, half of all the pages it wrote. Now the Store makes the eventIds
-- of what it enqueues (see eventids.go): each is a secret permutation of
-- a sequence number, kept in seq, so that a new delivery's index entry
-- goes at the end of its Store's range. Deliveries from before, and
-- eventIds the Store did not make, have no seq and are indexed by id: the
-- one unique index, on coalesce(seq, id), holds both (a number never
-- equals a blob).
--
-- SQLite cannot drop the index of a column's UNIQUE constraint, so the
-- table is rebuilt, keeping every row and its pk.
CREATE TABLE webhook_deliveries_v7 (
	pk              INTEGER PRIMARY KEY,
	id              BLOB    NOT NULL,
	seq             INTEGER,
	hook_pk         INTEGER NOT NULL,
	payload_pk      INTEGER NOT NULL,
	user_id         TEXT    NOT NULL,
	type            TEXT    NOT NULL,
	server          TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	state           INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	due_at          INTEGER NOT NULL,
	run_at          INTEGER NOT NULL,
	lease           INTEGER NOT NULL DEFAULT 0,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	finished_at     INTEGER,
	last_attempt_at INTEGER,
	ordered         INTEGER NOT NULL DEFAULT 0,
	held            INTEGER NOT NULL DEFAULT 0,
	listed          INTEGER NOT NULL DEFAULT 1
);
INSERT INTO webhook_deliveries_v7 (pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state,
	attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held, listed)
SELECT pk, id, hook_pk, payload_pk, user_id, type, server, created_at, state,
	attempts, due_at, run_at, lease, last_status, last_error, finished_at, last_attempt_at, ordered, held, listed
FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_v7 RENAME TO webhook_deliveries;

CREATE UNIQUE INDEX webhook_deliveries_id ON webhook_deliveries (coalesce(seq, id));
CREATE INDEX webhook_deliveries_run ON webhook_deliveries (run_at, due_at) WHERE state = 1;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_pk, created_at, id) WHERE listed = 1;
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (hook_pk, last_attempt_at) WHERE state = 3;
CREATE INDEX webhook_deliveries_ordered ON webhook_deliveries (hook_pk) WHERE state = 1 AND ordered = 1;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 1;

-- The permutation's key, written once by the first Migrate (from Go's
-- crypto/rand), and how many Stores have taken a range of sequence
-- numbers: each Migrate takes the next.
CREATE TABLE webhook_event_ids (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	key       BLOB    NOT NULL,
	instances INTEGER NOT NULL
);
