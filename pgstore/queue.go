package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

// Delivery states as stored: webhook.State's values.
const (
	statePending   = int16(webhook.StatePending)
	stateDelivered = int16(webhook.StateDelivered)
	stateFailed    = int16(webhook.StateFailed)
)

// sqlEnqueue inserts a batch from parallel arrays: the events ($1-$5),
// then the deliveries ($6-$9, each naming its event by position in $8),
// each into fedihook_deliveries and fedihook_queue, in the order given
// (which seq follows). It raises a foreign key violation for a delivery
// of a webhook that does not exist. A webhook must not be deleted before
// the statement commits: in a caller's transaction (TxOutbox) it locks
// the webhooks' rows against it (FOR KEY SHARE, which neither a claim nor
// a settle conflicts with); through the pool, sqlPlanEnqueue has taken
// the hooks lock (shared) before the statement began, which costs no
// write, where a row lock writes to every webhook's row.
// A delivery with a lease expiry in $11 is inserted claimed (its first
// lease, until then): EnqueueAndClaim's. In the same statement, and so
// the same transaction, it notifies the channel once (delivered only if
// the transaction commits) when some delivery is left to claim, and
// returns the webhooks' version, which keeps in-process views of them
// honest, and, when some delivery was claimed, the FailingSince of the
// webhooks that have one.
const sqlEnqueue = `
WITH hk AS (
	SELECT h.id, h.ordered FROM ${s}fedihook_hooks h
	WHERE h.id = ANY ($7::text[])
	${lockrows}
), ev AS (
	SELECT nextval('${s}fedihook_events_id_seq') AS id, t.*
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bytea[])
		WITH ORDINALITY AS t (user_id, type, server, created_at, body, n)
), ins_ev AS (
	INSERT INTO ${s}fedihook_events (id, user_id, type, server, created_at, body)
	SELECT id, user_id, type, server, created_at, body FROM ev
), d AS (
	SELECT nextval('${s}fedihook_delivery_seq') AS seq, o.* FROM (
		SELECT t.id, t.hook_id, ev.id AS event_id, ev.created_at, t.due, t.leased_until,
			CASE WHEN hk.id IS NULL THEN ${s}fedihook_no_hook(t.hook_id) ELSE hk.ordered END AS ordered
		FROM unnest($6::uuid[], $7::text[], $8::int[], $9::timestamptz[], $11::timestamptz[])
			WITH ORDINALITY AS t (id, hook_id, ev, due, leased_until, ord)
		JOIN ev ON ev.n = t.ev
		LEFT JOIN hk ON hk.id = t.hook_id
		ORDER BY t.ord
	) AS o
), ins_d AS (
	INSERT INTO ${s}fedihook_deliveries (id, hook_id, event_id, created_at, seq, ordered, state, next_attempt_at)
	SELECT id, hook_id, event_id, created_at, seq, ordered, 1, due FROM d
), ins_q AS (
	INSERT INTO ${s}fedihook_queue (id, hook_id, event_id, seq, ordered, due, leased_until, lease)
	SELECT id, hook_id, event_id, seq, ordered, due, leased_until, CASE WHEN leased_until IS NULL THEN 0 ELSE 1 END FROM d
), fs AS (
	SELECT st.hook_id, st.failing_since FROM ${s}fedihook_hook_status st
	WHERE st.hook_id = ANY ($7::text[]) AND st.failing_since IS NOT NULL
		AND cardinality(array_remove($11::timestamptz[], NULL)) > 0
)
SELECT (SELECT version FROM ${s}fedihook_hooks_version),
	(SELECT pg_notify($10, '') WHERE array_position($11::timestamptz[], NULL) IS NOT NULL),
	ARRAY(SELECT hook_id FROM fs), ARRAY(SELECT failing_since FROM fs)`

