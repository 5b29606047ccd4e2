package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fedihook/webhook"
)

const hookColumns = `pk, id, user_id, name, events, url, secret, active, latest_sent_at, latest_status,
	signing_secret, previous_signing_secrets, failing_since, ordered`

const (
	getHookSQL   = `SELECT ` + hookColumns + ` FROM webhook_hooks WHERE id = ?`
	listHooksSQL = `SELECT ` + hookColumns + ` FROM webhook_hooks WHERE user_id = ? ORDER BY id`
	// matchHooksSQL reads one range of webhook_hook_events' primary key.
	matchHooksSQL = `SELECT h.pk, h.id, h.user_id, h.name, h.events, h.url, h.secret, h.active, h.latest_sent_at, h.latest_status,
			h.signing_secret, h.previous_signing_secrets, h.failing_since, h.ordered
		FROM webhook_hook_events e JOIN webhook_hooks h ON h.pk = e.hook_pk
		WHERE e.user_id = ? AND e.event = ? AND h.active
		ORDER BY e.hook_pk`
)

func hooksByPKSQL(n int) string {
	return `SELECT ` + hookColumns + ` FROM webhook_hooks WHERE pk IN (` + inArgs(n) + `)`
}

// scanHook reads a row of hookColumns.
func scanHook(sc interface{ Scan(...any) error }) (int64, *webhook.Webhook, error) {
	var (
		pk     int64
		w      webhook.Webhook
		events string
		sentAt sql.NullInt64
		status sql.NullInt64
		prev   string
		since  sql.NullInt64
	)
	if err := sc.Scan(&pk, &w.ID, &w.UserID, &w.Name, &events, &w.URL, &w.Secret, &w.Active, &sentAt, &status,
		&w.SigningSecret, &prev, &since, &w.Ordered); err != nil {
		return 0, nil, err
	}
	if since.Valid {
		t := fromNanos(since.Int64)
		w.FailingSince = &t
	}
	w.On = parseEvents(events)
	if prev != "" {
		// The error is left out: it might quote a secret.
		if json.Unmarshal([]byte(prev), &w.PreviousSigningSecrets) != nil {
			return 0, nil, fmt.Errorf("sqlitestore: webhook %q: previous_signing_secrets is not a JSON array of secrets", truncate(w.ID, webhook.MaxIDLength))
		}
	}
	if sentAt.Valid && status.Valid {
		t, st := fromNanos(sentAt.Int64), int(status.Int64)
		w.LatestSentAt, w.LatestStatus = &t, &st
	}
	return pk, &w, nil
}

func formatEvents(on []webhook.Event) string {
	var b strings.Builder
	for i, e := range on {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(e))
	}
	return b.String()
}

func parseEvents(s string) []webhook.Event {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	on := make([]webhook.Event, len(parts))
	for i, p := range parts {
		on[i] = webhook.Event(p)
	}
	return on
}

// formatPrevious encodes Webhook.PreviousSigningSecrets for its column.
func formatPrevious(ps []webhook.PreviousSecret) (string, error) {
	if len(ps) == 0 {
		return "", nil
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return "", errors.New("sqlitestore: Webhook.PreviousSigningSecrets do not encode as JSON")
	}
	return string(b), nil
}

// checkEvents refuses event names that the comma-separated events column
// could not hold. Validated webhooks never have them.
func checkEvents(on []webhook.Event) error {
	for i, e := range on {
		if e == "" || strings.ContainsRune(string(e), ',') {
			return fmt.Errorf("webhook: Webhook.On[%d]: %w", i, webhook.ErrUnknownEvent)
		}
	}
	return nil
}

