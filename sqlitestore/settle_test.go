package sqlitestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestSettleSameDeliveryTwiceFirstWins: of two results for one delivery
// in one Settle, the storetest suite requires that one is applied and the
// other refused; this store applies them in order, so the first wins.
func TestSettleSameDeliveryTwiceFirstWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := createHook(t, s, "u")
	d := delivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
	cs := claimAll(t, s, t0)
	require.Len(t, cs, 1)
	res := func(st webhook.State, status int, at time.Time) webhook.Result {
		return webhook.Result{ID: d.ID, HookID: w.ID, Lease: cs[0].Lease, State: st,
			NextAttemptAt: t0.Add(time.Hour), Attempt: webhook.Attempt{At: at, Status: status}}
	}
	err := s.Settle(ctx, []webhook.Result{
		res(webhook.StateDelivered, 200, t0.Add(time.Second)),
		res(webhook.StateFailed, 400, t0.Add(2*time.Second)),
	})
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 200, got.LastStatus)
}

// TestDeletedHookPKNeverReused: a webhook deleted and created again with
// the same ID gets a new pk, even when the deleted one had the highest,
// so that a claim racing the deletion cannot read the new webhook as its
// delivery's. (The storetest suite checks what a Store user sees of a
// deleted and recreated webhook.)
func TestDeletedHookPKNeverReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, path := newStore(t, nil)
	db := openDB(t, path)
	hookPK := func(id string) (pk int64) {
		t.Helper()
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pk FROM webhook_hooks WHERE id = ?`, id).Scan(&pk))
		return pk
	}
	old := createHook(t, s, "u")
	oldPK := hookPK(old.ID)
	require.NoError(t, s.DeleteHook(ctx, old.ID))
	require.NoError(t, s.CreateHook(ctx, old.Clone(), 0))
	require.Greater(t, hookPK(old.ID), oldPK, "a deleted webhook's pk is never reused")
}
