package webhook

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// firstRecovery reports whether this is the first success, in this
// Dispatcher, ending the failing spell that began at w.FailingSince:
// deliveries claimed together all saw it.
func (d *Dispatcher) firstRecovery(w *Webhook) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recovered == nil {
		d.recovered = make(map[string]time.Time)
	}
	if t, ok := d.recovered[w.ID]; ok && t.Equal(*w.FailingSince) {
		return false
	}
	d.recovered[w.ID] = *w.FailingSince
	return true
}

// maybeDisable sets a webhook inactive when it answered 410 Gone, or has
// failed without a success for Config.DisableAfter. w is the webhook as
// claimed, before this attempt.
func (d *Dispatcher) maybeDisable(ctx context.Context, w *Webhook, status int, at time.Time, verdict Verdict) {
	if d.cfg.NoAutoDisable || verdict == Delivered || !w.Active {
		return
	}
	var reason error
	switch {
	case status == http.StatusGone:
		reason = fmt.Errorf("webhook: hook %s: %w: %w", w.ID, ErrGone, ErrDisabled)
	case w.FailingSince != nil && at.Sub(*w.FailingSince) >= d.cfg.DisableAfter:
		reason = fmt.Errorf("webhook: hook %s has failed since %s without a success: %w: %w",
			w.ID, w.FailingSince.UTC().Format(time.RFC3339), ErrFailingTooLong, ErrDisabled)
	default:
		return
	}
	cur, err := d.store.GetHook(ctx, w.ID)
	if err != nil || !cur.Active {
		return // deleted, or already disabled
	}
	off := cur.Clone()
	off.Active = false
	if err := d.store.UpdateHook(ctx, off); err != nil {
		d.log.Error("webhook: disabling webhook", "hook", w.ID, "err", err)
		return
	}
	d.log.Warn("webhook: disabled webhook", "hook", cur, "reason", reason)
	if d.cfg.OnDisable != nil {
		d.cfg.OnDisable(cur, reason)
	}
}