// CreateHook implements [webhook.HookStore].
func (s *Store) CreateHook(ctx context.Context, w *webhook.Webhook, limit int) error {
	if err := checkEvents(w.On); err != nil {
		return err
	}
	prev, err := formatPrevious(w.PreviousSigningSecrets)
	if err != nil {
		return err
	}
	return s.write(ctx, "create webhook", func(r runner) error {
		var exists bool
		if err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_hooks WHERE id = ?)`, w.ID).Scan(&exists); err != nil {
			return fmt.Errorf("sqlitestore: create webhook: %w", err)
		}
		if exists {
			return fmt.Errorf("webhook: webhook %q exists: %w", truncate(w.ID, webhook.MaxIDLength), webhook.ErrConflict)
		}
		if limit > 0 {
			var n int
			if err := r.queryRow(ctx, `SELECT count(*) FROM webhook_hooks WHERE user_id = ?`, w.UserID).Scan(&n); err != nil {
				return fmt.Errorf("sqlitestore: create webhook: %w", err)
			}
			if n >= limit {
				return fmt.Errorf("webhook: user %q has %d webhooks: %w", truncate(w.UserID, webhook.MaxIDLength), n, webhook.ErrTooManyWebhooks)
			}
		}
		var sentAt, status sql.NullInt64
		if w.LatestSentAt != nil && w.LatestStatus != nil {
			sentAt = sql.NullInt64{Int64: nanos(*w.LatestSentAt), Valid: true}
			status = sql.NullInt64{Int64: int64(*w.LatestStatus), Valid: true}
		}
		var since sql.NullInt64
		if w.FailingSince != nil {
			since = sql.NullInt64{Int64: nanos(*w.FailingSince), Valid: true}
		}
		res, err := r.exec(ctx, `INSERT INTO webhook_hooks (id, user_id, name, events, url, secret, active, latest_sent_at, latest_status,
				signing_secret, previous_signing_secrets, failing_since, ordered)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.UserID, w.Name, formatEvents(w.On), w.URL, w.Secret, w.Active, sentAt, status, w.SigningSecret, prev, since, w.Ordered)
		if err != nil {
			return fmt.Errorf("sqlitestore: create webhook: %w", err)
		}
		pk, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("sqlitestore: create webhook: %w", err)
		}
		return insertEvents(ctx, r, pk, w)
	})
}

// insertEvents indexes an active webhook's events for MatchHooks.
func insertEvents(ctx context.Context, r runner, pk int64, w *webhook.Webhook) error {
	if !w.Active || len(w.On) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(w.On))
	for _, e := range w.On {
		args = append(args, w.UserID, string(e), pk)
	}
	if _, err := r.exec(ctx, `INSERT OR IGNORE INTO webhook_hook_events (user_id, event, hook_pk) VALUES `+values(len(w.On), 3), args...); err != nil {
		return fmt.Errorf("sqlitestore: index webhook events: %w", err)
	}
	return nil
}

