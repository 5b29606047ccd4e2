package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

// hookColumns are the columns scanHook reads, but for the latest attempt.
const hookColumns = `id, user_id, name, events, url, secret, active, signing_secret, previous_secrets, previous_expires, ordered, failing_since`

// The per-user limit is checked under a transaction-level advisory lock
// on the user, so that two concurrent creations cannot both see room for
// one more. The count and the insert then run in one statement, whose
// snapshot is taken after the lock.
const sqlLockUser = `SELECT pg_advisory_xact_lock(hashtextextended('fedihook.hooks:' || $1 || ':' || $2, 0))`

const sqlCreateHook = `
WITH c AS (
	SELECT count(*) AS n FROM ${s}fedihook_hooks WHERE user_id = $2
), ins AS (
	INSERT INTO ${s}fedihook_hooks (` + hookColumns + `, latest_sent_at, latest_status)
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM c WHERE $15::int <= 0 OR c.n < $15::int
	ON CONFLICT (id) DO NOTHING
	RETURNING 1
)
SELECT (SELECT n FROM c), EXISTS (SELECT FROM ins), EXISTS (SELECT FROM ${s}fedihook_hooks WHERE id = $1)`

// hookSelect reads webhooks with their latest attempt: the newer of the
// one folded into the hooks row by Prune and the latest of their
// deliveries' (found through fedihook_deliveries_hook_idx).
const hookSelect = `
SELECT h.id, h.user_id, h.name, h.events, h.url, h.secret, h.active,
	h.signing_secret, h.previous_secrets, h.previous_expires, h.ordered, h.failing_since,
	CASE WHEN l.at >= h.latest_sent_at OR h.latest_sent_at IS NULL THEN l.at ELSE h.latest_sent_at END,
	CASE WHEN l.at >= h.latest_sent_at OR h.latest_sent_at IS NULL THEN l.status ELSE h.latest_status END
FROM ${s}fedihook_hooks h
LEFT JOIN LATERAL (
	SELECT d.last_attempt_at AS at, CASE WHEN d.last_status = 0 THEN 1 ELSE d.last_status END AS status
	FROM ${s}fedihook_deliveries d
	WHERE d.hook_id = h.id AND d.last_attempt_at IS NOT NULL
	ORDER BY d.last_attempt_at DESC
	LIMIT 1
) AS l ON true`

const sqlGetHook = hookSelect + ` WHERE h.id = $1`

const sqlListHooks = hookSelect + ` WHERE h.user_id = $1 ORDER BY h.id`

const sqlUpdateHook = `
UPDATE ${s}fedihook_hooks SET name = $2, events = $3, url = $4, secret = $5, active = $6,
	signing_secret = $7, previous_secrets = $8, previous_expires = $9
WHERE id = $1`

const sqlDeleteHookDeliveries = `DELETE FROM ${s}fedihook_deliveries WHERE hook_id = $1`

const sqlDeleteHook = `DELETE FROM ${s}fedihook_hooks WHERE id = $1`

// sqlMatchHooks leaves out the latest attempt, which Emit does not need.
const sqlMatchHooks = `
SELECT ` + hookColumns + `, NULL::timestamptz, NULL::int
FROM ${s}fedihook_hooks
WHERE user_id = $1 AND active AND $2 = ANY (events)
ORDER BY id`

// CreateHook implements [webhook.HookStore].
func (s *Store) CreateHook(ctx context.Context, w *webhook.Webhook, limit int) error {
	var sentAt *time.Time
	var status *int
	if w.LatestSentAt != nil && w.LatestStatus != nil {
		sentAt, status = w.LatestSentAt, w.LatestStatus
	}
	var n int64
	var inserted, exists bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if limit > 0 {
			if _, err := tx.Exec(ctx, sqlLockUser, s.schema, w.UserID); err != nil {
				return err
			}
		}
		prev, expires := splitPrevious(w.PreviousSigningSecrets)
		return tx.QueryRow(ctx, s.sql.createHook,
			w.ID, w.UserID, w.Name, eventStrings(w.On), w.URL, w.Secret, w.Active,
			w.SigningSecret, prev, expires, w.Ordered, w.FailingSince, sentAt, status, limit,
		).Scan(&n, &inserted, &exists)
	})
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: creating webhook: %w", err)
	case inserted:
		return nil
	case limit > 0 && n >= int64(limit) && !exists:
		return fmt.Errorf("webhook: user %q has %d webhooks: %w", truncate(w.UserID, webhook.MaxIDLength), n, webhook.ErrTooManyWebhooks)
	default:
		return fmt.Errorf("webhook: webhook %q exists: %w", truncate(w.ID, webhook.MaxIDLength), webhook.ErrConflict)
	}
}

