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

// sqlEnqueue inserts a batch from parallel arrays and, in the same
// statement and so the same transaction, notifies the channel once. The
// notification is only delivered if the transaction commits.
const sqlEnqueue = `
WITH ins AS (
	INSERT INTO ${s}fedihook_deliveries
		(id, hook_id, user_id, type, server, created_at, body, state, next_attempt_at, available_at, ordered)
	SELECT t.id, t.hook_id, t.user_id, t.type, t.server, t.created_at, t.body, 1, t.due, t.due, coalesce(h.ordered, false)
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bytea[], $8::timestamptz[])
		WITH ORDINALITY AS t (id, hook_id, user_id, type, server, created_at, body, due, ord)
	LEFT JOIN ${s}fedihook_hooks h ON h.id = t.hook_id
	ORDER BY t.ord -- seq follows the order of ds
	RETURNING 1
)
SELECT pg_notify($9, '') FROM (SELECT FROM ins LIMIT 1) AS any_row`

// sqlClaim locks up to $2 due rows, skipping the ones other claimers
// hold, leases them until $3 and returns them with their webhooks,
// earliest due first. Of an ordered webhook, only the head (its earliest
// enqueued pending delivery) may be taken.
const sqlClaim = `
WITH c AS (
	SELECT d.id, d.available_at FROM ${s}fedihook_deliveries d
	WHERE d.state = 1 AND d.available_at <= $1
		AND (NOT d.ordered OR NOT EXISTS (
			SELECT FROM ${s}fedihook_deliveries e
			WHERE e.hook_id = d.hook_id AND e.state = 1 AND e.ordered AND e.seq < d.seq))
	ORDER BY d.available_at
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), u AS (
	UPDATE ${s}fedihook_deliveries d
	SET lease = d.lease + 1, leased = true, available_at = $3
	FROM c
	WHERE d.id = c.id
	RETURNING d.id, d.hook_id, d.user_id, d.type, d.server, d.created_at, d.body,
		d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.lease, c.available_at AS due
)
SELECT u.id, u.user_id, u.type, u.server, u.created_at, u.body,
	u.attempts, u.next_attempt_at, u.last_attempt_at, u.last_status, u.last_error, u.lease,
	h.id, h.user_id, h.name, h.events, h.url, h.secret, h.active,
	h.signing_secret, h.previous_secrets, h.previous_expires, h.ordered, h.failing_since
FROM u JOIN ${s}fedihook_hooks h ON h.id = u.hook_id
ORDER BY u.due, u.id`

// sqlSettle applies a batch of results given as parallel arrays, each
// only if its lease is still the delivery's, and returns the positions
// (from 1) of the results refused for a lost lease; deliveries that no
// longer exist are skipped silently. A release ($10) only puts the
// delivery back, due at next_at. An attempt is recorded in the delivery's
// row and in fedihook_attempts; the webhook's latest attempt is read from
// the deliveries (see hookSelect), so that settling does not write to a
// busy webhook's row. Only FailingSince is kept in the webhook's row, and
// written only when it changes (the first failure after a success, or a
// success after failures), after locking those rows in ID order.
const sqlSettle = `
WITH r AS (
	SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::int[], $6::text[],
			$7::timestamptz[], $8::bigint[], $9::bytea[], $10::bool[])
		WITH ORDINALITY AS r (id, lease, state, next_at, status, error, at, dur, resp, release, ord)
), u AS (
	UPDATE ${s}fedihook_deliveries d SET
		state = CASE WHEN r.release THEN 1 ELSE r.state END,
		attempts = d.attempts + CASE WHEN r.release THEN 0 ELSE 1 END,
		next_attempt_at = CASE WHEN r.release OR r.state = 1 THEN r.next_at ELSE d.next_attempt_at END,
		available_at = CASE WHEN r.release OR r.state = 1 THEN r.next_at ELSE d.available_at END,
		leased = false,
		last_attempt_at = CASE WHEN r.release THEN d.last_attempt_at ELSE r.at END,
		last_status = CASE WHEN r.release THEN d.last_status ELSE r.status END,
		last_error = CASE WHEN r.release THEN d.last_error ELSE r.error END,
		finished_at = CASE WHEN r.release OR r.state = 1 THEN NULL ELSE r.at END
	FROM r
	WHERE d.id = r.id AND d.lease = r.lease AND d.leased AND d.state = 1
	RETURNING r.ord, d.hook_id
), tried AS (
	SELECT u.hook_id, r.* FROM u JOIN r ON r.ord = u.ord WHERE NOT r.release
), hist AS (
	INSERT INTO ${s}fedihook_attempts (delivery_id, at, duration_us, status, error, response, retry)
	SELECT id, at, dur, status, error, resp, state = 1 FROM tried ORDER BY ord
), last_ok AS (
	SELECT hook_id, max(ord) FILTER (WHERE state = 2) AS ord FROM tried GROUP BY hook_id
), failing AS (
	-- Per webhook: whether the batch has a success, and its first
	-- failure after the last success (or at all).
	SELECT l.hook_id, l.ord IS NOT NULL AS reset,
		(SELECT t.at FROM tried t WHERE t.hook_id = l.hook_id AND t.state <> 2 AND t.ord > coalesce(l.ord, 0)
			ORDER BY t.ord LIMIT 1) AS since
	FROM last_ok l
), lk AS (
	SELECT h.id FROM ${s}fedihook_hooks h JOIN failing f ON f.hook_id = h.id
	WHERE h.failing_since IS DISTINCT FROM (CASE WHEN f.reset THEN f.since ELSE coalesce(h.failing_since, f.since) END)
	ORDER BY h.id
	FOR NO KEY UPDATE OF h
), hooks AS (
	UPDATE ${s}fedihook_hooks h
	SET failing_since = CASE WHEN f.reset THEN f.since ELSE coalesce(h.failing_since, f.since) END
	FROM failing f JOIN lk ON lk.id = f.hook_id
	WHERE h.id = f.hook_id
)
SELECT r.ord FROM r
WHERE NOT EXISTS (SELECT FROM u WHERE u.ord = r.ord)
	AND EXISTS (SELECT FROM ${s}fedihook_deliveries d WHERE d.id = r.id)
ORDER BY r.ord`

