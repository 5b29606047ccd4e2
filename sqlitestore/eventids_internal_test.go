package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// noteDeliveries returns deliveries of a note to the webhook "h1" of
// user "u", one per ID.
func noteDeliveries(ids ...uuid.UUID) []*webhook.Delivery {
	now := time.Now()
	ds := make([]*webhook.Delivery, len(ids))
	for i, id := range ids {
		ds[i] = &webhook.Delivery{ID: id, HookID: "h1", UserID: "u", Type: webhook.EventNote, Server: "https://s.example",
			CreatedAt: now.Truncate(time.Millisecond), NextAttemptAt: now, Body: []byte(`{"note":{}}`)}
	}
	return ds
}

// seqs returns the seq column of every delivery, by pk; -1 for NULL.
func seqs(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT coalesce(seq, -1) FROM webhook_deliveries ORDER BY pk`)
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestMintedEventIDs checks that a migrated Store mints version 4
// eventIds from its range, in order, keeps their sequence numbers, and
// finds its deliveries by them through every lookup by eventId, as it
// finds those whose eventIds it did not make.
func TestMintedEventIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newHookedStore(t)
	e := s.ids.Load()
	require.NotNil(t, e)
	require.NotZero(t, e.base, "Migrate took a range")

	ids := make([]uuid.UUID, 5)
	s.MintEventIDs(ids)
	seen := map[uuid.UUID]bool{}
	for i, id := range ids {
		require.EqualValues(t, 4, id.Version())
		require.Equal(t, uuid.RFC4122, id.Variant())
		require.False(t, seen[id])
		seen[id] = true
		n, ok := e.perm.Seq(id)
		require.True(t, ok)
		require.Equal(t, e.base|uint64(i+1), n, "the range's numbers in order")
	}
	foreign := uuid.New()
	require.NoError(t, s.Enqueue(ctx, noteDeliveries(append(ids, foreign)...)))
	got := seqs(t, s.db)
	require.Len(t, got, 6)
	for i := range ids {
		require.Equal(t, int64(e.base)|int64(i+1), got[i])
	}
	require.Equal(t, int64(-1), got[5], "an eventId the Store did not make has no seq")

	for _, id := range append(ids, foreign) {
		d, err := s.GetDelivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, id, d.ID)
	}
	_, err := s.GetDelivery(ctx, uuid.New())
	require.ErrorIs(t, err, webhook.ErrNotFound)

	// The same eventId twice, minted or not, is refused.
	err = s.Enqueue(ctx, noteDeliveries(ids[2]))
	require.ErrorIs(t, err, webhook.ErrConflict)
	err = s.Enqueue(ctx, noteDeliveries(foreign))
	require.ErrorIs(t, err, webhook.ErrConflict)

	// Settle finds claimed deliveries by their eventIds, then the
	// history and Redeliver do.
	cs, err := s.Claim(ctx, time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 6)
	rs := make([]webhook.Result, len(cs))
	for i, c := range cs {
		rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: webhook.StateDelivered,
			Attempt: webhook.Attempt{At: time.Now(), Status: 204}}
	}
	require.NoError(t, s.Settle(ctx, rs))
	for _, id := range []uuid.UUID{ids[0], foreign} {
		d, err := s.GetDelivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, webhook.StateDelivered, d.State)
		as, err := s.ListAttempts(ctx, id)
		require.NoError(t, err)
		require.Len(t, as, 1)
		require.Equal(t, 204, as[0].Status)
		require.NoError(t, s.Redeliver(ctx, id, time.Now()))
		d, err = s.GetDelivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, webhook.StatePending, d.State)
	}
	// A result for a delivery that is gone is skipped, found by eventId
	// or not.
	gone := make([]uuid.UUID, 1)
	s.MintEventIDs(gone)
	require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: gone[0], HookID: "h1", Lease: 1, State: webhook.StateDelivered,
		Attempt: webhook.Attempt{At: time.Now(), Status: 204}}}))
}

// TestEventIDRanges checks that Stores over one database, each migrated,
// mint from ranges of their own, read each other's eventIds, and that a
// Store that has not run Migrate mints random ones and still finds every
// delivery; a second Migrate keeps a Store's range.
func TestEventIDRanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newHookedStore(t)
	var path string
	require.NoError(t, a.db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path))
	open := func() *Store {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		s, err := New(db, nil)
		require.NoError(t, err)
		return s
	}
	require.Equal(t, "w.db", filepath.Base(path))
	b := open()
	require.NoError(t, b.Migrate(ctx))
	ea, eb := a.ids.Load(), b.ids.Load()
	require.NotEqual(t, ea.base, eb.base)
	require.NotZero(t, eb.base)

	c := open() // never migrated
	idsA, idsB, idsC := make([]uuid.UUID, 3), make([]uuid.UUID, 3), make([]uuid.UUID, 3)
	a.MintEventIDs(idsA)
	b.MintEventIDs(idsB)
	c.MintEventIDs(idsC)
	for _, id := range idsC {
		require.EqualValues(t, 4, id.Version())
		_, ok := ea.perm.Seq(id)
		require.False(t, ok, "a Store without a range mints random eventIds")
	}
	require.NoError(t, a.Enqueue(ctx, noteDeliveries(idsA...)))
	require.NoError(t, b.Enqueue(ctx, noteDeliveries(idsB...)))
	require.NoError(t, c.Enqueue(ctx, noteDeliveries(idsC...)))
	got := seqs(t, a.db)
	require.Len(t, got, 9)
	for i := range 3 {
		require.Equal(t, int64(ea.base)|int64(i+1), got[i])
		require.Equal(t, int64(eb.base)|int64(i+1), got[3+i])
		require.Equal(t, int64(-1), got[6+i])
	}
	for _, s := range []*Store{a, b, c} {
		for _, id := range append(append(append([]uuid.UUID{}, idsA...), idsB...), idsC...) {
			d, err := s.GetDelivery(ctx, id)
			require.NoError(t, err)
			require.Equal(t, id, d.ID)
		}
	}

	require.NoError(t, a.Migrate(ctx))
	require.Same(t, ea, a.ids.Load(), "a second Migrate keeps the range")
	more := make([]uuid.UUID, 1)
	a.MintEventIDs(more)
	n, ok := ea.perm.Seq(more[0])
	require.True(t, ok)
	require.Equal(t, ea.base|4, n)

	require.NoError(t, c.Migrate(ctx))
	ec := c.ids.Load()
	require.NotZero(t, ec.base)
	require.NotEqual(t, ea.base, ec.base)
	require.NotEqual(t, eb.base, ec.base)
}

// TestEventIDRangeSpent checks that a Store whose range is spent goes on
// with random eventIds.
func TestEventIDRangeSpent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newHookedStore(t)
	e := s.ids.Load()
	e.n.Store(1<<counterBits - 2)
	ids := make([]uuid.UUID, 3)
	s.MintEventIDs(ids)
	n, ok := e.perm.Seq(ids[0])
	require.True(t, ok)
	require.Equal(t, e.base|(1<<counterBits-1), n)
	for _, id := range ids[1:] {
		require.EqualValues(t, 4, id.Version())
		_, ok := e.perm.Seq(id)
		require.False(t, ok)
	}
	require.NoError(t, s.Enqueue(ctx, noteDeliveries(ids...)))
	for _, id := range ids {
		_, err := s.GetDelivery(ctx, id)
		require.NoError(t, err)
	}
}