// sqlClaim locks up to $2 due rows of the queue whose lease is free or
// expired, skipping the ones other claimers hold, leases them until $3
// (which moves them to the back of the claimable index, so that the next
// claim does not step over them) and returns them with their events and
// webhooks, earliest claimable first. Of an ordered webhook, only
// the head (its earliest enqueued pending delivery) may be taken. The
// webhooks' version comes along, for the in-process view of them.
const sqlClaim = `
WITH c AS (
	SELECT q.ctid FROM ${s}fedihook_queue q
	WHERE greatest(q.due, q.leased_until) <= $1
		AND (NOT q.ordered OR NOT EXISTS (
			SELECT FROM ${s}fedihook_queue e
			WHERE e.ordered AND e.hook_id = q.hook_id AND e.seq < q.seq))
	ORDER BY greatest(q.due, q.leased_until)
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), u AS (
	UPDATE ${s}fedihook_queue q
	SET lease = q.lease + 1, leased_until = $3
	-- By the rows' addresses (a TID scan), whatever the planner thinks of
	-- the queue's size.
	WHERE q.ctid = ANY (ARRAY(SELECT ctid FROM c))
	RETURNING q.id, q.hook_id, q.event_id, q.due, q.attempts, q.last_attempt_at, q.last_status, q.last_error, q.lease
)
SELECT u.id, e.user_id, e.type, e.server, e.created_at, e.body,
	u.attempts, u.due, u.last_attempt_at, u.last_status, u.last_error, u.lease ${async},
	h.id, h.user_id, h.name, h.events, h.url, h.secret, h.active,
	h.signing_secret, h.previous_secrets, h.previous_expires, h.ordered, st.failing_since,
	(SELECT version FROM ${s}fedihook_hooks_version)
FROM u
JOIN ${s}fedihook_hooks h ON h.id = u.hook_id
JOIN ${s}fedihook_events e ON e.id = u.event_id
LEFT JOIN ${s}fedihook_hook_status st ON st.hook_id = u.hook_id
ORDER BY u.due, u.id`

// claimAsync makes a claim's commit not wait for its WAL to reach the
// disk: were the server to crash before it did, the claim would be lost,
// and the delivery claimable again as if never claimed (a lease that
// lapses sooner). Claim alone uses it; SettleAndClaim's commit is
// durable, for its results' sake.
const claimAsync = `+ CASE WHEN set_config('synchronous_commit', 'off', true) IS NULL THEN 1 ELSE 0 END`

// The queue's statements go to the database in a pipeline behind one of
// these, which set the planner for the rest of the transaction. Their
// tables grow and shrink by thousands of rows a second, faster than
// statistics follow, and a connection keeps the plan it made for a
// prepared statement: one made while a table was small reads the whole
// table on every call once it is large (a claim joining its events
// through a scan of every event, a settle hashing the whole queue). Every
// table access of these statements is a lookup by key, so they are
// planned as such whatever the statistics say.
//
// A plan with a disabled node costs more than any JIT threshold: JIT is
// off too, or every call would compile its plan (hundreds of
// milliseconds).
const (
	// sqlPlanLookups: no sequential scans.
	sqlPlanLookups = `SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)`
	// sqlPlanEnqueue: as sqlPlanLookups, and the hooks lock, shared (see
	// sqlEnqueue): taken before the statement, whose snapshot then sees
	// every deletion that took the lock first.
	sqlPlanEnqueue = sqlPlanLookups + `, ` + hooksLock + `_shared(` + hooksLockKey + `)`
	// sqlPlanClaim: lookups and nested loops (a claim joins a few rows
	// to their events and webhooks).
	sqlPlanClaim = `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
	set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)`
)

