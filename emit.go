package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// Emit enqueues one delivery of a user event to every active webhook of
// userID subscribed to e, each with its own eventId, all with the same
// createdAt and body. body is any JSON-marshalable value encoding to an
// object (such as a [misskey.NoteBody]), or already-encoded JSON as []byte
// or [json.RawMessage]; it is encoded once, and only when some webhook
// matches, but a body that can never be an object (nil, a slice, a
// string, a number, a channel, raw JSON that does not start with '{') is
// refused whether or not any webhook matches. An unknown e yields an
// error matching both ErrInvalid and ErrUnknownEvent. Emit does no network
// I/O and does not wait for delivery. After Shutdown has begun, or once
// the context given to Start has ended, it returns an error matching
// ErrClosed.
func (d *Dispatcher) Emit(ctx context.Context, userID string, e Event, body any) error {
	if err := d.ready(); err != nil {
		return err
	}
	if userID == "" {
		return invalidf("Emit needs a user ID; use EmitSystem for system events")
	}
	if !e.IsUser() {
		return d.wrongEvent("Emit takes user events", e)
	}
	return d.emit(ctx, d.store, true, userID, e, body)
}

// EmitSystem is Emit for system events, which go to the system webhooks.
func (d *Dispatcher) EmitSystem(ctx context.Context, e Event, body any) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !e.IsSystem() {
		return d.wrongEvent("EmitSystem takes system events", e)
	}
	return d.emit(ctx, d.store, true, "", e, body)
}

// EmitVia is Emit through o instead of the Dispatcher's store: pass an
// Outbox bound to the caller's database transaction (see the durable
// stores' InTx) and the deliveries exist if and only if that transaction
// commits. userID "" emits a system event. Call Notify after the commit
// to start the deliveries at once, unless the store pushes by itself
// (pgstore's LISTEN/NOTIFY does).
func (d *Dispatcher) EmitVia(ctx context.Context, o Outbox, userID string, e Event, body any) error {
	if err := d.ready(); err != nil {
		return err
	}
	if o == nil {
		return invalidf("EmitVia needs an Outbox, got nil")
	}
	if !e.Valid() {
		return unknownEvent("EmitVia: ", e)
	}
	if (userID == "" && !e.IsSystem()) || (userID != "" && !e.IsUser()) {
		return invalidf("EmitVia: event %q does not go with user ID %q", truncate(string(e), 64), truncate(userID, 64))
	}
	return d.emit(ctx, o, d.isStore(o), userID, e, body)
}

// wrongEvent is the error for an event Emit or EmitSystem does not take:
// an unknown one, or one of the other kind.
func (d *Dispatcher) wrongEvent(what string, e Event) error {
	if !e.Valid() {
		return unknownEvent(what+": ", e)
	}
	return invalidf("%s, got %q", what, e)
}

// isStore reports whether o is the Dispatcher's store, without comparing
// values of a type that cannot be compared (which panics).
func (d *Dispatcher) isStore(o Outbox) bool {
	a, b := reflect.ValueOf(o), reflect.ValueOf(d.store)
	return a.Type() == b.Type() && a.Comparable() && a.Equal(b)
}

// emit enqueues through o, and wakes the workers when notify is set.
func (d *Dispatcher) emit(ctx context.Context, o Outbox, notify bool, userID string, e Event, body any) error {
	if err := d.open(); err != nil {
		return fmt.Errorf("webhook: emit: %w", err)
	}
	if err := checkBody(body); err != nil {
		return err
	}
	cm, cached := o.(CachedMatcher)
	var hooks []*Webhook
	var err error
	if cached {
		hooks, err = cm.MatchHooksCached(ctx, userID, e)
	} else {
		hooks, err = o.MatchHooks(ctx, userID, e)
	}
	if err != nil || len(hooks) == 0 {
		return err
	}
	err = d.enqueueMatched(ctx, o, &notify, e, body, hooks, cached)
	if cached && errors.Is(err, ErrHooksChanged) {
		// The webhooks from memory were stale, and nothing was enqueued:
		// match them again, from the database, and enqueue unchecked.
		if hooks, err = o.MatchHooks(ctx, userID, e); err != nil || len(hooks) == 0 {
			return err
		}
		err = d.enqueueMatched(ctx, o, &notify, e, body, hooks, false)
	}
	if err != nil {
		return err
	}
	if notify {
		d.Notify() // through EmitVia, the caller notifies after commit
	}
	return nil
}

// enqueueMatched enqueues through o the deliveries of an event e with
// body to hooks, which came from o's CachedMatcher when cached is set.
// It clears *notify when the Emit claimed every delivery as it enqueued
// them (nobody else need be woken).
func (d *Dispatcher) enqueueMatched(ctx context.Context, o Outbox, notify *bool, e Event, body any, hooks []*Webhook, cached bool) error {
	var err error
	now := d.clock.Now()
	created := time.UnixMilli(now.UnixMilli())
	var ids []uuid.UUID
	if m, ok := o.(EventIDMinter); ok {
		ids = make([]uuid.UUID, len(hooks))
		m.MintEventIDs(ids)
	} else {
		ids = newEventIDs(len(hooks))
	}
	if ee, ok := o.(EventEnqueuer); ok {
		em := &Emission{Type: e, Server: d.cfg.Origin, CreatedAt: created, NextAttemptAt: now, Hooks: hooks, IDs: ids, Cached: cached}
		if pk, ok := o.(payloadKeeper); ok && len(hooks) == 1 && pk.keepsPayloads() {
			err = d.encodePayload(em, body)
		} else {
			em.Body, err = d.encodeBody(e, body)
		}
		if err == nil {
			var all bool
			all, err = d.enqueueEvent(ctx, ee, *notify, em)
			*notify = *notify && !all
		}
	} else {
		var b []byte
		if b, err = d.encodeBody(e, body); err != nil {
			return err
		}
		em := Emission{Type: e, Server: d.cfg.Origin, CreatedAt: created, NextAttemptAt: now, Body: b, Hooks: hooks, IDs: ids}
		err = o.Enqueue(ctx, em.Deliveries())
	}
	return err
}

