package sqlitestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// createOrdered creates an Ordered webhook of userID.
func createOrdered(t testing.TB, s webhook.HookStore, userID string) *webhook.Webhook {
	t.Helper()
	w := &webhook.Webhook{
		ID: uuid.NewString(), UserID: userID, Name: "fifo", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.example/fifo", Secret: "s3cret", Active: true, Ordered: true,
	}
	require.NoError(t, s.CreateHook(context.Background(), w, 0))
	return w
}

// TestOrderedRedeliver: a redelivered finished delivery of an ordered
// webhook goes to the end of its order with its attempts; a redelivered
// pending one keeps its place, held behind the head.
func TestOrderedRedeliver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := createOrdered(t, s, "u")
	var ids []uuid.UUID
	for range 3 {
		d := delivery(w, t0, []byte(`{}`))
		require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
		ids = append(ids, d.ID)
	}
	claimOne := func(now time.Time) webhook.Claim {
		t.Helper()
		cs := claimAll(t, s, now)
		require.Len(t, cs, 1)
		return cs[0]
	}
	c := claimOne(t0)
	require.Equal(t, ids[0], c.Delivery.ID)
	settleAll(t, s, []webhook.Claim{c}, webhook.StateFailed, t0)

	// ids[2], pending behind ids[1], keeps its place when redelivered.
	require.NoError(t, s.Redeliver(ctx, ids[2], t0))
	// ids[0], failed, goes to the end.
	require.NoError(t, s.Redeliver(ctx, ids[0], t0))
	var order []uuid.UUID
	for range 3 {
		c := claimOne(t0.Add(time.Second))
		require.Empty(t, claimAll(t, s, t0.Add(time.Second)), "one at a time")
		order = append(order, c.Delivery.ID)
		settleAll(t, s, []webhook.Claim{c}, webhook.StateFailed, t0.Add(time.Second))
	}
	require.Equal(t, []uuid.UUID{ids[1], ids[2], ids[0]}, order)
	as, err := s.ListAttempts(ctx, ids[0])
	require.NoError(t, err)
	require.Len(t, as, 2, "the attempts follow a delivery to the end of the order")

	// RecoverFailed puts them back in the order of their last attempts.
	n, err := s.RecoverFailed(ctx, w.ID, t0, t0.Add(2*time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	order = order[:0]
	for range 3 {
		c := claimOne(t0.Add(3 * time.Second))
		order = append(order, c.Delivery.ID)
		settleAll(t, s, []webhook.Claim{c}, webhook.StateDelivered, t0.Add(3*time.Second))
	}
	require.ElementsMatch(t, ids, order)
	require.Empty(t, claimAll(t, s, t0.Add(time.Hour)))
}

// TestOrderedLeaseExpiry: the head of an ordered webhook whose worker died
// is claimed again when its lease expires, before the next one; another
// webhook's deliveries flow meanwhile.
func TestOrderedLeaseExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := createOrdered(t, s, "u")
	plain := createHook(t, s, "u")
	d1, d2 := delivery(w, t0, []byte(`{}`)), delivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d1, d2}))
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, d1.ID, cs[0].Delivery.ID)
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{delivery(plain, t0, []byte(`{}`))}))
	cs, err = s.Claim(ctx, t0.Add(30*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, plain.ID, cs[0].Delivery.HookID, "an ordered webhook holds back only itself")
	cs, err = s.Claim(ctx, t0.Add(time.Minute), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, d1.ID, cs[0].Delivery.ID, "the expired head first")
	require.Equal(t, int64(2), cs[0].Lease)
}

// TestOrderedDeleteHook: deleting an ordered webhook takes its held
// deliveries with it, and its leased head's result is skipped.
func TestOrderedDeleteHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := createOrdered(t, s, "u")
	d := delivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d, delivery(w, t0, []byte(`{}`))}))
	c := claimAll(t, s, t0)
	require.Len(t, c, 1)
	require.NoError(t, s.DeleteHook(ctx, w.ID))
	require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: d.ID, HookID: w.ID, Lease: c[0].Lease,
		State: webhook.StateDelivered, Attempt: webhook.Attempt{At: t0, Status: 200}}}),
		"a result for a deleted delivery is skipped")
	require.Empty(t, claimAll(t, s, t0.Add(time.Hour)))
}
