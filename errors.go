package webhook

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for callers to test with [errors.Is].
var (
	// ErrNotFound is returned when a webhook or delivery does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by a Dispatcher after Shutdown has begun.
	ErrClosed = errors.New("dispatcher closed")
	// ErrInvalid is wrapped by every validation error of a [Webhook],
	// [Config] or event body.
	ErrInvalid = errors.New("invalid")
	// ErrUnknownEvent is returned for an event name that is not one of
	// Misskey's.
	ErrUnknownEvent = errors.New("unknown event")
	// ErrTooManyWebhooks is returned when creating a webhook would exceed
	// the per-user limit (Misskey's TOO_MANY_WEBHOOKS).
	ErrTooManyWebhooks = errors.New("too many webhooks")
	// ErrConflict is returned when creating a webhook whose ID exists.
	ErrConflict = errors.New("conflict")
	// ErrHooksChanged is returned by a [CachedMatcher] that refuses to
	// enqueue an [Emission] whose Hooks a committed change has made
	// stale since it matched them. Nothing was enqueued: Emit matches
	// again and enqueues what it finds.
	ErrHooksChanged = errors.New("the webhooks changed since they were matched")
	// ErrBlockedAddress is returned when the private-network guard refuses
	// to connect to an address. Such a delivery is not retried.
	ErrBlockedAddress = errors.New("address blocked by private-network guard")
	// ErrLeaseLost is returned by a Store when a result is settled for a
	// delivery whose lease has expired and been claimed again.
	ErrLeaseLost = errors.New("lease lost")
	// ErrDisabled is wrapped by the reason given to Config.OnDisable,
	// with ErrGone or ErrFailingTooLong saying which it was.
	ErrDisabled = errors.New("webhook disabled")
	// ErrGone is wrapped by the OnDisable reason of a webhook whose
	// receiver answered 410 Gone.
	ErrGone = errors.New("receiver answered 410 Gone")
	// ErrFailingTooLong is wrapped by the OnDisable reason of a webhook
	// that failed for Config.DisableAfter without a success.
	ErrFailingTooLong = errors.New("failing for too long")
	// ErrQueueFull is returned by Emit when the store's queue is at its
	// capacity (see MemoryStoreConfig.Capacity); nothing of that Emit was
	// enqueued.
	ErrQueueFull = errors.New("queue full")
	// ErrUndelivered is matched by the error Shutdown returns when a
	// store that does not outlive the process still holds pending
	// deliveries (see [UndeliveredError]).
	ErrUndelivered = errors.New("deliveries left undelivered")
	// ErrPayloadTooLarge is returned by Emit when the encoded body is
	// larger than Config.MaxBodyBytes.
	ErrPayloadTooLarge = errors.New("payload too large")
)

// Permanent wraps err so that the Dispatcher does not retry the delivery
// that failed with it. A Transport may return it for failures that cannot
// change on retry. Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// A PermanentError marks a delivery failure as final. See [Permanent].
type PermanentError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// A DeliveryError describes a failed delivery attempt: the HTTP status when
// the receiver answered (0 when it did not) and the attempt's number,
// counting from 1.
type DeliveryError struct {
	HookID  string
	Attempt int
	Status  int
	Err     error
}

// Error describes the failure without the webhook's secret.
func (e *DeliveryError) Error() string {
	msg := fmt.Sprintf("webhook: delivery to hook %s, attempt %d", e.HookID, e.Attempt)
	if e.Status != 0 {
		msg += fmt.Sprintf(": status %d", e.Status)
	}
	if e.Err != nil {
		msg += ": " + strings.TrimPrefix(e.Err.Error(), "webhook: ")
	}
	return msg
}

// Unwrap returns the underlying error, if any.
func (e *DeliveryError) Unwrap() error { return e.Err }

// An UndeliveredError is returned by Shutdown when the store does not
// outlive the process (a [VolatileStore], such as the MemoryStore) and
// still holds pending deliveries, which nobody will deliver: retries not
// yet due, or what Shutdown's context did not leave time for. It matches
// ErrUndelivered, and Err when Shutdown's context ended.
type UndeliveredError struct {
	// Pending is how many deliveries were left pending.
	Pending int64
	// Err is Shutdown's context's error if it ended first, else nil.
	Err error
}

// Error says how many deliveries were left, and why.
func (e *UndeliveredError) Error() string {
	msg := fmt.Sprintf("webhook: shutdown left %d deliveries pending in a store that does not outlive the process", e.Pending)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrUndelivered.
func (e *UndeliveredError) Is(target error) bool { return target == ErrUndelivered }

// Unwrap returns Err.
func (e *UndeliveredError) Unwrap() error { return e.Err }

// invalidf returns a validation error that matches ErrInvalid, with a
// message such as "webhook: Webhook.Name must be 1-100 characters, got 0".
func invalidf(format string, args ...any) error {
	return &validationError{msg: fmt.Sprintf(format, args...)}
}

// invalidWrapf is invalidf for an error that also matches sentinel.
func invalidWrapf(sentinel error, format string, args ...any) error {
	return &validationError{msg: fmt.Sprintf(format, args...), also: sentinel}
}

type validationError struct {
	msg  string
	also error // a sentinel it matches besides ErrInvalid, if any
}

func (e *validationError) Error() string        { return "webhook: " + e.msg }
func (e *validationError) Is(target error) bool { return target == ErrInvalid }
func (e *validationError) Unwrap() error        { return e.also }

// errNotNew is returned by the methods of a nil or zero Dispatcher.
var errNotNew = invalidf("the Dispatcher is nil or was not made by webhook.New")

// unknownEvent is the error for an event name that is not Misskey's.
func unknownEvent(where string, e Event) error {
	return invalidWrapf(ErrUnknownEvent, "%s%s %q", where, ErrUnknownEvent, truncate(string(e), 64))
}
