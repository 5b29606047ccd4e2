package sqlitestore_test

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestListingInBulk: deliveries are enqueued unlisted and listed in bulk
// once about a thousand wait (see listing.go). A webhook's listing, its
// state filter and its cursor, and DeleteHook, see every delivery, listed
// or not, in the right order.
func TestListingInBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	db, ok := dbOf.Load(s)
	require.True(t, ok)
	h1, h2 := createHook(t, s, "u1"), createHook(t, s, "u2")
	body := []byte(`{"note":{}}`)

	// 1,100 deliveries in one transaction, more than a bulk listing's
	// worth, then 30 more, one Enqueue each, which stay unlisted. Their
	// creation times repeat and go back and forth, so that the listing's
	// order, by (createdAt, ID), is not the enqueue order.
	var want []*webhook.Delivery // h1's
	var ds []*webhook.Delivery
	for i := range 1100 {
		w := []*webhook.Webhook{h1, h2}[i%2]
		d := delivery(w, t0, body)
		d.CreatedAt = t0.Add(time.Duration((i*7919)%500) * time.Millisecond)
		ds = append(ds, d)
	}
	require.NoError(t, s.Enqueue(ctx, ds))
	for i := range 30 {
		w := []*webhook.Webhook{h1, h2}[i%2]
		d := delivery(w, t0, body)
		d.CreatedAt = t0.Add(time.Duration((i*31)%600) * time.Millisecond)
		require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
		ds = append(ds, d)
	}
	for _, d := range ds {
		if d.HookID == h1.ID {
			want = append(want, d)
		}
	}
	var listed, unlisted int
	require.NoError(t, db.(*sql.DB).QueryRowContext(ctx,
		`SELECT count(*) FILTER (WHERE listed = 1), count(*) FILTER (WHERE listed = 0) FROM webhook_deliveries`).Scan(&listed, &unlisted))
	require.Equal(t, 1100, listed, "the first transaction's were listed in bulk")
	require.Equal(t, 30, unlisted)

	// Some of each delivered, so that the state filter has both kinds.
	var delivered []uuid.UUID
	for _, i := range []int{0, 2, 4, 1098, 1100, 1102} { // h1's, listed and not
		delivered = append(delivered, ds[i].ID)
	}
	cs, err := s.Claim(ctx, t0, 2000, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, len(ds))
	var rs []webhook.Result
	for _, c := range cs {
		st, next := webhook.StatePending, t0.Add(time.Hour)
		if slices.Contains(delivered, c.Delivery.ID) {
			st, next = webhook.StateDelivered, time.Time{}
		}
		rs = append(rs, webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: st,
			NextAttemptAt: next, Attempt: webhook.Attempt{At: t0, Status: 204}})
	}
	require.NoError(t, s.Settle(ctx, rs))

	slices.SortFunc(want, func(a, b *webhook.Delivery) int {
		return -cmp.Or(a.CreatedAt.Compare(b.CreatedAt), slices.Compare(a.ID[:], b.ID[:]))
	})
	list := func(state webhook.State) []uuid.UUID {
		var ids []uuid.UUID
		q := webhook.DeliveryQuery{HookID: h1.ID, State: state, Limit: 97}
		for {
			page, err := s.ListDeliveries(ctx, q)
			require.NoError(t, err)
			for _, d := range page.Deliveries {
				ids = append(ids, d.ID)
			}
			if page.Next == "" {
				return ids
			}
			q.Cursor = page.Next
		}
	}
	var all, pending []uuid.UUID
	for _, d := range want {
		all = append(all, d.ID)
		if !slices.Contains(delivered, d.ID) {
			pending = append(pending, d.ID)
		}
	}
	require.Equal(t, all, list(0))
	require.Equal(t, pending, list(webhook.StatePending))
	require.ElementsMatch(t, delivered, list(webhook.StateDelivered))

	// DeleteHook takes h1's deliveries, listed and not, and leaves h2's.
	require.NoError(t, s.DeleteHook(ctx, h1.ID))
	page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: h1.ID})
	require.NoError(t, err)
	require.Empty(t, page.Deliveries)
	for _, d := range ds {
		_, err := s.GetDelivery(ctx, d.ID)
		if d.HookID == h1.ID {
			require.ErrorIs(t, err, webhook.ErrNotFound)
		} else {
			require.NoError(t, err)
		}
	}
	page, err = s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: h2.ID, Limit: 500})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 500)
	require.NotEmpty(t, page.Next)
}

// TestListingKeepsPKsAboveListed: after the deliveries with the highest
// pks are deleted, new ones still take pks above every listed one, so
// that a listing finds them.
func TestListingKeepsPKsAboveListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	h1, h2 := createHook(t, s, "u1"), createHook(t, s, "u2")
	body := []byte(`{}`)
	var ds []*webhook.Delivery
	for range 1100 {
		ds = append(ds, delivery(h1, t0, body))
	}
	require.NoError(t, s.Enqueue(ctx, ds))                                          // listed in bulk
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{delivery(h2, t0, body)})) // the highest pk
	require.NoError(t, s.DeleteHook(ctx, h1.ID))                                    // leaves it alone
	require.NoError(t, s.DeleteHook(ctx, h2.ID))                                    // now the table is empty
	h3 := createHook(t, s, "u3")
	d := delivery(h3, t0, body)
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
	page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: h3.ID})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 1)
	require.Equal(t, d.ID, page.Deliveries[0].ID)
}
