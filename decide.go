package webhook

import (
	"fmt"
	"net/http"
	"time"
)

// An outcome is what one attempt came to: the input of decide.
type outcome struct {
	n          int           // the attempt's number, counting from 1
	at         time.Time     // when it began
	dur        time.Duration // how long it took
	status     int           // the HTTP status, 0 when there was none
	retryAfter string        // the response's Retry-After header
	body       []byte        // the response's first bytes
	err        error         // why there was no response, or a Permanent error
}

// decide returns the Result that settles delivery c after an attempt
// ending in o, and how the attempt was classified. A 2xx answer delivers;
// a final answer or error (see [Classify]) fails for good, as does a
// retryable one when policy has no attempt left; otherwise the delivery
// stays pending, due after policy's wait, or after the receiver's
// Retry-After (at most maxRetryAfter) when it sent one. It reads no clock
// and has no effect.
func decide(c *Claim, o outcome, policy RetryPolicy, maxRetryAfter time.Duration) (Result, Verdict) {
	verdict := Classify(o.status, o.err)
	r := Result{
		ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
		Attempt: Attempt{At: o.at, Duration: o.dur, Status: o.status, Response: o.body[:min(len(o.body), MaxResponseRecord)]},
	}
	switch verdict {
	case Delivered:
		r.State = StateDelivered
	case GiveUp:
		r.State = StateFailed
	case Retry:
		wait, ok := policy.Backoff(o.n)
		if ok && o.retryAfter != "" {
			if ra, valid := ParseRetryAfter(o.retryAfter, o.at); valid {
				wait = min(ra, maxRetryAfter)
			}
		}
		if ok {
			r.State, r.NextAttemptAt = StatePending, o.at.Add(o.dur).Add(wait)
		} else {
			r.State = StateFailed
		}
	}
	if o.err != nil {
		r.Attempt.Error = o.err.Error()
	} else if verdict != Delivered {
		r.Attempt.Error = fmt.Sprintf("status %d %s", o.status, http.StatusText(o.status))
	}
	r.Attempt.Retry = r.State == StatePending
	return r, verdict
}
