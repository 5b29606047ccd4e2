package webhook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// TestShutdownDeadlineReleasesClaims: with 2 workers the Dispatcher keeps
// one more claim waiting. When Shutdown's context ends, the two attempts
// in flight are interrupted, and they and the waiting claim are handed
// back, due at once, not left leased until their leases run out; Shutdown
// counts what the memory store is left with.
func TestShutdownDeadlineReleasesClaims(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 10)
	hang := webhook.TransportFunc(func(c context.Context, _ *webhook.Request) (*webhook.Response, error) {
		arrived <- struct{}{}
		<-c.Done() // a receiver that never answers
		return nil, c.Err()
	})
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: hang, Workers: 2})
	require.NoError(t, err)
	for range 5 {
		webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	}
	require.NoError(t, d.Start(ctx))
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	<-arrived
	<-arrived // both workers busy: 3 claimed, 2 in flight, 1 waiting

	expired, cancel := context.WithCancel(ctx)
	cancel()
	err = d.Shutdown(expired)
	require.ErrorIs(t, err, webhook.ErrUndelivered)
	require.ErrorIs(t, err, context.Canceled)
	var ue *webhook.UndeliveredError
	require.True(t, errors.As(err, &ue))
	require.Equal(t, int64(5), ue.Pending)
	require.Contains(t, err.Error(), "shutdown left 5 deliveries pending")

	// All five are due again now, none attempted.
	claims, err := store.Claim(ctx, time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 5)
	for _, c := range claims {
		require.Equal(t, 0, c.Delivery.Attempts, "released without an attempt")
	}
}
