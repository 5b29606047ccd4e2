package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
)

var (
	_ webhook.History       = (*Store)(nil)
	_ webhook.Redeliverer   = (*Store)(nil)
	_ webhook.StatsReporter = (*Store)(nil)
)

// listDeliveriesSQL reads a page of the deliveries of webhook ?1, newest
// first: those before the cursor (?2, ?3) = (created_at, id), in the
// state ?4 unless it is 0, at most ?5. They are the page's worth read
// from a range of webhook_deliveries_hook, and those of the unlisted
// deliveries (see listing.go) that qualify, in one statement so that
// both are read from one snapshot of the database.
const listDeliveriesSQL = `SELECT ` + deliveryColumns + `
	FROM webhook_deliveries d
	JOIN webhook_hooks h ON h.pk = d.hook_pk
	JOIN webhook_payloads p ON p.pk = d.payload_pk
	WHERE d.pk IN (
		SELECT pk FROM (
			SELECT pk FROM webhook_deliveries
			WHERE hook_pk = (SELECT pk FROM webhook_hooks WHERE id = ?1) AND listed = 1
				AND (created_at, id) < (?2, ?3) AND (?4 = 0 OR state = ?4)
			ORDER BY created_at DESC, id DESC
			LIMIT ?5)
		UNION ALL
		SELECT pk FROM webhook_deliveries
		WHERE pk > (SELECT upto FROM webhook_listed WHERE id = 1) AND listed = 0
			AND hook_pk = (SELECT pk FROM webhook_hooks WHERE id = ?1)
			AND (created_at, id) < (?2, ?3) AND (?4 = 0 OR state = ?4))
	ORDER BY d.created_at DESC, d.id DESC
	LIMIT ?5`

