package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

// hookColumns are the columns of fedihook_hooks that scanHook reads.
const hookColumns = `id, user_id, name, events, url, secret, active, signing_secret, previous_secrets, previous_expires, ordered`

// The per-user limit is checked under a transaction-level advisory lock
// on the user, so that two concurrent creations cannot both see room for
// one more. The count and the insert then run in one statement, whose
// snapshot is taken after the lock.
const sqlLockUser = `SELECT pg_advisory_xact_lock(hashtextextended('fedihook.hooks:' || $1 || ':' || $2, 0))`

// hookChanged is the tail of every statement that changes a webhook
// (whose ID and user a CTE named "changed" returns): it counts the change
// in fedihook_hooks_version and notifies the channel with "h VERSION
// USER", so that in-process views of the webhooks drop that user's. The
// notification goes out when the transaction commits.
const hookChanged = `, v AS (
	UPDATE ${s}fedihook_hooks_version SET version = version + 1
	WHERE EXISTS (SELECT FROM changed)
	RETURNING version
), n AS (
	SELECT pg_notify($1, 'h ' || v.version || ' ' || c.user_id) FROM v, (SELECT user_id FROM changed LIMIT 1) AS c
)`

const sqlCreateHook = `
WITH c AS (
	SELECT count(*) AS n FROM ${s}fedihook_hooks WHERE user_id = $3
), changed AS (
	INSERT INTO ${s}fedihook_hooks (` + hookColumns + `)
	SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM c WHERE $16::int <= 0 OR c.n < $16::int
	ON CONFLICT (id) DO NOTHING
	RETURNING id, user_id
), st AS (
	INSERT INTO ${s}fedihook_hook_status (hook_id, failing_since, latest_sent_at, latest_status)
	SELECT id, $13, $14, $15 FROM changed
	ON CONFLICT (hook_id) DO UPDATE SET failing_since = excluded.failing_since,
		latest_sent_at = excluded.latest_sent_at, latest_status = excluded.latest_status
)` + hookChanged + `
SELECT (SELECT n FROM c), EXISTS (SELECT FROM changed), EXISTS (SELECT FROM ${s}fedihook_hooks WHERE id = $2),
	(SELECT count(*) FROM n)`

// hookSelect reads webhooks with their status.
const hookSelect = `
SELECT h.id, h.user_id, h.name, h.events, h.url, h.secret, h.active,
	h.signing_secret, h.previous_secrets, h.previous_expires, h.ordered,
	st.failing_since, st.latest_sent_at, st.latest_status
FROM ${s}fedihook_hooks h
LEFT JOIN ${s}fedihook_hook_status st ON st.hook_id = h.id`

const sqlGetHook = hookSelect + ` WHERE h.id = $1`

const sqlListHooks = hookSelect + ` WHERE h.user_id = $1 ORDER BY h.id`

const sqlUpdateHook = `
WITH changed AS (
	UPDATE ${s}fedihook_hooks SET name = $3, events = $4, url = $5, secret = $6, active = $7,
		signing_secret = $8, previous_secrets = $9, previous_expires = $10
	WHERE id = $2
	RETURNING id, user_id
)` + hookChanged + `
SELECT (SELECT user_id FROM changed), (SELECT count(*) FROM n)`

// sqlDisableHook returns the webhook as it was, active, when it disabled
// it, and no row otherwise. The conditions on the webhook's row are
// checked again after waiting for a concurrent update of it.
const sqlDisableHook = `
WITH changed AS (
	UPDATE ${s}fedihook_hooks h SET active = false
	FROM ${s}fedihook_hook_status st
	WHERE h.id = $2 AND st.hook_id = h.id AND h.active AND h.url = $3
		AND ($4::timestamptz IS NULL OR st.failing_since <= $4::timestamptz)
	RETURNING h.id, h.user_id, h.name, h.events, h.url, h.secret, h.signing_secret, h.previous_secrets,
		h.previous_expires, h.ordered, st.failing_since, st.latest_sent_at, st.latest_status
)` + hookChanged + `
SELECT id, user_id, name, events, url, secret, true, signing_secret, previous_secrets, previous_expires, ordered,
	failing_since, latest_sent_at, latest_status, (SELECT count(*) FROM n)
FROM changed`

// DeleteHook locks the webhook first, which waits for the Enqueues in
// flight that hold it (FOR KEY SHARE) and holds off new ones, then
// deletes its deliveries: its queue rows, then the rest, in that order,
// as Settle takes them, each statement after the previous one. No claim
// or settle locks the webhook's row.
const sqlLockHook = `SELECT user_id FROM ${s}fedihook_hooks WHERE id = $1 FOR UPDATE`

const sqlDeleteHookQueue = `
DELETE FROM ${s}fedihook_queue q USING ${s}fedihook_deliveries d
WHERE d.hook_id = $1 AND d.state = 1 AND q.id = d.id`

