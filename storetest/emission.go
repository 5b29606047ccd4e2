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

// testEnqueueAndClaim checks a [webhook.EnqueueClaimer]: the deliveries it
// claims are the first max of webhooks that are not Ordered, leased as a
// Claim's would be (no other claim takes them until the lease lapses,
// their results settle with the lease returned, and a late one is
// refused), each Hook with a current FailingSince; the others are
// enqueued as EnqueueEvent would; and a webhook that does not exist
// refuses the whole event, claims included.
func testEnqueueAndClaim(t *testing.T, s webhook.Store) {
	ec := s.(webhook.EnqueueClaimer)
	ctx := context.Background()
	failing := mustCreate(t, s, newHook("u"))
	// failing's record as a webhook view read before its failure: the
	// claim must carry the FailingSince the store has now.
	stale := failing.Clone()
	enqueue(t, s, newDelivery(failing, t0, `{}`))
	settle(t, s, claimOne(t, s, t0), webhook.StateFailed, 500)
	ordered := newHook("u")
	ordered.Ordered = true
	ordered = mustCreate(t, s, ordered)
	plain := mustCreate(t, s, newHook("u"))
	last := mustCreate(t, s, newHook("u"))
	body := []byte(`{"note":{"id":"9y"}}`)
	now := t0.Add(2 * time.Second)
	em := &webhook.Emission{
		Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: now, NextAttemptAt: now,
		Body: body, Hooks: []*webhook.Webhook{stale, ordered, plain, last},
		IDs: []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()},
	}
	cs, err := ec.EnqueueAndClaim(ctx, em, now, 2, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{em.IDs[0], em.IDs[2]}, claimIDs(cs), "the first two of webhooks not Ordered")
	for i, c := range cs {
		w := em.Hooks[2*i]
		require.Equal(t, w.ID, c.Hook.ID)
		require.Equal(t, w.URL, c.Hook.URL)
		require.Equal(t, w.ID, c.Delivery.HookID)
		require.Equal(t, "u", c.Delivery.UserID)
		require.Equal(t, webhook.EventNote, c.Delivery.Type)
		require.Equal(t, em.Server, c.Delivery.Server)
		require.Equal(t, string(body), string(c.Delivery.Body))
		require.True(t, now.Equal(c.Delivery.CreatedAt), "CreatedAt %v", c.Delivery.CreatedAt)
		require.True(t, now.Equal(c.Delivery.NextAttemptAt), "NextAttemptAt %v", c.Delivery.NextAttemptAt)
		require.Equal(t, webhook.StatePending, c.Delivery.State)
		require.Zero(t, c.Delivery.Attempts)
		require.NotZero(t, c.Lease)
	}
	require.NotNil(t, cs[0].Hook.FailingSince, "the webhook's current FailingSince")
	require.True(t, t0.Add(time.Second).Equal(*cs[0].Hook.FailingSince), "FailingSince %v", cs[0].Hook.FailingSince)
	require.Nil(t, stale.FailingSince, "em.Hooks are not modified")
	require.Nil(t, cs[1].Hook.FailingSince)

	// The others are claimable, the claimed ones are not.
	others, err := s.Claim(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{em.IDs[1], em.IDs[3]}, claimIDs(others))
	for _, c := range others {
		settle(t, s, c, webhook.StateDelivered, 204)
	}

	// A claimed delivery settles with its lease.
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(cs[1], webhook.StateDelivered, 204)}))
	got, err := s.GetDelivery(ctx, em.IDs[2])
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	// One whose lease lapsed is claimed again, and its late result refused.
	again, err := s.Claim(ctx, now.Add(time.Minute), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{em.IDs[0]}, claimIDs(again))
	require.NotEqual(t, cs[0].Lease, again[0].Lease)
	require.ErrorIs(t, s.Settle(ctx, []webhook.Result{result(cs[0], webhook.StateDelivered, 204)}), webhook.ErrLeaseLost)

	// All or none, claims included.
	gone := &webhook.Webhook{ID: "no-such-hook", UserID: "u", On: plain.On}
	bad := &webhook.Emission{
		Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: now, NextAttemptAt: now,
		Body: body, Hooks: []*webhook.Webhook{plain, gone}, IDs: []uuid.UUID{uuid.New(), uuid.New()},
	}
	cs, err = ec.EnqueueAndClaim(ctx, bad, now, 2, time.Minute)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.Empty(t, cs)
	_, err = s.GetDelivery(ctx, bad.IDs[0])
	require.ErrorIs(t, err, webhook.ErrNotFound)
}
