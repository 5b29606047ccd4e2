package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const dur = 2 * time.Second
	end := at.Add(dur)
	// The policy waits a minute per attempt number, and allows three.
	policy := RetryPolicyFunc(func(n int) (time.Duration, bool) { return time.Duration(n) * time.Minute, n < 3 })
	big := bytes.Repeat([]byte("x"), MaxResponseRecord+10)
	for _, tc := range []struct {
		name       string
		o          outcome
		verdict    Verdict
		state      State
		next       time.Time
		errText    string
		respLength int
	}{
		{name: "2xx delivers", o: outcome{n: 1, status: 204}, verdict: Delivered, state: StateDelivered},
		{name: "410 gives up", o: outcome{n: 1, status: 410}, verdict: GiveUp, state: StateFailed, errText: "status 410 Gone"},
		{name: "500 retries after the policy's wait", o: outcome{n: 2, status: 500}, verdict: Retry, state: StatePending,
			next: end.Add(2 * time.Minute), errText: "status 500 Internal Server Error"},
		{name: "no attempt left fails", o: outcome{n: 3, status: 503}, verdict: Retry, state: StateFailed,
			errText: "status 503 Service Unavailable"},
		{name: "Retry-After replaces the wait", o: outcome{n: 1, status: 429, retryAfter: "30"}, verdict: Retry,
			state: StatePending, next: end.Add(30 * time.Second), errText: "status 429 Too Many Requests"},
		{name: "Retry-After is capped", o: outcome{n: 1, status: 503, retryAfter: "999999"}, verdict: Retry,
			state: StatePending, next: end.Add(time.Hour), errText: "status 503 Service Unavailable"},
		{name: "a malformed Retry-After is ignored", o: outcome{n: 1, status: 503, retryAfter: "soon"}, verdict: Retry,
			state: StatePending, next: end.Add(time.Minute), errText: "status 503 Service Unavailable"},
		{name: "Retry-After does not add attempts", o: outcome{n: 3, status: 429, retryAfter: "1"}, verdict: Retry,
			state: StateFailed, errText: "status 429 Too Many Requests"},
		{name: "a network error retries", o: outcome{n: 1, err: errors.New("webhook: connection reset")}, verdict: Retry,
			state: StatePending, next: end.Add(time.Minute), errText: "webhook: connection reset"},
		{name: "a blocked address gives up", o: outcome{n: 1, err: fmt.Errorf("webhook: 127.0.0.1: %w", ErrBlockedAddress)},
			verdict: GiveUp, state: StateFailed, errText: "webhook: 127.0.0.1: " + ErrBlockedAddress.Error()},
		{name: "a Permanent error gives up", o: outcome{n: 1, err: Permanent(errors.New("webhook: bad signing secret"))},
			verdict: GiveUp, state: StateFailed, errText: "webhook: bad signing secret"},
		{name: "the response is cut to MaxResponseRecord", o: outcome{n: 1, status: 200, body: big}, verdict: Delivered,
			state: StateDelivered, respLength: MaxResponseRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Claim{Delivery: Delivery{ID: uuid.New(), HookID: "h1"}, Lease: 7}
			o := tc.o
			o.at, o.dur = at, dur
			r, verdict := decide(c, o, policy, time.Hour)
			require.Equal(t, tc.verdict, verdict)
			require.Equal(t, c.Delivery.ID, r.ID)
			require.Equal(t, "h1", r.HookID)
			require.Equal(t, int64(7), r.Lease)
			require.Equal(t, tc.state, r.State)
			require.Equal(t, tc.next, r.NextAttemptAt)
			require.Equal(t, at, r.Attempt.At)
			require.Equal(t, dur, r.Attempt.Duration)
			require.Equal(t, tc.o.status, r.Attempt.Status)
			require.Equal(t, tc.errText, r.Attempt.Error)
			require.Equal(t, tc.state == StatePending, r.Attempt.Retry)
			require.Len(t, r.Attempt.Response, tc.respLength)
		})
	}
}