// ListDeliveries implements [webhook.History]: a page of a webhook's
// deliveries, newest (by CreatedAt, then ID) first. Cursors are those of
// [webhook.EncodeCursor], which keep CreatedAt to the millisecond, as the
// Dispatcher makes it.
func (s *Store) ListDeliveries(ctx context.Context, q webhook.DeliveryQuery) (*webhook.DeliveryPage, error) {
	limit, err := webhook.CheckQuery(q)
	if err != nil {
		return nil, err
	}
	before, beforeID := int64(math.MaxInt64), bytesOf(0xff)
	if q.Cursor != "" {
		created, id, err := webhook.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		before, beforeID = nanos(created), id[:]
	}
	var state int
	if q.State != 0 {
		state, _ = toState(q.State)
	}
	rows, err := s.db.QueryContext(ctx, listDeliveriesSQL, q.HookID, before, beforeID, state, limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
	}
	defer rows.Close()
	page := &webhook.DeliveryPage{Deliveries: []*webhook.Delivery{}}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
		}
		page.Deliveries = append(page.Deliveries, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
	}
	if len(page.Deliveries) > limit {
		page.Deliveries = page.Deliveries[:limit]
		last := page.Deliveries[limit-1]
		page.Next = webhook.EncodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

func bytesOf(b byte) []byte {
	id := make([]byte, 16)
	for i := range id {
		id[i] = b
	}
	return id
}

// attemptsOfSQL finds a delivery by its key in webhook_deliveries_id
// (see eventIDs.key), for ListAttempts.
const attemptsOfSQL = `SELECT pk FROM webhook_deliveries WHERE coalesce(seq, id) = ?`

// redeliverSQL finds a delivery by its key, for Redeliver.
const redeliverSQL = `SELECT pk, hook_pk, state, ordered FROM webhook_deliveries WHERE coalesce(seq, id) = ?`

// ListAttempts implements [webhook.History]: the attempts of a delivery,
// oldest first.
func (s *Store) ListAttempts(ctx context.Context, id uuid.UUID) ([]webhook.Attempt, error) {
	ids, err := s.eventIDs(ctx, runner{s: s})
	if err != nil {
		return nil, err
	}
	var pk int64
	err = s.db.QueryRowContext(ctx, attemptsOfSQL, ids.key(id)).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("delivery", id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list attempts: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at, duration, status, error, response, retry
		FROM webhook_attempts WHERE delivery_pk = ? ORDER BY pk`, pk)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list attempts: %w", err)
	}
	defer rows.Close()
	out := []webhook.Attempt{}
	for rows.Next() {
		var (
			a        webhook.Attempt
			at, dur  int64
			response []byte
		)
		if err := rows.Scan(&at, &dur, &a.Status, &a.Error, &response, &a.Retry); err != nil {
			return nil, fmt.Errorf("sqlitestore: list attempts: %w", err)
		}
		a.At, a.Duration = fromNanos(at), time.Duration(dur)
		if len(response) > 0 {
			a.Response = response
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list attempts: %w", err)
	}
	return out, nil
}

// redeliverSet starts a new attempt series: pending, due at now (the
// first parameter), no attempt made, the lease given up. The attempts,
// body, ID and createdAt stay; a held delivery stays held.
const redeliverSet = `state = 1, attempts = 0, due_at = ?1, run_at = CASE WHEN held THEN run_at ELSE ?1 END,
	lease = -abs(lease), finished_at = NULL`

// Redeliver implements [webhook.Redeliverer]. A delivery under a live
// lease (claimed, lease not expired at now) is left alone with an error
// wrapping [webhook.ErrLeaseLost]. A pending delivery of an ordered
// webhook keeps its place in the webhook's order; a finished one goes to
// its end.
func (s *Store) Redeliver(ctx context.Context, id uuid.UUID, now time.Time) error {
	return s.write(ctx, "redeliver", func(r runner) error {
		var (
			pk, hookPK int64
			state      int
			ordered    bool
		)
		ids, err := s.eventIDs(ctx, r)
		if err != nil {
			return err
		}
		err = r.queryRow(ctx, redeliverSQL, ids.key(id)).
			Scan(&pk, &hookPK, &state, &ordered)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("delivery", id.String())
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: redeliver: %w", err)
		}
		n := nanos(now)
		res, err := r.exec(ctx, `UPDATE webhook_deliveries SET `+redeliverSet+`
			WHERE pk = ?2 AND NOT (state = 1 AND lease > 0 AND run_at > ?1)`, n, pk)
		if err != nil {
			return fmt.Errorf("sqlitestore: redeliver: %w", err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlitestore: redeliver: %w", err)
		}
		if changed == 0 {
			return fmt.Errorf("webhook: delivery %s is in flight: %w", id, webhook.ErrLeaseLost)
		}
		if ordered && state != statePending {
			if err := requeueLast(ctx, r, pk, hookPK); err != nil {
				return fmt.Errorf("sqlitestore: redeliver: %w", err)
			}
		}
		return nil
	})
}

// requeueLastSQL gives delivery ?1 of the ordered webhook ?2 the highest
// pk, held if another delivery of the webhook is pending.
const requeueLastSQL = `UPDATE webhook_deliveries SET pk = (SELECT max(pk) + 1 FROM webhook_deliveries),
		held = EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.hook_pk = ?2 AND d.state = 1 AND d.ordered = 1 AND d.pk <> ?1)
	WHERE pk = ?1 RETURNING pk`

// requeueLast moves delivery pk of the ordered webhook hookPK, made
// pending again after it finished, to the end of the webhook's order: it
// takes a new pk, the highest, and waits held behind the webhook's head,
// if there is one. Its attempts follow it.
func requeueLast(ctx context.Context, r runner, pk, hookPK int64) error {
	var newPK int64
	err := r.queryRow(ctx, requeueLastSQL, pk, hookPK).Scan(&newPK)
	if err != nil {
		return err
	}
	if _, err := r.exec(ctx, `UPDATE webhook_deliveries SET run_at = `+heldRunAt+` WHERE pk = ? AND held`, newPK); err != nil {
		return err
	}
	_, err = r.exec(ctx, `UPDATE webhook_attempts SET delivery_pk = ? WHERE delivery_pk = ?`, newPK, pk)
	return err
}

// RecoverFailed implements [webhook.Redeliverer]: in one statement, or,
// for an ordered webhook, one per delivery, each going to the end of the
// webhook's order, oldest last attempt first.
func (s *Store) RecoverFailed(ctx context.Context, hookID string, since, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, invalidf("RecoverFailed: limit must be >= 1, got %d", limit)
	}
	var n int64
	err := s.write(ctx, "recover failed", func(r runner) error {
		var (
			hookPK  int64
			ordered bool
		)
		err := r.queryRow(ctx, `SELECT pk, ordered FROM webhook_hooks WHERE id = ?`, hookID).Scan(&hookPK, &ordered)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no webhook, no failed deliveries
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: recover failed: %w", err)
		}
		const failedSQL = `SELECT pk FROM webhook_deliveries
			WHERE hook_pk = ?2 AND state = 3 AND last_attempt_at >= ?3
			ORDER BY last_attempt_at LIMIT ?4`
		if !ordered {
			res, err := r.exec(ctx, `UPDATE webhook_deliveries SET `+redeliverSet+`
				WHERE pk IN (`+failedSQL+`)`, nanos(now), hookPK, nanos(since), limit)
			if err != nil {
				return fmt.Errorf("sqlitestore: recover failed: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		}
		pks, err := queryPKs(ctx, r, failedSQL, nanos(now), hookPK, nanos(since), limit)
		if err != nil {
			return fmt.Errorf("sqlitestore: recover failed: %w", err)
		}
		for _, pk := range pks {
			if _, err := r.exec(ctx, `UPDATE webhook_deliveries SET `+redeliverSet+` WHERE pk = ?2`, nanos(now), pk); err != nil {
				return fmt.Errorf("sqlitestore: recover failed: %w", err)
			}
			if err := requeueLast(ctx, r, pk, hookPK); err != nil {
				return fmt.Errorf("sqlitestore: recover failed: %w", err)
			}
			n++
		}
		return nil
	})
	return int(n), err
}

// queryPKs returns the first column of query's rows.
func queryPKs(ctx context.Context, r runner, query string, args ...any) ([]int64, error) {
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pks []int64
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			return nil, err
		}
		pks = append(pks, pk)
	}
	return pks, rows.Err()
}

// QueueStats implements [webhook.StatsReporter]. It counts the pending
// deliveries in an index of them: its cost grows with the queue's length
// (some milliseconds per hundred thousand).
func (s *Store) QueueStats(ctx context.Context) (webhook.QueueStats, error) {
	var (
		st     webhook.QueueStats
		oldest sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT count(*), min(due_at) FROM webhook_deliveries WHERE state = 1`).Scan(&st.Pending, &oldest)
	if err != nil {
		return webhook.QueueStats{}, fmt.Errorf("sqlitestore: queue stats: %w", err)
	}
	if oldest.Valid {
		st.OldestDue = fromNanos(oldest.Int64)
	}
	return st, nil
}
