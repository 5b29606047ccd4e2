package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// testDisableHook checks DisableHook's conditions: it disables only an
// active webhook whose URL is still the one given and, when asked, that
// has been failing since before a time, changes nothing else, and says
// whether it did.
func testDisableHook(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	get := func(id string) *webhook.Webhook {
		t.Helper()
		h, err := s.GetHook(ctx, id)
		require.NoError(t, err)
		return h
	}
	w := mustCreate(t, s, newHook("u", webhook.EventNote))

	// The owner changed the URL since the failing attempt: left alone.
	moved := w.Clone()
	moved.URL, moved.Name = "https://new.example/", "renamed"
	require.NoError(t, s.UpdateHook(ctx, moved))
	was, err := s.DisableHook(ctx, w.ID, w.URL, time.Time{})
	require.NoError(t, err)
	require.Nil(t, was)
	require.True(t, get(w.ID).Active)

	// The URL is still the failing one: disabled, nothing else changed.
	was, err = s.DisableHook(ctx, w.ID, moved.URL, time.Time{})
	require.NoError(t, err)
	require.NotNil(t, was)
	require.Equal(t, w.ID, was.ID)
	require.True(t, was.Active, "the webhook as it was before")
	require.Equal(t, "renamed", was.Name)
	got := get(w.ID)
	require.False(t, got.Active)
	require.Equal(t, "renamed", got.Name)
	require.Equal(t, moved.URL, got.URL)
	require.Equal(t, w.Secret, got.Secret)
	require.Equal(t, w.On, got.On)
	hooks, err := s.MatchHooks(ctx, "u", webhook.EventNote)
	require.NoError(t, err)
	require.Empty(t, hooks, "a disabled webhook matches no event")

	// Already inactive, or missing: nothing to do.
	was, err = s.DisableHook(ctx, w.ID, moved.URL, time.Time{})
	require.NoError(t, err)
	require.Nil(t, was)
	was, err = s.DisableHook(ctx, "no-such-hook", moved.URL, time.Time{})
	require.NoError(t, err)
	require.Nil(t, was)

	// failingBefore: only a webhook failing since then or earlier.
	f := mustCreate(t, s, newHook("u", webhook.EventNote))
	was, err = s.DisableHook(ctx, f.ID, f.URL, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Nil(t, was, "not failing at all")
	d := newDelivery(f, t0, `{}`)
	enqueue(t, s, d)
	c := claimOne(t, s, t0)
	r := result(c, webhook.StatePending, 503)
	r.Attempt.At, r.NextAttemptAt = t0, t0.Add(time.Hour)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
	was, err = s.DisableHook(ctx, f.ID, f.URL, t0.Add(-time.Second))
	require.NoError(t, err)
	require.Nil(t, was, "failing, but since after failingBefore")
	require.True(t, get(f.ID).Active)
	was, err = s.DisableHook(ctx, f.ID, f.URL, t0)
	require.NoError(t, err)
	require.NotNil(t, was)
	require.NotNil(t, was.FailingSince)
	require.True(t, t0.Equal(*was.FailingSince))
	require.False(t, get(f.ID).Active)
}
