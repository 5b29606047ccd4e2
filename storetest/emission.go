package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// testEnqueueEvent checks a [webhook.EventEnqueuer]: an Emission gives the
// deliveries Enqueue would, each webhook its own eventId and the shared
// body, all or none.
func testEnqueueEvent(t *testing.T, s webhook.Store) {
	ee, ok := s.(webhook.EventEnqueuer)
	if !ok {
		t.Skip("the store is not an EventEnqueuer")
	}
	ctx := context.Background()
	a := mustCreate(t, s, newHook("u", webhook.EventNote))
	b := mustCreate(t, s, newHook("u", webhook.EventNote))
	body := []byte(`{"note":{"id":"9x","text":"héllo"}}`)
	em := &webhook.Emission{
		Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0, NextAttemptAt: t0.Add(time.Second),
		Body: body, Hooks: []*webhook.Webhook{a, b}, IDs: []uuid.UUID{uuid.New(), uuid.New()},
	}
	require.NoError(t, ee.EnqueueEvent(ctx, em))
	for i, w := range em.Hooks {
		got, err := s.GetDelivery(ctx, em.IDs[i])
		require.NoError(t, err)
		require.Equal(t, w.ID, got.HookID)
		require.Equal(t, "u", got.UserID)
		require.Equal(t, webhook.EventNote, got.Type)
		require.Equal(t, em.Server, got.Server)
		require.True(t, t0.Equal(got.CreatedAt), "CreatedAt %v", got.CreatedAt)
		require.True(t, em.NextAttemptAt.Equal(got.NextAttemptAt), "NextAttemptAt %v", got.NextAttemptAt)
		require.Equal(t, string(body), string(got.Body))
		require.Equal(t, webhook.StatePending, got.State)
		require.Zero(t, got.Attempts)
	}
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "not due before NextAttemptAt")
	cs, err = s.Claim(ctx, t0.Add(time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, em.IDs, claimIDs(cs))

	// All or none: a webhook that does not exist refuses the whole event.
	gone := &webhook.Webhook{ID: "no-such-hook", UserID: "u", On: a.On}
	bad := &webhook.Emission{
		Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0, NextAttemptAt: t0,
		Body: body, Hooks: []*webhook.Webhook{a, gone}, IDs: []uuid.UUID{uuid.New(), uuid.New()},
	}
	require.ErrorIs(t, ee.EnqueueEvent(ctx, bad), webhook.ErrNotFound)
	_, err = s.GetDelivery(ctx, bad.IDs[0])
	require.ErrorIs(t, err, webhook.ErrNotFound)
}
