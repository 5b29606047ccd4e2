package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

var (
	_ webhook.History       = (*Store)(nil)
	_ webhook.Redeliverer   = (*Store)(nil)
	_ webhook.StatsReporter = (*Store)(nil)
)

// sqlListDeliveries reads a page, and one more row to tell whether
// another page follows, through fedihook_deliveries_list_idx.
const sqlListDeliveries = deliverySelect + `
WHERE d.hook_id = $1 AND ($2::smallint = 0 OR d.state = $2)
	AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4::uuid))
ORDER BY d.created_at DESC, d.id DESC
LIMIT $5`

// sqlListAttempts reads the attempts kept in fedihook_attempts, then the
// final one kept in the delivery's row.
const sqlListAttempts = `
SELECT at, duration_us, status, error, response, retry FROM (
	SELECT 0 AS k, id AS n, at, duration_us, status, error, response, retry
	FROM ${s}fedihook_attempts WHERE delivery_id = $1
	UNION ALL
	SELECT 1, 0, last_attempt_at, final_duration_us, last_status, last_error, final_response, false
	FROM ${s}fedihook_deliveries WHERE id = $1 AND final_duration_us IS NOT NULL
) AS a
ORDER BY k, n`

const sqlDeliveryExists = `SELECT EXISTS (SELECT FROM ${s}fedihook_deliveries WHERE id = $1)`

// redeliverFinished moves the finished deliveries of a CTE named "pick"
// (their IDs, locked) back to the queue, due at $2, with no attempt yet
// and their lease counter, so that a stale holder's result is refused;
// their final attempt joins the others in fedihook_attempts.
const redeliverFinished = `
, old AS (
	SELECT d.id, d.final_duration_us, d.final_response FROM ${s}fedihook_deliveries d JOIN pick ON pick.id = d.id
), moved AS (
	UPDATE ${s}fedihook_deliveries d
	SET state = 1, finished_at = NULL, final_duration_us = NULL, final_response = NULL
	FROM old
	WHERE d.id = old.id AND d.state <> 1
	RETURNING d.id, d.hook_id, d.event_id, d.seq, d.ordered, d.lease, d.last_attempt_at, d.last_status, d.last_error,
		old.final_duration_us, old.final_response
), hist AS (
	INSERT INTO ${s}fedihook_attempts (delivery_id, at, duration_us, status, error, response, retry)
	SELECT id, last_attempt_at, final_duration_us, last_status, last_error, coalesce(final_response, ''), false
	FROM moved WHERE final_duration_us IS NOT NULL AND last_attempt_at IS NOT NULL
), queued AS (
	INSERT INTO ${s}fedihook_queue (id, hook_id, event_id, seq, ordered, due, lease, last_attempt_at, last_status, last_error)
	SELECT id, hook_id, event_id, seq, ordered, $2, lease, last_attempt_at, last_status, last_error FROM moved
)`

// sqlRedeliver redelivers one delivery: a finished one goes back to the
// queue; a pending one not under a live lease starts over, its lease
// freed (a stale holder's result is refused).
const sqlRedeliver = `
WITH pick AS (
	SELECT id FROM ${s}fedihook_deliveries WHERE id = $1 AND state <> 1 FOR UPDATE
)` + redeliverFinished + `, pending AS (
	UPDATE ${s}fedihook_queue SET due = $2, leased_until = NULL, attempts = 0
	WHERE id = $1 AND NOT (leased_until IS NOT NULL AND leased_until > $2)
	RETURNING 1
)
SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM pending)`

const sqlRecoverFailed = `
WITH pick AS (
	SELECT id FROM ${s}fedihook_deliveries
	WHERE hook_id = $1 AND state = 3 AND last_attempt_at >= $3
	ORDER BY last_attempt_at
	LIMIT $4
	FOR UPDATE SKIP LOCKED
)` + redeliverFinished + `
SELECT count(*) FROM moved`

const sqlQueueStats = `SELECT count(*), min(due) FROM ${s}fedihook_queue`

// ListDeliveries implements [webhook.History]: a page of a webhook's
// deliveries, newest first, with the cursors of [webhook.EncodeCursor].
func (s *Store) ListDeliveries(ctx context.Context, q webhook.DeliveryQuery) (*webhook.DeliveryPage, error) {
	limit, err := webhook.CheckQuery(q)
	if err != nil {
		return nil, err
	}
	var after *time.Time
	var afterID [16]byte
	if q.Cursor != "" {
		created, id, err := webhook.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		after, afterID = &created, id
	}
	rows, err := s.pool.Query(ctx, s.sql.listDeliveries, q.HookID, int16(q.State), after, afterID, limit+1)
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing deliveries: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*webhook.Delivery, error) { return scanDelivery(row) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing deliveries: %w", err)
	}
	page := &webhook.DeliveryPage{Deliveries: ds}
	if len(ds) > limit {
		page.Deliveries = ds[:limit]
		last := ds[limit-1]
		page.Next = webhook.EncodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

// ListAttempts implements [webhook.History].
func (s *Store) ListAttempts(ctx context.Context, id uuid.UUID) ([]webhook.Attempt, error) {
	rows, err := s.pool.Query(ctx, s.sql.listAttempts, [16]byte(id))
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing attempts: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (webhook.Attempt, error) {
		var a webhook.Attempt
		var us int64
		var status int32
		err := row.Scan(&a.At, &us, &status, &a.Error, &a.Response, &a.Retry)
		if a.Response == nil {
			a.Response = []byte{}
		}
		a.At, a.Duration, a.Status = a.At.UTC(), time.Duration(us)*time.Microsecond, int(status)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing attempts: %w", err)
	}
	if len(as) == 0 {
		if err := s.mustExist(ctx, id); err != nil {
			return nil, err
		}
	}
	return as, nil
}

func (s *Store) mustExist(ctx context.Context, id uuid.UUID) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, s.sql.deliveryExists, [16]byte(id)).Scan(&ok); err != nil {
		return fmt.Errorf("pgstore: reading delivery: %w", err)
	}
	if !ok {
		return notFound("delivery", id.String())
	}
	return nil
}

// Redeliver implements [webhook.Redeliverer].
func (s *Store) Redeliver(ctx context.Context, id uuid.UUID, now time.Time) error {
	var n int64
	if err := s.pool.QueryRow(ctx, s.sql.redeliver, [16]byte(id), now).Scan(&n); err != nil {
		return fmt.Errorf("pgstore: redelivering: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.mustExist(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("webhook: delivery %s is in flight: %w", id, webhook.ErrLeaseLost)
}

// RecoverFailed implements [webhook.Redeliverer]. Deliveries being
// redelivered concurrently by another caller are skipped.
func (s *Store) RecoverFailed(ctx context.Context, hookID string, since, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalidf("RecoverFailed limit must be >= 1, got %d", limit)
	}
	var n int64
	if err := s.pool.QueryRow(ctx, s.sql.recoverFailed, hookID, now, since, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: recovering failed deliveries: %w", err)
	}
	return int(n), nil
}

// QueueStats implements [webhook.StatsReporter]. It counts the pending
// deliveries, which takes a scan of them: call it every few seconds at
// most.
func (s *Store) QueueStats(ctx context.Context) (webhook.QueueStats, error) {
	var st webhook.QueueStats
	var oldest *time.Time
	if err := s.pool.QueryRow(ctx, s.sql.queueStats).Scan(&st.Pending, &oldest); err != nil {
		return st, fmt.Errorf("pgstore: queue stats: %w", err)
	}
	if oldest != nil {
		st.OldestDue = oldest.UTC()
	}
	return st, nil
}
