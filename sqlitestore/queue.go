package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
)

// Stored delivery states. They are part of the schema, so they are
// spelled out rather than taken from webhook.State.
const (
	statePending   = 1
	stateDelivered = 2
	stateFailed    = 3
)

func toState(s webhook.State) (int, bool) {
	switch s {
	case webhook.StatePending:
		return statePending, true
	case webhook.StateDelivered:
		return stateDelivered, true
	case webhook.StateFailed:
		return stateFailed, true
	}
	return 0, false
}

func fromState(n int) webhook.State {
	switch n {
	case statePending:
		return webhook.StatePending
	case stateDelivered:
		return webhook.StateDelivered
	case stateFailed:
		return webhook.StateFailed
	}
	return webhook.State(0)
}

// Enqueue implements [webhook.Outbox]: the deliveries are inserted in one
// transaction, all or none. A delivery of a webhook that does not exist
// fails the whole call with an error wrapping [webhook.ErrNotFound]; an
// existing delivery ID, with one wrapping [webhook.ErrConflict].
// Deliveries that share their Body bytes (as those of one Emit do) share
// one stored copy.
func (s *Store) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	if len(ds) == 0 {
		return ctx.Err()
	}
	return s.write(ctx, "enqueue", func(q querier) error { return enqueue(ctx, q, ds) })
}

// bodyKey identifies a Body's bytes by where they are, so that the
// deliveries of one Emit store their shared body once.
type bodyKey struct {
	p *byte
	n int
}

func enqueue(ctx context.Context, q querier, ds []*webhook.Delivery) error {
	insPayload, err := q.PrepareContext(ctx, `INSERT INTO webhook_payloads (body) VALUES (?)`)
	if err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	defer insPayload.Close()
	insDelivery, err := q.PrepareContext(ctx, `INSERT OR IGNORE INTO webhook_deliveries
		(id, hook_pk, payload_pk, user_id, type, server, created_at, state, due_at, run_at)
		SELECT ?, pk, ?, ?, ?, ?, ?, 1, ?, ? FROM webhook_hooks WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	defer insDelivery.Close()

	payloads := make(map[bodyKey]int64, 1)
	for _, d := range ds {
		body := d.Body
		if body == nil {
			body = []byte{}
		}
		var key bodyKey
		if len(body) > 0 {
			key = bodyKey{&body[0], len(body)}
		}
		ppk, ok := payloads[key]
		if !ok || key.p == nil {
			res, err := insPayload.ExecContext(ctx, body)
			if err != nil {
				return fmt.Errorf("sqlitestore: enqueue: %w", err)
			}
			if ppk, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlitestore: enqueue: %w", err)
			}
			payloads[key] = ppk
		}
		due := nanos(d.NextAttemptAt)
		res, err := insDelivery.ExecContext(ctx, d.ID[:], ppk, d.UserID, string(d.Type), d.Server,
			nanos(d.CreatedAt), due, due, d.HookID)
		if err != nil {
			return fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
		if n == 1 {
			continue
		}
		// Nothing inserted: the webhook is missing or the ID is taken.
		var exists bool
		if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_hooks WHERE id = ?)`, d.HookID).Scan(&exists); err != nil {
			return fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
		if !exists {
			return notFound("webhook", d.HookID)
		}
		return fmt.Errorf("webhook: delivery %s exists: %w", d.ID, webhook.ErrConflict)
	}
	return nil
}

// claimSQL leases the earliest claimable pending deliveries in one
// statement, which SQLite runs under the database's write lock: two
// claims, from any connections, never take the same row. A claimed row's
// run_at moves to the lease's expiry, when it becomes claimable again
// unless it is settled first.
const claimSQL = `UPDATE webhook_deliveries SET lease = abs(lease) + 1, run_at = ?
	WHERE pk IN (
		SELECT pk FROM webhook_deliveries
		WHERE state = 1 AND run_at <= ?
		ORDER BY run_at, pk LIMIT ?)
	RETURNING pk, id, hook_pk, user_id, type, server, created_at, attempts, due_at, last_status, last_error, lease,
		(SELECT p.body FROM webhook_payloads p WHERE p.pk = webhook_deliveries.payload_pk)`

type claimRow struct {
	pk, hookPK int64
	claim      webhook.Claim
}