// sqlSettle applies a batch of results given as parallel arrays, each
// only if its lease is still the delivery's, and returns the positions
// (from 1) of the results refused for a lost lease; deliveries that no
// longer exist are skipped silently. Of several results with one lease,
// the first is applied.
//
// A finished delivery (delivered or failed) leaves the queue, and its
// row in fedihook_deliveries takes its final state and attempt, which
// changes no indexed column. A retry or a release ($10) puts the queue
// row back, due at next_at; a retry's attempt goes to fedihook_attempts.
// Each webhook's status (latest attempt, FailingSince) is written once,
// after locking those rows in ID order: the latest attempt is the one
// with the latest time, FailingSince follows the batch's order.
const sqlSettle = `
WITH r AS (
	SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::int[], $6::text[],
			$7::timestamptz[], $8::bigint[], $9::bytea[], $10::bool[])
		WITH ORDINALITY AS r (id, lease, state, next_at, status, error, at, dur, resp, release, ord)
), ra AS (
	SELECT DISTINCT ON (id, lease) * FROM r ORDER BY id, lease, ord
), fin AS (
	DELETE FROM ${s}fedihook_queue q
	USING ra
	-- = ANY: by the primary key, not a scan of the queue (the planner,
	-- blind to ra's size, may otherwise hash the whole queue).
	WHERE q.id = ANY ($1::uuid[]) AND q.id = ra.id AND q.lease = ra.lease AND q.leased_until IS NOT NULL
		AND NOT ra.release AND ra.state <> 1
	RETURNING ra.ord, ra.id, ra.state, ra.at, ra.status, ra.error, ra.dur, ra.resp, q.hook_id, q.lease, q.attempts, q.due
), back AS (
	UPDATE ${s}fedihook_queue q SET
		due = ra.next_at,
		leased_until = NULL,
		attempts = q.attempts + CASE WHEN ra.release THEN 0 ELSE 1 END,
		last_attempt_at = CASE WHEN ra.release THEN q.last_attempt_at ELSE ra.at END,
		last_status = CASE WHEN ra.release THEN q.last_status ELSE ra.status END,
		last_error = CASE WHEN ra.release THEN q.last_error ELSE ra.error END
	FROM ra
	WHERE q.id = ANY ($1::uuid[]) AND q.id = ra.id AND q.lease = ra.lease AND q.leased_until IS NOT NULL
		AND (ra.release OR ra.state = 1)
	RETURNING ra.ord, ra.id, ra.state, ra.at, ra.status, ra.error, ra.dur, ra.resp, q.hook_id, ra.release
), logged AS (
	UPDATE ${s}fedihook_deliveries d SET
		state = fin.state, lease = fin.lease, attempts = fin.attempts + 1, next_attempt_at = fin.due,
		last_attempt_at = fin.at, last_status = fin.status, last_error = fin.error, finished_at = fin.at,
		final_duration_us = fin.dur, final_response = fin.resp
	FROM fin
	WHERE d.id = fin.id
), tried AS (
	SELECT ord, id, state, at, status, error, dur, resp, hook_id FROM fin
	UNION ALL
	SELECT ord, id, state, at, status, error, dur, resp, hook_id FROM back WHERE NOT release
), hist AS (
	INSERT INTO ${s}fedihook_attempts (delivery_id, at, duration_us, status, error, response, retry)
	SELECT id, at, dur, status, error, resp, true FROM tried WHERE state = 1 ORDER BY ord
), tw AS (
	-- Each attempt with its webhook's last success in the batch.
	SELECT t.*, max(t.ord) FILTER (WHERE t.state = 2) OVER (PARTITION BY t.hook_id) AS last_ok
	FROM tried t
), st AS (
	-- A webhook's latest attempt, whether the batch has a success, and
	-- its first failure after the last success (or at all): one pass.
	SELECT hook_id, max(last_ok) AS last_ok,
		(array_agg(at ORDER BY at DESC, ord DESC))[1] AS latest_at,
		(array_agg(CASE WHEN status = 0 THEN 1 ELSE status END ORDER BY at DESC, ord DESC))[1] AS latest_status,
		(array_agg(at ORDER BY ord) FILTER (WHERE state <> 2 AND ord > coalesce(last_ok, 0)))[1] AS since
	FROM tw GROUP BY hook_id
), lk AS (
	-- Locked in ID order, so that concurrent settles cannot deadlock.
	SELECT st.* FROM ${s}fedihook_hook_status s JOIN st ON st.hook_id = s.hook_id
	ORDER BY s.hook_id
	FOR NO KEY UPDATE OF s
), status AS (
	UPDATE ${s}fedihook_hook_status s SET
		failing_since = CASE WHEN lk.last_ok IS NOT NULL THEN lk.since ELSE coalesce(s.failing_since, lk.since) END,
		latest_sent_at = CASE WHEN s.latest_sent_at IS NULL OR s.latest_sent_at <= lk.latest_at THEN lk.latest_at ELSE s.latest_sent_at END,
		latest_status = CASE WHEN s.latest_sent_at IS NULL OR s.latest_sent_at <= lk.latest_at THEN lk.latest_status ELSE s.latest_status END
	FROM lk
	WHERE s.hook_id = lk.hook_id
)
SELECT x.ord FROM (
	SELECT r.ord, r.id FROM r
	WHERE NOT EXISTS (SELECT FROM fin WHERE fin.ord = r.ord)
		AND NOT EXISTS (SELECT FROM back WHERE back.ord = r.ord)
	OFFSET 0 -- the refused results first (rarely any), then the lookup below
) AS x
-- A scalar subquery, not EXISTS, which the planner may turn into a join
-- that reads the whole history: this one looks up by ID.
WHERE (SELECT true FROM ${s}fedihook_deliveries d WHERE d.id = x.id)
ORDER BY x.ord`