// GetHook implements [webhook.HookStore].
func (s *Store) GetHook(ctx context.Context, id string) (*webhook.Webhook, error) {
	w, err := scanHook(s.pool.QueryRow(ctx, s.sql.getHook, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("webhook", id)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading webhook: %w", err)
	}
	return w, nil
}

// ListHooks implements [webhook.HookStore].
func (s *Store) ListHooks(ctx context.Context, userID string) ([]*webhook.Webhook, error) {
	hooks, err := queryHooks(ctx, s.pool, s.sql.listHooks, userID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing webhooks: %w", err)
	}
	return hooks, nil
}

// UpdateHook implements [webhook.HookStore].
func (s *Store) UpdateHook(ctx context.Context, w *webhook.Webhook) error {
	prev, expires := splitPrevious(w.PreviousSigningSecrets)
	tag, err := s.pool.Exec(ctx, s.sql.updateHook, w.ID, w.Name, eventStrings(w.On), w.URL, w.Secret, w.Active,
		w.SigningSecret, prev, expires)
	if err != nil {
		return fmt.Errorf("pgstore: updating webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("webhook", w.ID)
	}
	return nil
}

// DeleteHook implements [webhook.HookStore]. The webhook's deliveries,
// pending and finished, are deleted with it: first, and then the webhook,
// so that it locks rows in the order Settle and Prune do (deliveries,
// then webhooks).
func (s *Store) DeleteHook(ctx context.Context, id string) error {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.sql.deleteHookDeliveries, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.sql.deleteHook, id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: deleting webhook: %w", err)
	}
	if n == 0 {
		return notFound("webhook", id)
	}
	return nil
}

// MatchHooks implements [webhook.Outbox]. The webhooks it returns have no
// LatestSentAt and LatestStatus.
func (s *Store) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	return matchHooks(ctx, s.pool, &s.sql, userID, e)
}

func matchHooks(ctx context.Context, q querier, sql *statements, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	hooks, err := queryHooks(ctx, q, sql.matchHooks, userID, string(e))
	if err != nil {
		return nil, fmt.Errorf("pgstore: matching webhooks: %w", err)
	}
	return hooks, nil
}

func queryHooks(ctx context.Context, q querier, sql string, args ...any) ([]*webhook.Webhook, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hooks := []*webhook.Webhook{}
	for rows.Next() {
		w, err := scanHook(rows)
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, w)
	}
	return hooks, rows.Err()
}

func scanHook(row pgx.Row) (*webhook.Webhook, error) {
	var w webhook.Webhook
	var events, prev []string
	var expires []time.Time
	var failing, sentAt *time.Time
	var status *int32
	if err := row.Scan(&w.ID, &w.UserID, &w.Name, &events, &w.URL, &w.Secret, &w.Active,
		&w.SigningSecret, &prev, &expires, &w.Ordered, &failing, &sentAt, &status); err != nil {
		return nil, err
	}
	w.On = toEvents(events)
	w.PreviousSigningSecrets = joinPrevious(prev, expires)
	w.FailingSince = utcPtr(failing)
	if sentAt != nil && status != nil {
		t, st := sentAt.UTC(), int(*status)
		w.LatestSentAt, w.LatestStatus = &t, &st
	}
	return &w, nil
}

func eventStrings(on []webhook.Event) []string {
	out := make([]string, len(on))
	for i, e := range on {
		out[i] = string(e)
	}
	return out
}

func toEvents(ss []string) []webhook.Event {
	out := make([]webhook.Event, len(ss))
	for i, e := range ss {
		out[i] = webhook.Event(e)
	}
	return out
}

func splitPrevious(ps []webhook.PreviousSecret) ([]string, []time.Time) {
	secrets, expires := make([]string, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		secrets[i], expires[i] = p.Secret, p.Expires
	}
	return secrets, expires
}

func joinPrevious(secrets []string, expires []time.Time) []webhook.PreviousSecret {
	if len(secrets) == 0 || len(secrets) != len(expires) {
		return nil
	}
	ps := make([]webhook.PreviousSecret, len(secrets))
	for i := range ps {
		ps[i] = webhook.PreviousSecret{Secret: secrets[i], Expires: expires[i].UTC()}
	}
	return ps
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