// enqueueEvent enqueues em through ee. Through the store of a started
// Dispatcher that is an EnqueueClaimer, it claims as it enqueues as many
// of the deliveries as the workers have room for, once the claims have
// caught up with what is due, and hands them to the workers; it reports
// whether it claimed them all (nobody else need be woken).
func (d *Dispatcher) enqueueEvent(ctx context.Context, ee EventEnqueuer, store bool, em *Emission) (bool, error) {
	ec, ok := ee.(EnqueueClaimer)
	p := d.pool.Load()
	if !store || !ok || p == nil {
		return false, ee.EnqueueEvent(ctx, em)
	}
	want := 0
	for _, h := range em.Hooks {
		if !h.Ordered {
			want++
		}
	}
	n := 0
	if want > 0 {
		n = p.reserveEmitted(want)
	}
	if n == 0 {
		return false, ee.EnqueueEvent(ctx, em)
	}
	now := em.NextAttemptAt
	cs, err := ec.EnqueueAndClaim(ctx, em, now, n, d.cfg.Lease)
	if len(cs) > n { // a store's bug: keep the pool's count honest
		d.releaseAll(ctx, cs[n:])
		cs = cs[:n]
	}
	if left := p.putEmitted(cs, n, now); len(left) > 0 {
		d.releaseAll(ctx, left) // Shutdown ended meanwhile
	}
	return err == nil && len(cs) == len(em.Hooks), err
}

// encodeBody encodes the body of an event of type e, and checks its size.
func (d *Dispatcher) encodeBody(e Event, body any) ([]byte, error) {
	b, err := EncodeBody(body)
	if err != nil {
		return nil, err
	}
	if err := d.checkSize(e, len(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSize refuses an encoded body of n bytes over Config.MaxBodyBytes.
func (d *Dispatcher) checkSize(e Event, n int) error {
	if n > d.cfg.MaxBodyBytes {
		return fmt.Errorf("webhook: %s body of %d bytes is over Config.MaxBodyBytes (%d): %w", e, n, d.cfg.MaxBodyBytes, ErrPayloadTooLarge)
	}
	return nil
}

// encodePayload sets the body and the payload of em, an event to one
// webhook for a payloadKeeper: the body is encoded into a pooled buffer,
// and the payload, the only copy kept, written from it, Body a part of
// it.
func (d *Dispatcher) encodePayload(em *Emission, body any) error {
	sp := scratchPool.Get().(*[]byte)
	enc, err := appendBody((*sp)[:0], body)
	if err == nil {
		err = d.checkSize(em.Type, len(enc))
	}
	if err != nil {
		putScratch(sp, enc)
		return err
	}
	h := em.Hooks[0]
	del := Delivery{ID: em.IDs[0], HookID: h.ID, UserID: h.UserID, Type: em.Type, Server: em.Server,
		CreatedAt: em.CreatedAt, Body: enc}
	p := AppendPayload(make([]byte, 0, payloadSizeHint(&del)), &del)
	putScratch(sp, enc)
	em.payload = p
	em.Body = p[len(p)-1-len(enc) : len(p)-1 : len(p)-1]
	return nil
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

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonAppender  = reflect.TypeFor[JSONAppender]()
)

// checkBody refuses, without encoding it, a body that can never encode to
// a JSON object: one whose type encoding/json writes as something else.
// A body that encodes itself (a json.Marshaler or a JSONAppender) is left
// to EncodeBody.
func checkBody(body any) error {
	switch v := body.(type) {
	case nil:
		return invalidf("event body must be a JSON object, got nil")
	case json.RawMessage:
		return checkRaw(v)
	case []byte:
		return checkRaw(v)
	case JSONAppender, json.Marshaler:
		return nil // as the reflection below finds, only sooner
	}
	v := reflect.ValueOf(body)
	for {
		t := v.Type()
		if t.Implements(jsonMarshaler) || t.Implements(jsonAppender) {
			return nil
		}
		if t.Implements(textMarshaler) {
			return invalidf("event body must be a JSON object, got %s (a JSON string)", t)
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return invalidf("event body must be a JSON object, got a nil %s", t)
			}
			v = v.Elem()
			continue
		case reflect.Struct:
			return nil
		case reflect.Map:
			if v.IsNil() {
				return invalidf("event body must be a JSON object, got a nil %s", t)
			}
			switch k := t.Key(); {
			case k.Kind() == reflect.String, k.Implements(textMarshaler),
				k.Kind() >= reflect.Int && k.Kind() <= reflect.Uintptr:
				return nil
			}
			return invalidf("event body must be a JSON object, got %s, whose keys JSON cannot hold", t)
		}
		return invalidf("event body must be a JSON object, got %s", t)
	}
}

// checkRaw refuses encoded JSON that does not start as an object.
func checkRaw(b []byte) error {
	if b = bytes.TrimLeft(b, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return invalidf("event body must be a JSON object")
	}
	return nil
}
