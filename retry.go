package webhook

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Misskey's retry schedule.
const (
	// DefaultAttempts is how many attempts a delivery gets in all.
	DefaultAttempts = 4
	// DefaultBackoffBase is the unit of Misskey's schedule: the wait
	// before retry n is (2^n - 1) times it.
	DefaultBackoffBase = 60 * time.Second
	// DefaultMaxBackoff caps a single wait, and a Retry-After.
	DefaultMaxBackoff = 8 * time.Hour
	// DefaultJitter is the largest random extra added to a wait, as a
	// fraction of it.
	DefaultJitter = 0.2
)

// A RetryPolicy decides how long to wait before the next attempt of a
// failed delivery. It is consulted only for failures that may be retried
// (see [Classify]).
type RetryPolicy interface {
	// Backoff returns the wait after attempt number attempt (counting from
	// 1) failed, or false when no attempt is left.
	Backoff(attempt int) (wait time.Duration, ok bool)
}

// RetryPolicyFunc adapts a function to a [RetryPolicy].
type RetryPolicyFunc func(attempt int) (time.Duration, bool)

// Backoff calls f(attempt).
func (f RetryPolicyFunc) Backoff(attempt int) (time.Duration, bool) { return f(attempt) }

// BackOffPolicy is a [RetryPolicy] made from a [backoff.BackOff] of
// cenkalti/backoff: the wait after attempt n is the n-th NextBackOff of a
// fresh BackOff from New, and [backoff.Stop] ends the retries. Since a
// delivery's attempts may span restarts, the policy keeps no state
// between attempts: each call replays a fresh BackOff.
type BackOffPolicy struct {
	// New returns a fresh BackOff. Wrap it in [backoff.WithMaxRetries] to
	// bound the attempts.
	New func() backoff.BackOff
}

// Backoff implements [RetryPolicy].
func (p BackOffPolicy) Backoff(attempt int) (time.Duration, bool) {
	if attempt < 1 {
		return 0, false
	}
	b := p.New()
	var wait time.Duration
	for range attempt {
		if wait = b.NextBackOff(); wait == backoff.Stop {
			return 0, false
		}
	}
	return wait, true
}

// MisskeyBackOff is a [backoff.BackOff] yielding Misskey's schedule: the
// n-th wait is min((2^n - 1) * Base, Max) plus a random extra of up to
// Jitter of it, and after Attempts-1 waits it returns [backoff.Stop]. The
// zero value is Misskey's default: 4 attempts, about 60 s, 180 s and
// 420 s apart.
type MisskeyBackOff struct {
	// Attempts is how many attempts there are in all. Defaults to
	// DefaultAttempts.
	Attempts int
	// Base is the schedule's unit. Defaults to DefaultBackoffBase.
	Base time.Duration
	// Max caps each wait before jitter. Defaults to DefaultMaxBackoff.
	Max time.Duration
	// Jitter is the largest random extra, as a fraction of the wait.
	// Defaults to DefaultJitter; a negative value disables it.
	Jitter float64
	// Rand returns a number in [0, 1) for the jitter. Defaults to
	// math/rand/v2's Float64; set it for deterministic tests.
	Rand func() float64

	n int
}

// NextBackOff implements [backoff.BackOff].
func (b *MisskeyBackOff) NextBackOff() time.Duration {
	attempts := b.Attempts
	if attempts == 0 {
		attempts = DefaultAttempts
	}
	if b.n+1 >= attempts {
		return backoff.Stop
	}
	b.n++
	base, maxWait := b.Base, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxBackoff
	}
	wait := maxWait
	if b.n < 62 {
		if f := time.Duration(1<<b.n - 1); f <= maxWait/base {
			wait = min(f*base, maxWait)
		}
	}
	jitter := b.Jitter
	if jitter == 0 {
		jitter = DefaultJitter
	}
	if jitter > 0 {
		r := rand.Float64
		if b.Rand != nil {
			r = b.Rand
		}
		wait += time.Duration(float64(wait) * jitter * r())
	}
	return wait
}

// Reset implements [backoff.BackOff].
func (b *MisskeyBackOff) Reset() { b.n = 0 }

// DefaultRetryPolicy returns Misskey's policy: 4 attempts in all, waits of
// min((2^n - 1) * 60 s, 8 h) plus 0-20 % jitter.
func DefaultRetryPolicy() RetryPolicy {
	return BackOffPolicy{New: func() backoff.BackOff { return &MisskeyBackOff{} }}
}

// A Verdict is what to do after an attempt.
type Verdict uint8

// Verdicts.
const (
	// Delivered: the receiver accepted the delivery (2xx).
	Delivered Verdict = iota + 1
	// Retry: the failure may pass; try again if the policy allows.
	Retry
	// GiveUp: the failure is final (4xx but 429, a blocked address, a
	// [Permanent] error).
	GiveUp
)

// String returns "delivered", "retry" or "give up".
func (v Verdict) String() string {
	switch v {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case GiveUp:
		return "give up"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Classify maps an attempt's outcome to a verdict, as the table of SPEC.md
// says: a 2xx status is delivered; 4xx except 429 gives up; 429, 5xx and
// any other status are retried. Without a status (err != nil, resp nil):
// an error matching [ErrBlockedAddress], [PermanentError] or backoff's
// PermanentError gives up; any other (DNS, connect, TLS, reset, timeout)
// is retried.
func Classify(status int, err error) Verdict {
	if err != nil {
		var pe *PermanentError
		var bpe *backoff.PermanentError
		if errors.Is(err, ErrBlockedAddress) || errors.As(err, &pe) || errors.As(err, &bpe) {
			return GiveUp
		}
		return Retry
	}
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == http.StatusTooManyRequests:
		return Retry
	case status >= 400 && status < 500:
		return GiveUp
	}
	return Retry
}

// ParseRetryAfter reads a Retry-After header value, delay-seconds or an
// HTTP date, as a wait from now. It returns false when v is empty or
// malformed; a date in the past is a wait of 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return time.Duration(1<<63 - 1), true
			}
			return 0, false
		}
		if secs > int64((1<<63-1)/time.Second) {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