// deliverySelect reads whole deliveries: a pending one's attempts, due
// time and last attempt are its queue row's.
const deliverySelect = `
SELECT d.id, d.hook_id, e.user_id, e.type, e.server, d.created_at, e.body, d.state,
	CASE WHEN q.id IS NULL THEN d.attempts ELSE q.attempts END,
	CASE WHEN q.id IS NULL THEN d.next_attempt_at ELSE q.due END,
	CASE WHEN q.id IS NULL THEN d.last_attempt_at ELSE q.last_attempt_at END,
	CASE WHEN q.id IS NULL THEN d.last_status ELSE q.last_status END,
	CASE WHEN q.id IS NULL THEN d.last_error ELSE q.last_error END
FROM ${s}fedihook_deliveries d
JOIN ${s}fedihook_events e ON e.id = d.event_id
LEFT JOIN ${s}fedihook_queue q ON d.state = 1 AND q.id = d.id`

const sqlGetDelivery = deliverySelect + ` WHERE d.id = $1`

// Prune works in batches, each a transaction that takes the store's
// prune lock (so concurrent Prunes take turns) and deletes the batch with
// its attempts and the events no delivery is left of. Deliveries are
// appended in about creation order and finish after it: the BRIN index on
// created_at finds the old ones.
// The hooks lock: DeleteHook takes it, exclusive, after locking the
// webhook's row and before deleting its deliveries; an Enqueue through
// the pool takes it shared, so that a webhook's deliveries are either
// enqueued before its deletion began (and deleted with it) or refused.
const (
	hooksLock    = `pg_advisory_xact_lock`
	hooksLockKey = `hashtextextended('fedihook.hooks:' || coalesce(nullif($1, ''), current_schema(), ''), 0)`
	sqlLockHooks = `SELECT ` + hooksLock + `(` + hooksLockKey + `)`
)

const sqlLockPrune = `SELECT pg_advisory_xact_lock(hashtextextended('fedihook.prune:' || coalesce(nullif($1, ''), current_schema(), ''), 0))`

const sqlPrune = `
WITH del AS (
	DELETE FROM ${s}fedihook_deliveries d
	WHERE d.id IN (
		SELECT id FROM ${s}fedihook_deliveries
		WHERE created_at < $1 AND state <> 1 AND finished_at < $1
		LIMIT $2
	) AND d.state <> 1 AND d.finished_at < $1
	RETURNING d.id, d.event_id
), att AS (
	DELETE FROM ${s}fedihook_attempts a USING del WHERE a.delivery_id = del.id
), ev AS (
	DELETE FROM ${s}fedihook_events e
	USING (SELECT DISTINCT event_id FROM del) AS x
	WHERE e.id = x.event_id AND NOT EXISTS (
		SELECT FROM ${s}fedihook_deliveries d
		WHERE d.event_id = e.id AND NOT EXISTS (SELECT FROM del WHERE del.id = d.id))
)
SELECT count(*) FROM del`

// pruneBatch is how many rows one statement of Prune deletes, to keep
// its transactions short.
const pruneBatch = 5000

// Enqueue implements [webhook.Outbox]: it inserts all of ds in one
// statement, all or none, and notifies Listen-ers once. A delivery of a
// webhook that does not exist fails the whole batch with an error
// wrapping webhook.ErrNotFound; an existing delivery ID with
// webhook.ErrConflict.
//
// Concurrent calls (Emits from many requests) are merged into one
// statement, and so one commit, while an earlier one is running; if the
// merged statement fails for one call's deliveries, each call is retried
// on its own, so that each still succeeds or fails alone. Once its
// deliveries are sent to the database, Enqueue is not interrupted by ctx.
func (s *Store) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	if err := ctx.Err(); err != nil || len(ds) == 0 {
		return err
	}
	return s.enqueues.do(context.WithoutCancel(ctx), []enqueued{{ds: ds}}, s.enqueueBatch)
}

// EnqueueEvent implements [webhook.EventEnqueuer]: as Enqueue, with the
// event's body stored once for all its deliveries.
func (s *Store) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	if err := ctx.Err(); err != nil || len(em.Hooks) == 0 {
		return err
	}
	return s.enqueues.do(context.WithoutCancel(ctx), []enqueued{{em: em}}, s.enqueueBatch)
}

// EnqueueAndClaim implements [webhook.EnqueueClaimer]: the deliveries
// it claims are inserted claimed, in EnqueueEvent's statement (merged,
// as EnqueueEvent's are, with concurrent calls), and their webhooks'
// FailingSince is read in it. It sends no notification when it claims
// every delivery: nobody else has anything to claim.
func (s *Store) EnqueueAndClaim(ctx context.Context, em *webhook.Emission, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if err := ctx.Err(); err != nil || len(em.Hooks) == 0 {
		return nil, err
	}
	leased := make([]bool, len(em.Hooks))
	n := 0
	for i, h := range em.Hooks {
		if n < max && !h.Ordered {
			leased[i] = true
			n++
		}
	}
	if n == 0 {
		return nil, s.EnqueueEvent(ctx, em)
	}
	var failing map[string]time.Time
	e := enqueued{em: em, leased: leased, until: now.Add(lease), failing: &failing}
	if err := s.enqueues.do(context.WithoutCancel(ctx), []enqueued{e}, s.enqueueBatch); err != nil {
		return nil, err
	}
	cs := make([]webhook.Claim, 0, n)
	for i, h := range em.Hooks {
		if leased[i] {
			var at *time.Time
			if t, ok := failing[h.ID]; ok {
				at = &t
			}
			cs = append(cs, em.Claim(i, 1, at))
		}
	}
	return cs, nil
}

