package webhook

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook/misskey"
)

// A TestOverride sends a test delivery to another URL and secret than the
// webhook's, as the override of Misskey's i/webhooks/test.
type TestOverride struct {
	URL    string
	Secret string
}

// A TestResult is the outcome of [Dispatcher.TestHook].
type TestResult struct {
	// EventID is the test delivery's eventId.
	EventID uuid.UUID
	// Status is the HTTP status, 0 when there was none.
	Status int
	// Duration is how long the attempt took.
	Duration time.Duration
	// Response holds the first bytes of the receiver's answer, at most
	// MaxResponseRecord of them, as an [Attempt] keeps them.
	Response []byte
	// Err is nil when the receiver answered 2xx; otherwise a
	// *[DeliveryError] saying why.
	Err error
}

// TestHook sends one delivery of event e with Misskey's dummy body (see
// [misskey.DummyBody]) to the webhook hookID, as Misskey's
// i/webhooks/test does:
// one attempt, whatever the webhook's Active and On, to override's URL and
// secret when override is not nil. Unlike Misskey, it waits for the
// attempt and returns its outcome; it does not change the webhook's
// latest status. The returned error is for bad input (an unknown webhook,
// an event that is not of the webhook's kind, a bad override); a failed
// delivery is reported in TestResult.Err.
func (d *Dispatcher) TestHook(ctx context.Context, hookID string, e Event, override *TestOverride) (*TestResult, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if err := d.open(); err != nil {
		return nil, fmt.Errorf("webhook: test hook: %w", err)
	}
	w, err := d.store.GetHook(ctx, hookID)
	if err != nil {
		return nil, err
	}
	if w.IsSystem() != e.IsSystem() || !e.Valid() {
		return nil, invalidf("TestHook: event %q is not one a %s webhook takes", truncate(string(e), 64), map[bool]string{true: "system", false: "user"}[w.IsSystem()])
	}
	if override != nil {
		if err := ValidateURL(override.URL); err != nil {
			return nil, err
		}
		if err := ValidateSecret(override.Secret); err != nil {
			return nil, err
		}
		w.URL, w.Secret = override.URL, override.Secret
	}
	body, err := misskey.DummyBody(string(e))
	if err != nil {
		return nil, err
	}
	b, err := EncodeBody(body)
	if err != nil {
		return nil, err
	}
	del := &Delivery{
		ID: uuid.New(), HookID: w.ID, UserID: w.UserID, Type: e, Server: d.cfg.Origin,
		CreatedAt: time.UnixMilli(d.clock.Now().UnixMilli()), Body: b,
		Attempts: -1, // the Request's Attempt is 0 for a test send
	}
	o := d.send(ctx, del, w, nil, 1, d.clock.Now())
	res := &TestResult{EventID: del.ID, Status: o.status, Duration: o.dur,
		Response: bytes.Clone(o.body[:min(len(o.body), MaxResponseRecord)])}
	if Classify(o.status, o.err) != Delivered {
		res.Err = &DeliveryError{HookID: w.ID, Attempt: 1, Status: o.status, Err: o.err}
	}
	return res, nil
}
