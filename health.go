package webhook

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// A recovery is a failing spell reported over by OnRecover.
type recovery struct {
	spell time.Time // the webhook's FailingSince during the spell
	at    time.Time // when the recovery was reported
}

// firstRecovery reports whether this success, at now, is the first in this
// Dispatcher to end the failing spell that began at w.FailingSince:
// deliveries claimed together all saw it.
func (d *Dispatcher) firstRecovery(w *Webhook, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recovered == nil {
		d.recovered = make(map[string]recovery)
	}
	if r, ok := d.recovered[w.ID]; ok && r.spell.Equal(*w.FailingSince) {
		return false
	}
	d.recovered[w.ID] = recovery{spell: *w.FailingSince, at: now}
	return true
}

// sweep forgets, at now, what the Dispatcher keeps about webhooks that
// no longer need it: recoveries reported more than a lease ago (every
// delivery claimed during the spell has been settled or lost its lease
// since), and the fairness gate's stale state.
func (d *Dispatcher) sweep(now time.Time) {
	d.gate.sweep(now)
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, r := range d.recovered {
		if now.Sub(r.at) > d.cfg.Lease {
			delete(d.recovered, id)
		}
	}
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
	var failingBefore time.Time
	if status != http.StatusGone {
		failingBefore = at.Add(-d.cfg.DisableAfter)
	}
	// One conditional operation: an owner's update since the claim (a
	// new URL, a re-enable) is never undone.
	was, err := d.store.DisableHook(ctx, w.ID, w.URL, failingBefore)
	if err != nil {
		d.log.Error("webhook: disabling webhook", "hook", w.ID, "err", err)
		return
	}
	if was == nil {
		return // deleted, already disabled, changed by its owner, or recovered
	}
	d.log.Warn("webhook: disabled webhook", "hook", was, "reason", reason)
	if d.cfg.OnDisable != nil {
		d.cfg.OnDisable(was, reason)
	}
}