// enqueued is what one call enqueues: deliveries or an emission.
type enqueued struct {
	ds []*webhook.Delivery
	em *webhook.Emission
	// leased, for EnqueueAndClaim, holds the emission's deliveries to
	// insert claimed, leased until until; failing then receives the
	// FailingSince of the webhooks that have one.
	leased  []bool
	until   time.Time
	failing *map[string]time.Time
}

func (e *enqueued) len() int {
	if e.em != nil {
		return len(e.em.Hooks)
	}
	return len(e.ds)
}

func (s *Store) enqueueBatch(ctx context.Context, calls []*batchCall[enqueued]) {
	if len(calls) == 1 {
		calls[0].err = enqueue(ctx, s.pool, s, calls[0].in)
		return
	}
	var all []enqueued
	for _, c := range calls {
		all = append(all, c.in...)
	}
	err := enqueue(ctx, s.pool, s, all)
	if errors.Is(err, webhook.ErrNotFound) || errors.Is(err, webhook.ErrConflict) {
		for _, c := range calls {
			c.err = enqueue(ctx, s.pool, s, c.in)
		}
		return
	}
	for _, c := range calls {
		c.err = err
	}
}

// enqueue writes es through q in one statement. Deliveries that share
// their body bytes (Emit's deliveries of one event), and their event's
// other fields, are stored with one event row, as an emission is.
//
// Through the pool, the statement follows sqlPlanLookups in one pipeline;
// in a caller's transaction (TxOutbox) it goes alone, leaving the
// transaction's settings as they are.
func enqueue(ctx context.Context, q querier, s *Store, es []enqueued) error {
	args, n := enqueueArgs(es, s.channel)
	if n == 0 {
		return ctx.Err()
	}
	var (
		v       int64
		err     error
		fsHooks []string
		fsAt    []time.Time
	)
	if q == querier(s.pool) {
		var b pgx.Batch
		b.Queue(sqlPlanEnqueue, s.schema)
		b.Queue(s.sql.enqueue, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&v, nil, &fsHooks, &fsAt) })
		err = s.pool.SendBatch(ctx, &b).Close()
	} else {
		err = q.QueryRow(ctx, s.sql.enqueueTx, args...).Scan(&v, nil, &fsHooks, &fsAt)
	}
	if err == nil {
		s.hooks.sawVersion(v)
		var failing map[string]time.Time
		for i, h := range fsHooks {
			if failing == nil {
				failing = make(map[string]time.Time, len(fsHooks))
			}
			failing[h] = fsAt[i].UTC()
		}
		for i := range es {
			if es[i].failing != nil {
				*es[i].failing = failing
			}
		}
	}
	return enqueueError(n, err)
}

