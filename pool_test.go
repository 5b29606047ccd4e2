package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// TestShutdownReleasesWaitingClaims: with 2 workers the Dispatcher keeps
// one more claim waiting; at Shutdown that claim is handed back, due at
// once, not left leased until its lease runs out.
func TestShutdownReleasesWaitingClaims(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	tr.OnSend(func(webhooktest.Received) {
		arrived <- struct{}{}
		<-release
	})
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr, Workers: 2})
	require.NoError(t, err)
	for range 5 {
		webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	}
	require.NoError(t, d.Start(ctx))
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	<-arrived
	<-arrived // both workers busy: 3 claimed, 2 in flight, 1 waiting

	done := startShutdown(t, d) // from here no waiting claim starts
	close(release)
	require.NoError(t, <-done)
	require.Len(t, tr.Requests(), 2, "only the two in flight were sent")

	// The waiting claim is due again now, with the two never claimed.
	claims, err := store.Claim(ctx, time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 3)
	for _, c := range claims {
		require.Equal(t, 0, c.Delivery.Attempts, "released without an attempt")
	}
}