const sqlDeleteHookDeliveries = `
WITH del AS (
	DELETE FROM ${s}fedihook_deliveries WHERE hook_id = $1 RETURNING id, event_id
), att AS (
	DELETE FROM ${s}fedihook_attempts a USING del WHERE a.delivery_id = del.id
)
DELETE FROM ${s}fedihook_events e
USING (SELECT DISTINCT event_id FROM del) AS x
WHERE e.id = x.event_id AND NOT EXISTS (
	SELECT FROM ${s}fedihook_deliveries d WHERE d.event_id = e.id AND d.hook_id <> $1)`

const sqlDeleteHook = `
WITH st AS (
	DELETE FROM ${s}fedihook_hook_status WHERE hook_id = $2
), changed AS (
	DELETE FROM ${s}fedihook_hooks WHERE id = $2 RETURNING id, user_id
)` + hookChanged + `
SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM n)`

// sqlUserHooks reads a user's active webhooks for the in-process view:
// without their status, which Emit does not need.
const sqlUserHooks = `
SELECT ` + hookColumns + `, NULL::timestamptz, NULL::timestamptz, NULL::int
FROM ${s}fedihook_hooks
WHERE user_id = $1 AND active
ORDER BY id`

// CreateHook implements [webhook.HookStore].
func (s *Store) CreateHook(ctx context.Context, w *webhook.Webhook, limit int) error {
	var sentAt *time.Time
	var status *int
	if w.LatestSentAt != nil && w.LatestStatus != nil {
		sentAt, status = w.LatestSentAt, w.LatestStatus
	}
	var n, notified int64
	var inserted, exists bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if limit > 0 {
			if _, err := tx.Exec(ctx, sqlLockUser, s.schema, w.UserID); err != nil {
				return err
			}
		}
		prev, expires := splitPrevious(w.PreviousSigningSecrets)
		return tx.QueryRow(ctx, s.sql.createHook, s.channel,
			w.ID, w.UserID, w.Name, eventStrings(w.On), w.URL, w.Secret, w.Active,
			w.SigningSecret, prev, expires, w.Ordered, w.FailingSince, sentAt, status, limit,
		).Scan(&n, &inserted, &exists, &notified)
	})
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: creating webhook: %w", err)
	case inserted:
		s.hooks.changed(w.UserID)
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
	var user *string
	var notified int64
	err := s.pool.QueryRow(ctx, s.sql.updateHook, s.channel, w.ID, w.Name, eventStrings(w.On), w.URL, w.Secret, w.Active,
		w.SigningSecret, prev, expires).Scan(&user, &notified)
	if err != nil {
		return fmt.Errorf("pgstore: updating webhook: %w", err)
	}
	if user == nil {
		return notFound("webhook", w.ID)
	}
	s.hooks.changed(*user)
	return nil
}

// DisableHook implements [webhook.HookStore]: one UPDATE whose
// conditions PostgreSQL checks again on the row it locks, so an owner's
// concurrent update is never undone.
func (s *Store) DisableHook(ctx context.Context, id, url string, failingBefore time.Time) (*webhook.Webhook, error) {
	var before *time.Time
	if !failingBefore.IsZero() {
		before = &failingBefore
	}
	var notified int64
	w, err := scanHook(withCount{s.pool.QueryRow(ctx, s.sql.disableHook, s.channel, id, url, before), &notified})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: disabling webhook: %w", err)
	}
	s.hooks.changed(w.UserID)
	return w, nil
}

// withCount scans a row of a webhook followed by one more column.
type withCount struct {
	row pgx.Row
	n   *int64
}

func (r withCount) Scan(dest ...any) error { return r.row.Scan(append(dest, r.n)...) }

// DeleteHook implements [webhook.HookStore]. The webhook's deliveries,
// pending and finished, are deleted with it, in one transaction.
func (s *Store) DeleteHook(ctx context.Context, id string) error {
	var user string
	found := true
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, s.sql.lockHook, id).Scan(&user)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		// After the row lock (an outbox's enqueue holds that one, maybe
		// for long, and not the hooks lock), the hooks lock: it waits for
		// the Enqueues under way, whose deliveries are then deleted below.
		if _, err := tx.Exec(ctx, sqlLockHooks, s.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.sql.deleteHookQueue, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.sql.deleteHookDeliveries, id); err != nil {
			return err
		}
		var n, notified int64
		return tx.QueryRow(ctx, s.sql.deleteHook, s.channel, id).Scan(&n, &notified)
	})
	if err != nil {
		return fmt.Errorf("pgstore: deleting webhook: %w", err)
	}
	if !found {
		return notFound("webhook", id)
	}
	s.hooks.changed(user)
	return nil
}

// MatchHooks implements [webhook.Outbox]. While the store is listening
// (see [Store.Listen]) it answers from an in-process view of each user's
// active webhooks, kept by the notifications of webhook changes, so Emit
// needs no round trip to the database; otherwise it reads them. The
// webhooks it returns have no status (LatestSentAt, LatestStatus,
// FailingSince).
func (s *Store) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	return s.hooks.match(ctx, userID, e, true, func(ctx context.Context) ([]*webhook.Webhook, error) {
		return queryHooks(ctx, s.pool, s.sql.userHooks, userID)
	})
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