// enqueueArgs returns sqlEnqueue's arguments, and how many deliveries
// they hold.
func enqueueArgs(es []enqueued, channel string) ([]any, int) {
	type eventKey struct {
		body              *byte
		size              int
		user, typ, server string
		created           int64
	}
	n := 0
	for i := range es {
		n += es[i].len()
	}
	var (
		events  map[eventKey]int32
		users   = make([]string, 0, len(es))
		types   = make([]string, 0, len(es))
		servers = make([]string, 0, len(es))
		created = make([]time.Time, 0, len(es))
		bodies  = make([][]byte, 0, len(es))
		ids     = make([][16]byte, 0, n)
		hooks   = make([]string, 0, n)
		evs     = make([]int32, 0, n)
		due     = make([]time.Time, 0, n)
		leased  = make([]*time.Time, 0, n) // nil: not claimed
	)
	event := func(user string, typ webhook.Event, server string, at time.Time, body []byte) int32 {
		if body == nil {
			body = []byte{} // the column is NOT NULL
		}
		users, types, servers = append(users, user), append(types, string(typ)), append(servers, server)
		created, bodies = append(created, at), append(bodies, body)
		return int32(len(users))
	}
	for i := range es {
		if em := es[i].em; em != nil {
			// One event a user (Emit's hooks all have one).
			var ev int32
			user := ""
			for j, h := range em.Hooks {
				if ev == 0 || h.UserID != user {
					user = h.UserID
					ev = event(user, em.Type, em.Server, em.CreatedAt, em.Body)
				}
				ids, hooks = append(ids, em.IDs[j]), append(hooks, h.ID)
				evs, due = append(evs, ev), append(due, em.NextAttemptAt)
				var until *time.Time
				if es[i].leased != nil && es[i].leased[j] {
					until = &es[i].until
				}
				leased = append(leased, until)
			}
			continue
		}
		for _, d := range es[i].ds {
			k := eventKey{size: len(d.Body), user: d.UserID, typ: string(d.Type), server: d.Server, created: d.CreatedAt.UnixNano()}
			if len(d.Body) > 0 {
				k.body = &d.Body[0]
			}
			if events == nil {
				events = make(map[eventKey]int32)
			}
			ev, ok := events[k]
			if !ok {
				ev = event(d.UserID, d.Type, d.Server, d.CreatedAt, d.Body)
				events[k] = ev
			}
			ids, hooks = append(ids, d.ID), append(hooks, d.HookID)
			evs, due = append(evs, ev), append(due, d.NextAttemptAt)
			leased = append(leased, nil)
		}
	}
	return []any{users, types, servers, created, bodies, ids, hooks, evs, due, channel, leased}, n
}

// enqueueError maps the error of sqlEnqueue.
func enqueueError(n int, err error) error {
	switch pgCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("pgstore: enqueueing %d deliveries: %w", n, err)
		}
		return nil
	case codeForeignKeyViolation:
		return fmt.Errorf("webhook: enqueueing %d deliveries: a webhook does not exist: %w", n, webhook.ErrNotFound)
	case codeUniqueViolation:
		return fmt.Errorf("webhook: enqueueing %d deliveries: a delivery ID exists: %w", n, webhook.ErrConflict)
	default:
		return fmt.Errorf("pgstore: enqueueing %d deliveries: %w", n, err)
	}
}

// Claim implements [webhook.Queue] in one statement. Concurrent claims,
// from this process or others, skip each other's rows instead of waiting.
// A Claim's Hook has a current FailingSince but no LatestSentAt or
// LatestStatus; claims of one webhook share it.
func (s *Store) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if max <= 0 {
		return nil, ctx.Err()
	}
	var b pgx.Batch
	b.Queue(sqlPlanClaim)
	b.Queue(s.sql.claimAsync, now, max, now.Add(lease))
	br := s.pool.SendBatch(ctx, &b)
	_, err := br.Exec()
	var cs []webhook.Claim
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			cs, err = s.scanClaims(rows, max)
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: claiming deliveries: %w", err)
	}
	return cs, nil
}

