package sqlitestore_test

// Store-specific tests of cases proposed for storetest: each uses only
// the webhook.Store interface, but for the pk check of
// TestDeleteCreateNeverPairs, so it can move there as is.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestSettleSameDeliveryTwice: two results for one delivery in one Settle
// are applied in order: the first wins, the second finds its lease spent
// and is reported with ErrLeaseLost, and only the first is recorded
// (state, attempts, history, the webhook's status and failing streak).
func TestSettleSameDeliveryTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		first, second webhook.State
	}{
		{"retry then delivered", webhook.StatePending, webhook.StateDelivered},
		{"delivered then failed", webhook.StateDelivered, webhook.StateFailed},
		{"failed then retry", webhook.StateFailed, webhook.StatePending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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
			status := map[webhook.State]int{webhook.StatePending: 503, webhook.StateDelivered: 200, webhook.StateFailed: 400}
			err := s.Settle(ctx, []webhook.Result{
				res(tc.first, status[tc.first], t0.Add(time.Second)),
				res(tc.second, status[tc.second], t0.Add(2*time.Second)),
			})
			require.ErrorIs(t, err, webhook.ErrLeaseLost)

			got, err := s.GetDelivery(ctx, d.ID)
			require.NoError(t, err)
			require.Equal(t, tc.first, got.State)
			require.Equal(t, 1, got.Attempts)
			require.Equal(t, status[tc.first], got.LastStatus)
			require.True(t, t0.Add(time.Second).Equal(got.LastAttemptAt))
			as, err := s.ListAttempts(ctx, d.ID)
			require.NoError(t, err)
			require.Len(t, as, 1)
			h, err := s.GetHook(ctx, w.ID)
			require.NoError(t, err)
			require.NotNil(t, h.LatestStatus)
			require.Equal(t, status[tc.first], *h.LatestStatus)
			require.Equal(t, tc.first != webhook.StateDelivered, h.FailingSince != nil)
		})
	}
}

// TestDeleteCreateNeverPairs: after a webhook is deleted and one with the
// same ID created, no delivery of the old one is claimed, listed, found or
// settled against the new one; the old claim's result is skipped
// silently; and the new webhook gets a new pk, so that a claim racing the
// deletion cannot read it as its delivery's webhook.
func TestDeleteCreateNeverPairs(t *testing.T) {
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
	leased, queued := delivery(old, t0, []byte(`{"old":1}`)), delivery(old, t0.Add(time.Second), []byte(`{"old":2}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{leased, queued}))
	cs, err := s.Claim(ctx, t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.NoError(t, s.DeleteHook(ctx, old.ID))

	// The same ID, another URL and secret. The deleted webhook had the
	// highest pk; the new one must not get it.
	renewed := *old
	renewed.URL, renewed.Secret = "https://other.example/", "other"
	require.NoError(t, s.CreateHook(ctx, &renewed, 0))
	require.Greater(t, hookPK(old.ID), oldPK, "a deleted webhook's pk is never reused")
	fresh := delivery(&renewed, t0, []byte(`{"new":1}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{fresh}))

	require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: leased.ID, HookID: old.ID, Lease: cs[0].Lease,
		State: webhook.StateDelivered, Attempt: webhook.Attempt{At: t0, Status: 200}}}),
		"the result of a deleted delivery is skipped silently")
	h, err := s.GetHook(ctx, old.ID)
	require.NoError(t, err)
	require.Nil(t, h.LatestStatus, "nor does it touch the new webhook")

	cs = claimAll(t, s, t0.Add(time.Hour))
	require.Len(t, cs, 1)
	require.Equal(t, fresh.ID, cs[0].Delivery.ID)
	require.Equal(t, "https://other.example/", cs[0].Hook.URL)
	for _, id := range []*webhook.Delivery{leased, queued} {
		_, err := s.GetDelivery(ctx, id.ID)
		require.ErrorIs(t, err, webhook.ErrNotFound)
	}
	page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: old.ID})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 1)
	require.Equal(t, fresh.ID, page.Deliveries[0].ID)
}
