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

// TestShutdownDeliversWhatIsDue: Shutdown right after 100 Emits returned
// nil at once with none of them delivered and all 100 left in the memory
// store. It delivers what is due first, as http.Server.Shutdown finishes
// the requests under way.
func TestShutdownDeliversWhatIsDue(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr})
	require.NoError(t, err)
	one := webhooktest.CreateHook(t, d, "u", webhook.EventNote) // over MaxInFlightPerHook many times
	other := webhooktest.CreateHook(t, d, "v", webhook.EventNote)
	require.NoError(t, d.Start(ctx))
	for range 100 {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	}
	require.NoError(t, d.Emit(ctx, "v", webhook.EventNote, noteBody("y")))
	bound, cancel := context.WithTimeout(ctx, time.Minute) // a failure bound, not synchronisation
	defer cancel()
	require.NoError(t, d.Shutdown(bound))
	require.Len(t, tr.To(one.ID), 100)
	require.Len(t, tr.To(other.ID), 1)
	st, err := store.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// durableStore hides the MemoryStore's VolatileStore, as a store that
// keeps its deliveries across restarts.
type durableStore struct{ webhook.Store }

// TestShutdownReportsWhatIsLost: retries not yet due are lost with a
// memory store, and Shutdown says how many; a store that keeps them
// returns nil.
func TestShutdownReportsWhatIsLost(t *testing.T) {
	t.Parallel()
	for _, volatile := range []bool{true, false} {
		tr := webhooktest.NewTransport()
		ms, err := webhook.NewMemoryStore(nil)
		require.NoError(t, err)
		var s webhook.Store = ms
		if !volatile {
			s = durableStore{ms}
		}
		d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: tr})
		require.NoError(t, err)
		h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
		tr.SetDefault(webhooktest.Reply{Status: 503})
		for range 3 {
			require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
		}
		require.NoError(t, d.Start(ctx))
		err = d.Shutdown(ctx)
		require.Len(t, tr.To(h.ID), 3, "each attempted once; the retries are due in a minute")
		if !volatile {
			require.NoError(t, err)
			continue
		}
		var ue *webhook.UndeliveredError
		require.True(t, errors.As(err, &ue), "%v", err)
		require.ErrorIs(t, err, webhook.ErrUndelivered)
		require.Equal(t, int64(3), ue.Pending)
		require.NoError(t, ue.Err, "Shutdown's context did not end")
	}
}