// scanClaims reads the rows of sqlClaim and closes them.
func (s *Store) scanClaims(rows pgx.Rows, max int) ([]webhook.Claim, error) {
	defer rows.Close()
	var (
		out     []webhook.Claim
		hooks   = map[string]*webhook.Webhook{}
		version int64
	)
	for rows.Next() {
		var (
			c       webhook.Claim
			d       = &c.Delivery
			id      [16]byte
			typ     string
			attempt int32
			status  int32
			lastAt  *time.Time
			failing *time.Time
			h       webhook.Webhook
			events  []string
			prev    []string
			expires []time.Time
		)
		if err := rows.Scan(&id, &d.UserID, &typ, &d.Server, &d.CreatedAt, &d.Body,
			&attempt, &d.NextAttemptAt, &lastAt, &status, &d.LastError, &c.Lease,
			&h.ID, &h.UserID, &h.Name, &events, &h.URL, &h.Secret, &h.Active,
			&h.SigningSecret, &prev, &expires, &h.Ordered, &failing, &version); err != nil {
			return nil, fmt.Errorf("pgstore: claiming deliveries: %w", err)
		}
		d.ID, d.HookID, d.Type = uuid.UUID(id), h.ID, webhook.Event(typ)
		d.State, d.Attempts, d.LastStatus = webhook.StatePending, int(attempt), int(status)
		d.CreatedAt, d.NextAttemptAt = d.CreatedAt.UTC(), d.NextAttemptAt.UTC()
		if lastAt != nil {
			d.LastAttemptAt = lastAt.UTC()
		}
		hook, ok := hooks[h.ID]
		if !ok {
			h.On = toEvents(events)
			h.FailingSince = utcPtr(failing)
			h.PreviousSigningSecrets = joinPrevious(prev, expires)
			hook = &h
			hooks[h.ID] = hook
		}
		c.Hook = hook
		if out == nil {
			out = make([]webhook.Claim, 0, max)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: claiming deliveries: %w", err)
	}
	if version != 0 {
		s.hooks.sawVersion(version)
	}
	return out, nil
}

// Settle implements [webhook.Queue] in one statement, whatever the number
// of results; concurrent calls (a Dispatcher's workers each settle their
// own delivery) are merged into one statement, and so one commit, while
// an earlier one is running. A webhook's latest attempt is the one with
// the latest Attempt.At, whatever the order results are settled in. Once
// its results are sent to the database, Settle is not interrupted by ctx.
func (s *Store) Settle(ctx context.Context, rs []webhook.Result) error {
	if err := ctx.Err(); err != nil || len(rs) == 0 {
		return err
	}
	if err := checkResults(rs); err != nil {
		return err
	}
	return s.settles.do(context.WithoutCancel(ctx), rs, s.settleBatch)
}

// checkResults refuses results of no known state.
func checkResults(rs []webhook.Result) error {
	var invalid []error
	for i := range rs {
		switch r := &rs[i]; int16(r.State) {
		case statePending, stateDelivered, stateFailed:
		default:
			if !r.Release {
				invalid = append(invalid, fmt.Errorf("webhook: settling delivery %s: state %v: %w", r.ID, r.State, webhook.ErrInvalid))
			}
		}
	}
	return errors.Join(invalid...)
}

// settleBatch settles the results of several calls in one statement and
// sets each call's error.
func (s *Store) settleBatch(ctx context.Context, calls []*batchCall[webhook.Result]) {
	n := 0
	for _, c := range calls {
		n += len(c.in)
	}
	sa := newSettleArgs(n)
	for _, c := range calls {
		sa.add(c.in)
	}
	var lost []int64
	err := retryDeadlock(func() error {
		var b pgx.Batch
		b.Queue(sqlPlanLookups)
		b.Queue(s.sql.settle, sa.args()...).Query(func(rows pgx.Rows) error {
			var err error
			lost, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
		return s.pool.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		for _, c := range calls {
			c.err = fmt.Errorf("pgstore: settling %d results: %w", len(c.in), err)
		}
		return
	}
	// lost holds positions counted from 1, in order: hand each to its call.
	first := 1
	for _, c := range calls {
		c.err = lostError(c.in, lost, first)
		first += len(c.in)
	}
}

// lostError reports the results of rs (at positions first, first+1, ...
// of a batch) that lost lists, by position, as refused.
func lostError(rs []webhook.Result, lost []int64, first int) error {
	var errs []error
	for _, p := range lost {
		if i := int(p) - first; i >= 0 && i < len(rs) {
			errs = append(errs, fmt.Errorf("webhook: delivery %s: %w", rs[i].ID, webhook.ErrLeaseLost))
		}
	}
	return errors.Join(errs...)
}

// settleArgs are sqlSettle's arrays.
type settleArgs struct {
	ids    [][16]byte
	leases []int64
	states []int16
	next   []time.Time
	status []int32
	errs   []string
	at     []time.Time
	dur    []int64
	resp   [][]byte
	rel    []bool
}

func newSettleArgs(n int) *settleArgs {
	return &settleArgs{
		ids: make([][16]byte, 0, n), leases: make([]int64, 0, n), states: make([]int16, 0, n),
		next: make([]time.Time, 0, n), status: make([]int32, 0, n), errs: make([]string, 0, n),
		at: make([]time.Time, 0, n), dur: make([]int64, 0, n), resp: make([][]byte, 0, n), rel: make([]bool, 0, n),
	}
}

func (a *settleArgs) add(rs []webhook.Result) {
	for i := range rs {
		r := &rs[i]
		a.ids, a.leases, a.states = append(a.ids, r.ID), append(a.leases, r.Lease), append(a.states, int16(r.State))
		a.next, a.at = append(a.next, r.NextAttemptAt), append(a.at, r.Attempt.At)
		a.status, a.errs = append(a.status, int32(r.Attempt.Status)), append(a.errs, r.Attempt.Error)
		a.dur, a.rel = append(a.dur, r.Attempt.Duration.Microseconds()), append(a.rel, r.Release)
		body := r.Attempt.Response
		a.resp = append(a.resp, append([]byte{}, body[:min(len(body), webhook.MaxResponseRecord)]...))
	}
}

func (a *settleArgs) args() []any {
	return []any{a.ids, a.leases, a.states, a.next, a.status, a.errs, a.at, a.dur, a.resp, a.rel}
}

// SettleAndClaim implements [webhook.SettleClaimer]: the settle and the
// claim statements go in one round trip and one transaction, the claim
// seeing the settled results. Once its results are sent to the database,
// it is not interrupted by ctx.
func (s *Store) SettleAndClaim(ctx context.Context, rs []webhook.Result, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if max <= 0 {
		return nil, s.Settle(ctx, rs)
	}
	if len(rs) == 0 {
		return s.Claim(ctx, now, max, lease)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkResults(rs); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	sa := newSettleArgs(len(rs))
	sa.add(rs)
	var (
		lost []int64
		cs   []webhook.Claim
	)
	err := retryDeadlock(func() error {
		var b pgx.Batch
		b.Queue(sqlPlanLookups)
		b.Queue(s.sql.settle, sa.args()...)
		b.Queue(sqlPlanClaim)
		b.Queue(s.sql.claim, now, max, now.Add(lease))
		br := s.pool.SendBatch(ctx, &b)
		_, err := br.Exec()
		var rows pgx.Rows
		if err == nil {
			rows, err = br.Query()
		}
		if err == nil {
			lost, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		if err != nil {
			_ = br.Close()
			return fmt.Errorf("pgstore: settling %d results: %w", len(rs), err)
		}
		if _, err = br.Exec(); err == nil {
			rows, err = br.Query()
		}
		if err == nil {
			cs, err = s.scanClaims(rows, max)
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pgstore: settling and claiming: %w", cerr)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return cs, lostError(rs, lost, 1)
}

// maxDeadlockRetries bounds how many times retryDeadlock runs a
// transaction again.
const maxDeadlockRetries = 3

// retryDeadlock runs tx, a whole transaction, and runs it again (up to
// maxDeadlockRetries times) while PostgreSQL aborts it as a deadlock's
// victim. A settle locks its webhooks' status rows in ID order, and
// concurrent settles of this store cannot deadlock on those; but a
// transaction of the application's, or one we did not foresee (a settle
// of TestMultiInstance was aborted so once, under load), can close a
// cycle, which PostgreSQL breaks by aborting one transaction whole. Run
// again, the settle applies as if it had waited. Given up, its results
// are not applied: their leases lapse and the attempts are made again.
func retryDeadlock(tx func() error) error {
	err := tx()
	for i := 0; i < maxDeadlockRetries && pgCode(err) == codeDeadlockDetected; i++ {
		err = tx()
	}
	return err
}

// GetDelivery implements [webhook.Queue].
func (s *Store) GetDelivery(ctx context.Context, id uuid.UUID) (*webhook.Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, s.sql.getDelivery, [16]byte(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("delivery", id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading delivery: %w", err)
	}
	return d, nil
}

// scanDelivery reads a row of deliverySelect.
func scanDelivery(row pgx.Row) (*webhook.Delivery, error) {
	var (
		d       webhook.Delivery
		did     [16]byte
		typ     string
		state   int16
		attempt int32
		status  int32
		lastAt  *time.Time
	)
	if err := row.Scan(&did, &d.HookID, &d.UserID, &typ, &d.Server,
		&d.CreatedAt, &d.Body, &state, &attempt, &d.NextAttemptAt, &lastAt, &status, &d.LastError); err != nil {
		return nil, err
	}
	d.ID, d.Type = uuid.UUID(did), webhook.Event(typ)
	d.State, d.Attempts, d.LastStatus = webhook.State(state), int(attempt), int(status)
	d.CreatedAt, d.NextAttemptAt = d.CreatedAt.UTC(), d.NextAttemptAt.UTC()
	if lastAt != nil {
		d.LastAttemptAt = lastAt.UTC()
	}
	return &d, nil
}

// Prune deletes the deliveries that were delivered or failed more than
// [Config.Retention] before now, and returns how many it deleted. Pending
// deliveries are never pruned. It deletes in batches of a few thousand
// rows, each its own transaction, so it never holds many locks for long;
// when ctx ends it stops, and returns what it deleted so far with the
// error. Concurrent calls, from any process, take turns. A webhook's
// LatestSentAt and LatestStatus survive the pruning of its deliveries.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	before := now.Add(-s.retention)
	var total int64
	for {
		var n int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, sqlLockPrune, s.schema); err != nil {
				return err
			}
			return tx.QueryRow(ctx, s.sql.prune, before, pruneBatch).Scan(&n)
		})
		if err != nil {
			return total, fmt.Errorf("pgstore: pruning deliveries: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
