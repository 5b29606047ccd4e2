package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ListDeliveries returns a page of a webhook's deliveries, newest first,
// from a store that keeps them (a [History]); otherwise an error matching
// [errors.ErrUnsupported].
func (d *Dispatcher) ListDeliveries(ctx context.Context, q DeliveryQuery) (*DeliveryPage, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	h, ok := d.store.(History)
	if !ok {
		return nil, unsupported("listing deliveries")
	}
	return h.ListDeliveries(ctx, q)
}

// ListAttempts returns a delivery's attempts, oldest first: when each was
// made, how long it took, the status or error, the first bytes of the
// response, and whether it was to be retried.
func (d *Dispatcher) ListAttempts(ctx context.Context, id uuid.UUID) ([]Attempt, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	h, ok := d.store.(History)
	if !ok {
		return nil, unsupported("listing attempts")
	}
	return h.ListAttempts(ctx, id)
}

// Redeliver sends a delivery again now: the same eventId, createdAt and
// body, in a new series of attempts (as many as the RetryPolicy allows).
func (d *Dispatcher) Redeliver(ctx context.Context, id uuid.UUID) error {
	if err := d.ready(); err != nil {
		return err
	}
	r, ok := d.store.(Redeliverer)
	if !ok {
		return unsupported("redelivery")
	}
	if err := r.Redeliver(ctx, id, d.clock.Now()); err != nil {
		return err
	}
	d.Notify()
	return nil
}

// RecoverFailed redelivers, as Redeliver does, the deliveries of webhook
// hookID that gave up at or after since, oldest first, at most limit of
// them, and returns how many. Call it again for the next batch.
func (d *Dispatcher) RecoverFailed(ctx context.Context, hookID string, since time.Time, limit int) (int, error) {
	if err := d.ready(); err != nil {
		return 0, err
	}
	r, ok := d.store.(Redeliverer)
	if !ok {
		return 0, unsupported("recovery")
	}
	n, err := r.RecoverFailed(ctx, hookID, since, d.clock.Now(), limit)
	if n > 0 {
		d.Notify()
	}
	return n, err
}

func unsupported(what string) error {
	return fmt.Errorf("webhook: the store does not support %s: %w", what, errors.ErrUnsupported)
}