// GetHook implements [webhook.HookStore].
func (s *Store) GetHook(ctx context.Context, id string) (*webhook.Webhook, error) {
	s.prepare(ctx)
	_, w, err := scanHook(runner{s: s}.queryRow(ctx, getHookSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get webhook: %w", err)
	}
	return w, nil
}

// ListHooks implements [webhook.HookStore].
func (s *Store) ListHooks(ctx context.Context, userID string) ([]*webhook.Webhook, error) {
	hooks, err := queryHooks(ctx, runner{s: s}, listHooksSQL, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list webhooks: %w", err)
	}
	if hooks == nil {
		hooks = []*webhook.Webhook{}
	}
	return hooks, nil
}

func queryHooks(ctx context.Context, r runner, query string, args ...any) ([]*webhook.Webhook, error) {
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*webhook.Webhook
	for rows.Next() {
		_, w, err := scanHook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateHook implements [webhook.HookStore]. Ordered keeps the value the
// webhook was created with.
func (s *Store) UpdateHook(ctx context.Context, w *webhook.Webhook) error {
	if err := checkEvents(w.On); err != nil {
		return err
	}
	prev, err := formatPrevious(w.PreviousSigningSecrets)
	if err != nil {
		return err
	}
	return s.write(ctx, "update webhook", func(r runner) error {
		var (
			pk     int64
			userID string
		)
		err := r.queryRow(ctx, `SELECT pk, user_id FROM webhook_hooks WHERE id = ?`, w.ID).Scan(&pk, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook", w.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: update webhook: %w", err)
		}
		if _, err := r.exec(ctx, `UPDATE webhook_hooks SET name = ?, events = ?, url = ?, secret = ?, active = ?,
				signing_secret = ?, previous_signing_secrets = ? WHERE pk = ?`,
			w.Name, formatEvents(w.On), w.URL, w.Secret, w.Active, w.SigningSecret, prev, pk); err != nil {
			return fmt.Errorf("sqlitestore: update webhook: %w", err)
		}
		if _, err := r.exec(ctx, `DELETE FROM webhook_hook_events WHERE user_id = ? AND hook_pk = ?`, userID, pk); err != nil {
			return fmt.Errorf("sqlitestore: update webhook: %w", err)
		}
		c := *w
		c.UserID = userID // the owner never changes
		return insertEvents(ctx, r, pk, &c)
	})
}

// DisableHook implements [webhook.HookStore]: the check and the update
// run in one write transaction.
func (s *Store) DisableHook(ctx context.Context, id, url string, failingBefore time.Time) (*webhook.Webhook, error) {
	var was *webhook.Webhook
	err := s.write(ctx, "disable webhook", func(r runner) error {
		was = nil
		pk, w, err := scanHook(r.queryRow(ctx, `SELECT `+hookColumns+` FROM webhook_hooks
			WHERE id = ? AND active AND url = ? AND (? = 0 OR (failing_since IS NOT NULL AND failing_since <= ?))`,
			id, url, nanos(failingBefore), nanos(failingBefore)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: disable webhook: %w", err)
		}
		if _, err := r.exec(ctx, `UPDATE webhook_hooks SET active = 0 WHERE pk = ?`, pk); err != nil {
			return fmt.Errorf("sqlitestore: disable webhook: %w", err)
		}
		if _, err := r.exec(ctx, `DELETE FROM webhook_hook_events WHERE user_id = ? AND hook_pk = ?`, w.UserID, pk); err != nil {
			return fmt.Errorf("sqlitestore: disable webhook: %w", err)
		}
		was = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return was, nil
}

// DeleteHook implements [webhook.HookStore]. The webhook's deliveries,
// pending or finished, are deleted with it.
func (s *Store) DeleteHook(ctx context.Context, id string) error {
	return s.write(ctx, "delete webhook", func(r runner) error {
		var (
			pk     int64
			userID string
		)
		err := r.queryRow(ctx, `SELECT pk, user_id FROM webhook_hooks WHERE id = ?`, id).Scan(&pk, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook", id)
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: delete webhook: %w", err)
		}
		if _, err := deleteDeliveries(ctx, r, `DELETE FROM webhook_deliveries WHERE pk IN (`+hookDeliveriesSQL+`)
			RETURNING pk, payload_pk`, pk); err != nil {
			return fmt.Errorf("sqlitestore: delete webhook: %w", err)
		}
		if _, err := r.exec(ctx, `DELETE FROM webhook_hook_events WHERE user_id = ? AND hook_pk = ?`, userID, pk); err != nil {
			return fmt.Errorf("sqlitestore: delete webhook: %w", err)
		}
		if _, err := r.exec(ctx, `DELETE FROM webhook_hooks WHERE pk = ?`, pk); err != nil {
			return fmt.Errorf("sqlitestore: delete webhook: %w", err)
		}
		return nil
	})
}

// MatchHooks implements [webhook.Outbox]. It reads the webhooks from
// memory, after one read of a change counter that says whether they are
// still current: a webhook created, changed or deleted by any Store over
// the same database, in this process or another, is seen by the first
// MatchHooks that starts after the change committed. The Webhooks'
// LatestSentAt and LatestStatus may be older than the stored ones. A
// Dispatcher's Emit uses [Store.MatchHooksCached] instead, which leaves
// that read to the enqueue.
func (s *Store) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	s.prepare(ctx)
	return s.matchHooksChecked(ctx, userID, e)
}

func matchHooks(ctx context.Context, r runner, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	hooks, err := queryHooks(ctx, r, matchHooksSQL, userID, string(e))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: match webhooks: %w", err)
	}
	return hooks, nil
}
