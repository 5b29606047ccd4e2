package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecoveredIsForgotten: the webhooks whose recovery was reported
// were kept for the Dispatcher's life, one entry each; they are swept
// once no delivery claimed during the spell can still be settled.
func TestRecoveredIsForgotten(t *testing.T) {
	t.Parallel()
	d, err := New(nil, &Config{Host: "example.tld", Lease: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(context.Background())) })
	now := time.Unix(1e9, 0)
	spell := now.Add(-time.Hour)
	for i := range 100 {
		w := &Webhook{ID: fmt.Sprint("h", i), FailingSince: &spell}
		require.True(t, d.firstRecovery(w, now))
		require.False(t, d.firstRecovery(w, now), "reported once per spell")
	}
	d.sweep(now.Add(time.Minute))
	require.Len(t, d.recovered, 100, "a lease has not passed")
	d.sweep(now.Add(time.Minute + time.Second))
	require.Empty(t, d.recovered)
}