// Claim implements [webhook.Queue]. Its lease values count the claims of
// each delivery (1 for the first claim, 2 for the second, ...), so they
// are unique per delivery, not across deliveries. A delivery whose lease
// expired is claimable again from the lease's expiry on, and is ordered
// by that time.
func (s *Store) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if max <= 0 {
		return nil, ctx.Err()
	}
	crs, err := s.claimRows(ctx, now, max, lease)
	if err != nil || len(crs) == 0 {
		return nil, err
	}

	// The webhooks' current records. A webhook deleted since the claim
	// took its deliveries with it, so those claims are dropped; its pk is
	// never reused.
	pks := make([]any, 0, len(crs))
	seen := make(map[int64]bool, len(crs))
	for _, cr := range crs {
		if !seen[cr.hookPK] {
			seen[cr.hookPK] = true
			pks = append(pks, cr.hookPK)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+hookColumns+` FROM webhook_hooks WHERE pk IN (`+inArgs(len(pks))+`)`, pks...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	defer rows.Close()
	hooks := make(map[int64]*webhook.Webhook, len(pks))
	for rows.Next() {
		pk, w, err := scanHook(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: claim: %w", err)
		}
		hooks[pk] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	out := make([]webhook.Claim, 0, len(crs))
	for _, cr := range crs {
		if w := hooks[cr.hookPK]; w != nil {
			cr.claim.Hook = w
			cr.claim.Delivery.HookID = w.ID
			out = append(out, cr.claim)
		}
	}
	return out, nil
}

func (s *Store) claimRows(ctx context.Context, now time.Time, max int, lease time.Duration) ([]claimRow, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	rows, err := s.db.QueryContext(ctx, claimSQL, nanos(now.Add(lease)), nanos(now), max)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	defer rows.Close()
	var crs []claimRow
	for rows.Next() {
		var (
			cr                      claimRow
			d                       = &cr.claim.Delivery
			id                      []byte
			typ                     string
			createdAt, dueAt, lease int64
		)
		if err := rows.Scan(&cr.pk, &id, &cr.hookPK, &d.UserID, &typ, &d.Server, &createdAt,
			&d.Attempts, &dueAt, &d.LastStatus, &d.LastError, &lease, &d.Body); err != nil {
			return nil, fmt.Errorf("sqlitestore: claim: %w", err)
		}
		if d.ID, err = uuid.FromBytes(id); err != nil {
			return nil, fmt.Errorf("sqlitestore: claim: delivery %d: %w", cr.pk, err)
		}
		d.Type = webhook.Event(typ)
		d.CreatedAt = fromNanos(createdAt)
		d.NextAttemptAt = fromNanos(dueAt)
		d.State = webhook.StatePending
		cr.claim.Lease = lease
		crs = append(crs, cr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	// RETURNING gives rows in no particular order; the claim's is the due
	// order.
	slices.SortFunc(crs, func(a, b claimRow) int {
		return cmp.Or(a.claim.Delivery.NextAttemptAt.Compare(b.claim.Delivery.NextAttemptAt), cmp.Compare(a.pk, b.pk))
	})
	return crs, nil
}

// Settle implements [webhook.Queue], in one transaction.
func (s *Store) Settle(ctx context.Context, rs []webhook.Result) error {
	if len(rs) == 0 {
		return ctx.Err()
	}
	for i := range rs {
		if _, ok := toState(rs[i].State); !ok {
			return invalidf("Result.State must be pending, delivered or failed, got %v", rs[i].State)
		}
	}
	var lost []error
	err := s.write(ctx, "settle", func(q querier) error {
		lost = lost[:0]
		return settle(ctx, q, rs, &lost)
	})
	if err != nil {
		return err
	}
	return errors.Join(lost...)
}

type hookStatus struct {
	at     int64
	status int
}

func settle(ctx context.Context, q querier, rs []webhook.Result, lost *[]error) error {
	upd, err := q.PrepareContext(ctx, `UPDATE webhook_deliveries
		SET state = ?, attempts = attempts + 1, due_at = coalesce(?, due_at), run_at = coalesce(?, run_at),
			lease = -lease, last_status = ?, last_error = ?, finished_at = ?
		WHERE id = ? AND lease = ? AND lease > 0
		RETURNING hook_pk`)
	if err != nil {
		return fmt.Errorf("sqlitestore: settle: %w", err)
	}
	defer upd.Close()
	var (
		order []int64
		hooks = make(map[int64]hookStatus)
	)
	for i := range rs {
		r := &rs[i]
		st, _ := toState(r.State)
		var due, finished sql.NullInt64
		if st == statePending {
			due = sql.NullInt64{Int64: nanos(r.NextAttemptAt), Valid: true}
		} else {
			at := r.Attempt.At
			if at.IsZero() {
				at = time.Now()
			}
			finished = sql.NullInt64{Int64: nanos(at), Valid: true}
		}
		var hookPK int64
		err := upd.QueryRowContext(ctx, st, due, due, r.Attempt.Status, r.Attempt.Error, finished, r.ID[:], r.Lease).Scan(&hookPK)
		if errors.Is(err, sql.ErrNoRows) {
			var exists bool
			if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?)`, r.ID[:]).Scan(&exists); err != nil {
				return fmt.Errorf("sqlitestore: settle: %w", err)
			}
			if exists {
				*lost = append(*lost, fmt.Errorf("webhook: delivery %s: %w", r.ID, webhook.ErrLeaseLost))
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: settle: %w", err)
		}
		if _, ok := hooks[hookPK]; !ok {
			order = append(order, hookPK)
		}
		hooks[hookPK] = hookStatus{at: nanos(r.Attempt.At), status: cmp.Or(r.Attempt.Status, 1)}
	}
	for _, pk := range order {
		h := hooks[pk]
		if _, err := q.ExecContext(ctx, `UPDATE webhook_hooks SET latest_sent_at = ?, latest_status = ? WHERE pk = ?`, h.at, h.status, pk); err != nil {
			return fmt.Errorf("sqlitestore: settle: %w", err)
		}
	}
	return nil
}

// GetDelivery implements [webhook.Queue].
func (s *Store) GetDelivery(ctx context.Context, id uuid.UUID) (*webhook.Delivery, error) {
	var (
		d                = &webhook.Delivery{ID: id}
		typ              string
		state            int
		createdAt, dueAt int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT h.id, d.user_id, d.type, d.server, d.created_at, d.state, d.attempts,
			d.due_at, d.last_status, d.last_error, p.body
		FROM webhook_deliveries d
		JOIN webhook_hooks h ON h.pk = d.hook_pk
		JOIN webhook_payloads p ON p.pk = d.payload_pk
		WHERE d.id = ?`, id[:]).Scan(&d.HookID, &d.UserID, &typ, &d.Server, &createdAt, &state, &d.Attempts,
		&dueAt, &d.LastStatus, &d.LastError, &d.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("delivery", id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get delivery: %w", err)
	}
	d.Type = webhook.Event(typ)
	d.CreatedAt = fromNanos(createdAt)
	d.State = fromState(state)
	d.NextAttemptAt = fromNanos(dueAt)
	return d, nil
}

// Prune deletes the deliveries that were delivered or failed longer than
// Config.Retention before now (by the time of their last attempt), and
// the payloads no delivery uses any more. It works in batches of
// Config.PruneBatch deliveries, one transaction each, and returns how many
// deliveries it deleted, also when it fails part-way. Pending deliveries
// are never pruned. Call it now and then, say hourly, from one process.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	cutoff := nanos(now.Add(-s.retention))
	var total int64
	for {
		var n int64
		err := s.write(ctx, "prune", func(q querier) error {
			var err error
			n, err = deleteDeliveries(ctx, q, `DELETE FROM webhook_deliveries WHERE pk IN (
				SELECT pk FROM webhook_deliveries WHERE state <> 1 AND finished_at < ?
				ORDER BY finished_at LIMIT ?) RETURNING payload_pk`, cutoff, s.pruneBatch)
			if err != nil {
				return fmt.Errorf("sqlitestore: prune: %w", err)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(s.pruneBatch) {
			return total, nil
		}
	}
}

// deleteDeliveries runs query, a DELETE of deliveries RETURNING their
// payload_pk, then deletes the payloads left unused. It returns how many
// deliveries were deleted.
func deleteDeliveries(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	var (
		n    int64
		pks  []any
		seen = make(map[int64]bool)
	)
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			rows.Close()
			return 0, err
		}
		n++
		if !seen[pk] {
			seen[pk] = true
			pks = append(pks, pk)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	const chunk = 500
	for len(pks) > 0 {
		c := pks[:min(chunk, len(pks))]
		pks = pks[len(c):]
		if _, err := q.ExecContext(ctx, `DELETE FROM webhook_payloads WHERE pk IN (`+inArgs(len(c))+`)
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.payload_pk = webhook_payloads.pk)`, c...); err != nil {
			return 0, err
		}
	}
	return n, nil
}
