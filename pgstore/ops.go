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
const sqlListDeliveries = `
SELECT ` + deliveryColumns + ` FROM ${s}fedihook_deliveries
WHERE hook_id = $1 AND ($2::smallint = 0 OR state = $2)
	AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5`

const sqlListAttempts = `
SELECT at, duration_us, status, error, response, retry FROM ${s}fedihook_attempts
WHERE delivery_id = $1 ORDER BY id`

const sqlDeliveryExists = `SELECT EXISTS (SELECT FROM ${s}fedihook_deliveries WHERE id = $1)`

// redeliverSet starts a new attempt series: pending, due at $2, no
// attempt yet, no lease (a stale holder's result is refused).
const redeliverSet = `
SET state = 1, attempts = 0, next_attempt_at = $2, available_at = $2,
	leased = false, finished_at = NULL`

const sqlRedeliver = `
UPDATE ${s}fedihook_deliveries d ` + redeliverSet + `
WHERE id = $1 AND NOT (leased AND available_at > $2)`

const sqlRecoverFailed = `
UPDATE ${s}fedihook_deliveries d ` + redeliverSet + `
FROM (
	SELECT id FROM ${s}fedihook_deliveries
	WHERE hook_id = $1 AND state = 3 AND last_attempt_at >= $3
	ORDER BY last_attempt_at
	LIMIT $4
	FOR UPDATE SKIP LOCKED
) AS f
WHERE d.id = f.id`

const sqlQueueStats = `SELECT count(*), min(next_attempt_at) FROM ${s}fedihook_deliveries WHERE state = 1`

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
	tag, err := s.pool.Exec(ctx, s.sql.redeliver, [16]byte(id), now)
	if err != nil {
		return fmt.Errorf("pgstore: redelivering: %w", err)
	}
	if tag.RowsAffected() == 1 {
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
	tag, err := s.pool.Exec(ctx, s.sql.recoverFailed, hookID, now, since, limit)
	if err != nil {
		return 0, fmt.Errorf("pgstore: recovering failed deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
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