const sqlGetDelivery = `
SELECT ` + deliveryColumns + `
FROM ${s}fedihook_deliveries WHERE id = $1`

// deliveryColumns are the columns scanDelivery reads.
const deliveryColumns = `id, hook_id, user_id, type, server, created_at, body,
	state, attempts, next_attempt_at, last_attempt_at, last_status, last_error`

// Prune works in batches, each a transaction that takes the store's
// prune lock (so concurrent Prunes take turns), deletes the batch and
// folds each webhook's latest pruned attempt into its row, so that it
// outlives the deliveries; those webhook rows are locked in ID order,
// after the deliveries, as Settle and DeleteHook do, so none of them can
// deadlock with another.
const sqlLockPrune = `SELECT pg_advisory_xact_lock(hashtextextended('fedihook.prune:' || coalesce(nullif($1, ''), current_schema(), ''), 0))`

const sqlPrune = `
WITH del AS (
	DELETE FROM ${s}fedihook_deliveries d
	USING (
		SELECT id FROM ${s}fedihook_deliveries
		WHERE state <> 1 AND finished_at < $1
		ORDER BY finished_at
		LIMIT $2
	) AS old
	WHERE d.id = old.id
	RETURNING d.hook_id, d.last_attempt_at, d.last_status
), latest AS (
	SELECT DISTINCT ON (hook_id) hook_id, last_attempt_at AS at,
		CASE WHEN last_status = 0 THEN 1 ELSE last_status END AS status
	FROM del
	WHERE last_attempt_at IS NOT NULL
	ORDER BY hook_id, last_attempt_at DESC
), lk AS (
	SELECT h.id FROM ${s}fedihook_hooks h JOIN latest l ON l.hook_id = h.id
	WHERE h.latest_sent_at IS NULL OR h.latest_sent_at < l.at
	ORDER BY h.id
	FOR NO KEY UPDATE OF h
), fold AS (
	UPDATE ${s}fedihook_hooks h SET latest_sent_at = l.at, latest_status = l.status
	FROM latest l JOIN lk ON lk.id = l.hook_id
	WHERE h.id = l.hook_id AND (h.latest_sent_at IS NULL OR h.latest_sent_at < l.at)
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
	return s.enqueues.do(context.WithoutCancel(ctx), ds, s.enqueueBatch)
}

func (s *Store) enqueueBatch(ctx context.Context, calls []*batchCall[*webhook.Delivery]) {
	if len(calls) == 1 {
		calls[0].err = enqueue(ctx, s.pool, s, calls[0].in)
		return
	}
	n := 0
	for _, c := range calls {
		n += len(c.in)
	}
	all := make([]*webhook.Delivery, 0, n)
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

func enqueue(ctx context.Context, q querier, s *Store, ds []*webhook.Delivery) error {
	if len(ds) == 0 {
		return ctx.Err()
	}
	var (
		ids     = make([][16]byte, len(ds))
		hooks   = make([]string, len(ds))
		users   = make([]string, len(ds))
		types   = make([]string, len(ds))
		servers = make([]string, len(ds))
		created = make([]time.Time, len(ds))
		bodies  = make([][]byte, len(ds))
		due     = make([]time.Time, len(ds))
	)
	for i, d := range ds {
		ids[i], hooks[i], users[i], types[i], servers[i] = d.ID, d.HookID, d.UserID, string(d.Type), d.Server
		created[i], due[i] = d.CreatedAt, d.NextAttemptAt
		bodies[i] = d.Body
		if bodies[i] == nil {
			bodies[i] = []byte{} // the column is NOT NULL
		}
	}
	_, err := q.Exec(ctx, s.sql.enqueue, ids, hooks, users, types, servers, created, bodies, due, s.channel)
	switch pgCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("pgstore: enqueueing %d deliveries: %w", len(ds), err)
		}
		return nil
	case codeForeignKeyViolation:
		return fmt.Errorf("webhook: enqueueing %d deliveries: a webhook does not exist: %w", len(ds), webhook.ErrNotFound)
	case codeUniqueViolation:
		return fmt.Errorf("webhook: enqueueing %d deliveries: a delivery ID exists: %w", len(ds), webhook.ErrConflict)
	default:
		return fmt.Errorf("pgstore: enqueueing %d deliveries: %w", len(ds), err)
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
	rows, err := s.pool.Query(ctx, s.sql.claim, now, max, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("pgstore: claiming deliveries: %w", err)
	}
	defer rows.Close()
	var (
		out   []webhook.Claim
		hooks = map[string]*webhook.Webhook{}
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
			&h.SigningSecret, &prev, &expires, &h.Ordered, &failing); err != nil {
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
	var invalid []error
	for i := range rs {
		switch r := &rs[i]; int16(r.State) {
		case statePending, stateDelivered, stateFailed:
		default:
			invalid = append(invalid, fmt.Errorf("webhook: settling delivery %s: state %v: %w", r.ID, r.State, webhook.ErrInvalid))
		}
	}
	if invalid != nil {
		return errors.Join(invalid...)
	}
	return s.settles.do(context.WithoutCancel(ctx), rs, s.settleBatch)
}

// settleBatch settles the results of several calls in one statement and
// sets each call's error.
func (s *Store) settleBatch(ctx context.Context, calls []*batchCall[webhook.Result]) {
	n := 0
	for _, c := range calls {
		n += len(c.in)
	}
	var (
		ids    = make([][16]byte, 0, n)
		leases = make([]int64, 0, n)
		states = make([]int16, 0, n)
		next   = make([]time.Time, 0, n)
		status = make([]int32, 0, n)
		errs   = make([]string, 0, n)
		at     = make([]time.Time, 0, n)
		dur    = make([]int64, 0, n)
		resp   = make([][]byte, 0, n)
		rel    = make([]bool, 0, n)
	)
	for _, c := range calls {
		for i := range c.in {
			r := &c.in[i]
			ids, leases, states = append(ids, r.ID), append(leases, r.Lease), append(states, int16(r.State))
			next, at = append(next, r.NextAttemptAt), append(at, r.Attempt.At)
			status, errs = append(status, int32(r.Attempt.Status)), append(errs, r.Attempt.Error)
			dur, rel = append(dur, r.Attempt.Duration.Microseconds()), append(rel, r.Release)
			body := r.Attempt.Response
			resp = append(resp, append([]byte{}, body[:min(len(body), webhook.MaxResponseRecord)]...))
		}
	}
	var lost []int64
	rows, err := s.pool.Query(ctx, s.sql.settle, ids, leases, states, next, status, errs, at, dur, resp, rel)
	if err == nil {
		lost, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		for _, c := range calls {
			c.err = fmt.Errorf("pgstore: settling %d results: %w", len(c.in), err)
		}
		return
	}
	// lost holds positions counted from 1, in order: hand each to its call.
	first := 1
	for _, c := range calls {
		var cerrs []error
		for len(lost) > 0 && int(lost[0]) < first+len(c.in) {
			id := c.in[int(lost[0])-first].ID
			cerrs = append(cerrs, fmt.Errorf("webhook: delivery %s: %w", id, webhook.ErrLeaseLost))
			lost = lost[1:]
		}
		c.err = errors.Join(cerrs...)
		first += len(c.in)
	}
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

// scanDelivery reads the deliveryColumns.
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
