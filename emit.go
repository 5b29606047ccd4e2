package webhook

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Emit enqueues one delivery of a user event to every active webhook of
// userID subscribed to e, each with its own eventId, all with the same
// createdAt and body. body is any JSON-marshalable value encoding to an
// object (such as a [misskey.NoteBody]), or already-encoded JSON as []byte or
// [json.RawMessage]; it is encoded once, and only when some webhook
// matches. Emit does no network I/O and does not wait for delivery. After
// Shutdown it returns ErrClosed.
func (d *Dispatcher) Emit(ctx context.Context, userID string, e Event, body any) error {
	if userID == "" {
		return invalidf("Emit needs a user ID; use EmitSystem for system events")
	}
	if !e.IsUser() {
		return invalidf("Emit takes user events, got %q", truncate(string(e), 64))
	}
	return d.emit(ctx, d.store, userID, e, body)
}

// EmitSystem is Emit for system events, which go to the system webhooks.
func (d *Dispatcher) EmitSystem(ctx context.Context, e Event, body any) error {
	if !e.IsSystem() {
		return invalidf("EmitSystem takes system events, got %q", truncate(string(e), 64))
	}
	return d.emit(ctx, d.store, "", e, body)
}

// EmitVia is Emit through o instead of the Dispatcher's store: pass an
// Outbox bound to the caller's database transaction (see the durable
// stores' InTx) and the deliveries exist if and only if that transaction
// commits. userID "" emits a system event. Call Notify after the commit
// to start the deliveries at once, unless the store pushes by itself
// (pgstore's LISTEN/NOTIFY does).
func (d *Dispatcher) EmitVia(ctx context.Context, o Outbox, userID string, e Event, body any) error {
	if (userID == "" && !e.IsSystem()) || (userID != "" && !e.IsUser()) {
		return invalidf("EmitVia: event %q does not go with user ID %q", truncate(string(e), 64), truncate(userID, 64))
	}
	return d.emit(ctx, o, userID, e, body)
}

func (d *Dispatcher) emit(ctx context.Context, o Outbox, userID string, e Event, body any) error {
	if d.isClosed() {
		return fmt.Errorf("webhook: emit: %w", ErrClosed)
	}
	hooks, err := o.MatchHooks(ctx, userID, e)
	if err != nil || len(hooks) == 0 {
		return err
	}
	b, err := EncodeBody(body)
	if err != nil {
		return err
	}
	if len(b) > d.cfg.MaxBodyBytes {
		return fmt.Errorf("webhook: %s body of %d bytes is over Config.MaxBodyBytes (%d): %w", e, len(b), d.cfg.MaxBodyBytes, ErrPayloadTooLarge)
	}
	now := d.clock.Now()
	created := time.UnixMilli(now.UnixMilli())
	ids := newEventIDs(len(hooks))
	if ee, ok := o.(EventEnqueuer); ok {
		err = ee.EnqueueEvent(ctx, &Emission{Type: e, Server: d.cfg.Origin, CreatedAt: created,
			NextAttemptAt: now, Body: b, Hooks: hooks, IDs: ids})
	} else {
		err = o.Enqueue(ctx, deliveries(hooks, ids, e, d.cfg.Origin, created, now, b))
	}
	if err != nil {
		return err
	}
	if o == Outbox(d.store) {
		d.Notify() // through EmitVia, the caller notifies after commit
	}
	return nil
}

// deliveries returns the deliveries of an event to hooks, for an Outbox
// that is not an EventEnqueuer.
func deliveries(hooks []*Webhook, ids []uuid.UUID, e Event, server string, created, due time.Time, body []byte) []*Delivery {
	ds := make([]Delivery, len(hooks))
	ptrs := make([]*Delivery, len(hooks))
	for i, h := range hooks {
		ds[i] = Delivery{
			ID: ids[i], HookID: h.ID, UserID: h.UserID, Type: e, Server: server,
			CreatedAt: created, Body: body, State: StatePending, NextAttemptAt: due,
		}
		ptrs[i] = &ds[i]
	}
	return ptrs
}

// newEventIDs returns n random (version 4) UUIDs, reading the system's
// random source once for all of them.
func newEventIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	var small [8 * 16]byte
	buf := small[:]
	if 16*n > len(small) {
		buf = make([]byte, 16*n)
	}
	_, _ = rand.Read(buf[:16*n]) // crypto/rand.Read never fails
	for i := range ids {
		u := &ids[i]
		copy(u[:], buf[16*i:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
	}
	return ids
}
