package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

func testHook(id, userID string) *webhook.Webhook {
	return &webhook.Webhook{
		ID: id, UserID: userID, Name: "hook " + id, On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.example/" + id, Secret: "s3cret", Active: true,
	}
}

func testDelivery(w *webhook.Webhook, due time.Time, body []byte) *webhook.Delivery {
	return &webhook.Delivery{
		ID: uuid.New(), HookID: w.ID, UserID: w.UserID, Type: webhook.EventNote,
		Server: "https://example.tld", CreatedAt: t0, Body: body,
		State: webhook.StatePending, NextAttemptAt: due,
	}
}

// fanOut enqueues n deliveries of w due at t0, in batches of 500.
func fanOut(t testing.TB, s *pgstore.Store, w *webhook.Webhook, n int) []*webhook.Delivery {
	t.Helper()
	body := []byte(`{"note":{"id":"9x","text":"hello"}}`)
	all := make([]*webhook.Delivery, 0, n)
	for len(all) < n {
		batch := make([]*webhook.Delivery, 0, 500)
		for range min(500, n-len(all)) {
			batch = append(batch, testDelivery(w, t0, body))
		}
		require.NoError(t, s.Enqueue(context.Background(), batch))
		all = append(all, batch...)
	}
	return all
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1:1/nothing")
	require.NoError(t, err)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg) // connects lazily
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	_, err = pgstore.New(nil, nil)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	for _, tc := range []struct {
		cfg   pgstore.Config
		field string
	}{
		{pgstore.Config{Schema: "bad-name"}, "Config.Schema"},
		{pgstore.Config{Schema: `x"; DROP TABLE y; --`}, "Config.Schema"},
		{pgstore.Config{Schema: "a_name_far_too_long_for_a_channel_name_to_fit_in_63_bytes"}, "Config.Schema"},
		{pgstore.Config{Retention: -time.Second}, "Config.Retention"},
	} {
		_, err := pgstore.New(pool, &tc.cfg)
		require.ErrorIs(t, err, webhook.ErrInvalid)
		require.ErrorContains(t, err, "pgstore: "+tc.field)
	}

	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	require.Equal(t, pgstore.DefaultRetention, s.Retention())
	require.Equal(t, 7*24*time.Hour, s.Retention())
	require.Equal(t, "fedihook", s.Channel())
	s, err = pgstore.New(pool, &pgstore.Config{Schema: "Hooks_1", Retention: time.Hour})
	require.NoError(t, err)
	require.Equal(t, time.Hour, s.Retention())
	require.Equal(t, "fedihook.Hooks_1", s.Channel())
}

// TestMigrateTwice runs migrations again on a migrated schema, and from
// several pools at once on a fresh one.
func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.CreateHook(ctx, testHook("h1", "u"), 0))
	require.NoError(t, s.Migrate(ctx))
	_, err := s.GetHook(ctx, "h1")
	require.NoError(t, err, "a second Migrate keeps the data")

	schema := newSchema(t)
	const racers = 6
	stores := make([]*pgstore.Store, racers)
	for i := range stores {
		pool := newPool(t, nil)
		stores[i], err = pgstore.New(pool, &pgstore.Config{Schema: schema})
		require.NoError(t, err)
	}
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, st := range stores {
		wg.Go(func() {
			<-start
			errs <- st.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	pool := newPool(t, nil)
	var versions []int32
	rows, err := pool.Query(ctx, `SELECT version FROM "`+schema+`".fedihook_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	want := make([]int32, pgstore.SchemaVersion)
	for i := range want {
		want[i] = int32(i + 1)
	}
	require.Equal(t, want, versions, "each migration recorded once")
	require.NoError(t, stores[0].CreateHook(ctx, testHook("h1", "u"), 0))
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	s := newStoreIn(t, schema, nil)
	pool := newPool(t, nil)
	_, err := pool.Exec(ctx, `INSERT INTO "`+schema+`".fedihook_schema_migrations (version, name) VALUES (9999, 'future')`)
	require.NoError(t, err)
	err = s.Migrate(ctx)
	require.ErrorContains(t, err, "pgstore: migrating: schema version 9999 is newer")
}

// TestOutbox enqueues through a transaction: nothing is claimable, and
// nobody is notified, until it commits; a rollback leaves nothing.
func TestOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	s := newStoreIn(t, schema, nil)
	w := testHook("h1", "alice")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	pool := newPool(t, nil)
	listener := listenConn(t, pool, s.Channel())

	// Rolled back: never claimable, never notified.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	out := s.InTx(tx)
	m, err := out.MatchHooks(ctx, "alice", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, m, 1)
	gone := testDelivery(w, t0, []byte(`{"n":1}`))
	require.NoError(t, out.Enqueue(ctx, []*webhook.Delivery{gone}))
	require.NoError(t, tx.Rollback(ctx))
	_, err = s.GetDelivery(ctx, gone.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	cs, err := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)

	// Committed: claimable once committed, not before.
	tx, err = pool.Begin(ctx)
	require.NoError(t, err)
	kept := []*webhook.Delivery{testDelivery(w, t0, []byte(`{"n":2}`)), testDelivery(w, t0, []byte(`{"n":3}`))}
	require.NoError(t, s.InTx(tx).Enqueue(ctx, kept[:1]))
	require.NoError(t, s.InTx(tx).Enqueue(ctx, kept[1:]))
	cs, err = s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "not visible before commit")
	require.NoError(t, tx.Commit(ctx))
	cs, err = s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{kept[0].ID, kept[1].ID}, claimIDs(cs))

	// The rolled-back transaction sent nothing; the committed one, with
	// two Enqueue calls, one notification.
	require.Equal(t, []string{"", "marker"}, notificationsUntilMarker(t, pool, listener, s.Channel()))
}

// TestOutboxFailedEnqueue: a failing Enqueue in a transaction aborts it,
// and nothing of the transaction is enqueued.
func TestOutboxFailedEnqueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "alice")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	pool := newPool(t, nil)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		out := s.InTx(tx)
		if err := out.Enqueue(ctx, []*webhook.Delivery{testDelivery(w, t0, []byte(`{}`))}); err != nil {
			return err
		}
		return out.Enqueue(ctx, []*webhook.Delivery{testDelivery(testHook("nope", "alice"), t0, []byte(`{}`))})
	})
	require.ErrorIs(t, err, webhook.ErrNotFound)
	cs, err := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)
}

func TestEnqueueConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	d := testDelivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
	fresh := testDelivery(w, t0, []byte(`{}`))
	err := s.Enqueue(ctx, []*webhook.Delivery{fresh, d})
	require.ErrorIs(t, err, webhook.ErrConflict)
	_, err = s.GetDelivery(ctx, fresh.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "all or none")
	require.NoError(t, s.Enqueue(ctx, nil))
}

// TestEnqueueNotifiesOnce: one notification per Enqueue, whatever the
// number of deliveries.
func TestEnqueueNotifiesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	pool := newPool(t, nil)
	listener := listenConn(t, pool, s.Channel())
	fanOut(t, s, w, 300) // one Enqueue
	require.Equal(t, []string{"", "marker"}, notificationsUntilMarker(t, pool, listener, s.Channel()))
}

// listenConn returns a connection of pool that LISTENs on channel.
func listenConn(t *testing.T, pool *pgxpool.Pool, channel string) *pgxpool.Conn {
	t.Helper()
	conn, err := pool.Acquire(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Release() })
	_, err = conn.Exec(context.Background(), "LISTEN "+pgx.Identifier{channel}.Sanitize())
	require.NoError(t, err)
	return conn
}

// notificationsUntilMarker sends a "marker" notification from another
// connection and returns the payloads conn receives up to and including
// it: since notifications arrive in commit order, those before it are all
// that had been sent.
func notificationsUntilMarker(t *testing.T, pool *pgxpool.Pool, conn *pgxpool.Conn, channel string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pool.Exec(ctx, "SELECT pg_notify($1, 'marker')", channel)
	require.NoError(t, err)
	var got []string
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		require.NoError(t, err)
		got = append(got, n.Payload)
		if n.Payload == "marker" {
			return got
		}
	}
}

func claimIDs(cs []webhook.Claim) []uuid.UUID {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.Delivery.ID
	}
	return ids
}

func delivered(c webhook.Claim, at time.Time) webhook.Result {
	return webhook.Result{
		ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: webhook.StateDelivered,
		Attempt: webhook.Attempt{At: at, Duration: time.Millisecond, Status: 204},
	}
}

// TestLeaseExpiryAfterCrash: a process claims and dies (its pool is
// gone); once the lease has expired another process claims the same
// deliveries, and the dead one's late results are refused, each reported.
// (The storetest shared cases check the same with both pools open.)
func TestLeaseExpiryAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	deadPool := newPool(t, nil)
	dead, err := pgstore.New(deadPool, &pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, dead.Migrate(ctx))
	w := testHook("h1", "u")
	require.NoError(t, dead.CreateHook(ctx, w, 0))
	ds := fanOut(t, dead, w, 10)
	first, err := dead.Claim(ctx, t0, 100, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, first, 10)
	deadPool.Close()

	alive := newStoreIn(t, schema, nil)
	cs, err := alive.Claim(ctx, t0.Add(29*time.Second), 100, 30*time.Second)
	require.NoError(t, err)
	require.Empty(t, cs, "leases still held")
	second, err := alive.Claim(ctx, t0.Add(30*time.Second), 100, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, second, 10)
	ids := make([]uuid.UUID, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	require.ElementsMatch(t, ids, claimIDs(second))

	// The first claims' results, if they arrived late, are refused, each
	// one reported; the second claims' are taken.
	late := make([]webhook.Result, len(first))
	for i, c := range first {
		late[i] = delivered(c, t0.Add(31*time.Second))
	}
	err = alive.Settle(ctx, late)
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	require.Len(t, joined.Unwrap(), 10)
	rs := make([]webhook.Result, len(second))
	for i, c := range second {
		rs[i] = delivered(c, t0.Add(32*time.Second))
	}
	require.NoError(t, alive.Settle(ctx, rs))
	got, err := alive.GetDelivery(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 1, got.Attempts)
	// A second Settle of the same claim is refused too.
	require.ErrorIs(t, alive.Settle(ctx, rs[:1]), webhook.ErrLeaseLost)
}

// TestSettleKeepsLatestAttempt: a webhook's latest attempt only moves
// forward, even when results arrive out of order.
func TestSettleKeepsLatestAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	fanOut(t, s, w, 3)
	cs, err := s.Claim(ctx, t0, 3, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	r0, r1, r2 := delivered(cs[0], t0.Add(2*time.Second)), delivered(cs[1], t0.Add(5*time.Second)), delivered(cs[2], t0.Add(3*time.Second))
	r1.Attempt.Status = 500
	r1.State, r1.NextAttemptAt = webhook.StatePending, t0.Add(time.Hour)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r0, r1}))
	require.NoError(t, s.Settle(ctx, []webhook.Result{r2}))
	h, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.True(t, t0.Add(5*time.Second).Equal(*h.LatestSentAt))
	require.Equal(t, 500, *h.LatestStatus)
}

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, nil)
	s, err := pgstore.New(pool, &pgstore.Config{Schema: newSchema(t), Retention: time.Hour})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	ds := fanOut(t, s, w, 7)
	cs, err := s.Claim(ctx, t0, 7, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 7)
	byID := map[uuid.UUID]webhook.Claim{}
	for _, c := range cs {
		byID[c.Delivery.ID] = c
	}
	res := func(i int, st webhook.State, at time.Duration) webhook.Result {
		r := delivered(byID[ds[i].ID], t0.Add(at))
		r.State = st
		if st != webhook.StateDelivered {
			r.Attempt.Status, r.Attempt.Error = 410, "status 410"
		}
		r.NextAttemptAt = t0.Add(48 * time.Hour)
		return r
	}
	require.NoError(t, s.Settle(ctx, []webhook.Result{
		res(0, webhook.StateDelivered, 0),                        // finished 2h before "now": pruned
		res(1, webhook.StateFailed, 0),                           // idem, failed
		res(2, webhook.StateDelivered, 59*time.Minute+time.Hour), // 1 minute too recent
		res(3, webhook.StateFailed, 90*time.Minute),
		res(4, webhook.StatePending, 0), // retrying: never pruned
	}))
	// ds[5], ds[6] stay leased and pending.
	n, err := s.Prune(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	for i, d := range ds {
		got, err := s.GetDelivery(ctx, d.ID)
		if i < 2 {
			require.ErrorIs(t, err, webhook.ErrNotFound, "delivery %d", i)
			continue
		}
		require.NoError(t, err, "delivery %d", i)
		if i == 3 {
			require.Equal(t, "status 410", got.LastError, "a failed delivery keeps its error until pruned")
		}
	}
	n, err = s.Prune(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.Prune(ctx, t0.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
}

// TestPruneBatches prunes more rows than one statement deletes.
func TestPruneBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	const n = 12_000
	fanOut(t, s, w, n)
	for {
		cs, err := s.Claim(ctx, t0, 1000, time.Minute)
		require.NoError(t, err)
		if len(cs) == 0 {
			break
		}
		rs := make([]webhook.Result, len(cs))
		for i, c := range cs {
			rs[i] = delivered(c, t0)
		}
		require.NoError(t, s.Settle(ctx, rs))
	}
	got, err := s.Prune(ctx, t0.Add(pgstore.DefaultRetention+time.Millisecond))
	require.NoError(t, err)
	require.Equal(t, int64(n), got)
}

func ExampleStore_InTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/app")
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, nil)
	if err != nil {
		panic(err)
	}
	// The note and its webhooks' deliveries commit, or roll back, together.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO notes (id, text) VALUES ($1, $2)", "9x", "hello"); err != nil {
			return err
		}
		var outbox webhook.Outbox = store.InTx(tx)
		_ = outbox // d.EmitVia(ctx, outbox, userID, webhook.EventNote, body)
		return nil
	})
	fmt.Println(err == nil)
}

// TestSettleMergedCalls: concurrent Settle calls, which the store merges
// into shared statements, each get exactly their own lost leases.
func TestSettleMergedCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	const callers, per = 40, 5
	fanOut(t, s, w, callers*per)
	cs, err := s.Claim(ctx, t0, callers*per, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, callers*per)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for k := range callers {
		wg.Go(func() {
			rs := make([]webhook.Result, per)
			for i := range rs {
				rs[i] = delivered(cs[k*per+i], t0)
			}
			if k%2 == 1 {
				rs[k%per].Lease += 1000 // stale
			}
			errs[k] = s.Settle(ctx, rs)
		})
	}
	wg.Wait()
	for k, err := range errs {
		if k%2 == 0 {
			require.NoError(t, err, "caller %d", k)
			continue
		}
		require.ErrorIs(t, err, webhook.ErrLeaseLost, "caller %d", k)
		require.Equal(t, fmt.Sprintf("webhook: delivery %s: lease lost", cs[k*per+k%per].Delivery.ID), err.Error(), "caller %d", k)
	}
}

// TestEnqueueMergedCalls: concurrent Enqueue calls, which the store
// merges into shared statements, each succeed or fail on their own.
func TestEnqueueMergedCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	existing := testDelivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{existing}))
	const callers = 60
	calls := make([][]*webhook.Delivery, callers)
	errs := make([]error, callers)
	for k := range calls {
		calls[k] = []*webhook.Delivery{testDelivery(w, t0, []byte(`{}`)), testDelivery(w, t0, []byte(`{}`))}
		switch k % 3 {
		case 1:
			calls[k][1].HookID = "no-such-hook"
		case 2:
			calls[k][1].ID = existing.ID
		}
	}
	var wg sync.WaitGroup
	for k := range calls {
		wg.Go(func() { errs[k] = s.Enqueue(ctx, calls[k]) })
	}
	wg.Wait()
	for k, err := range errs {
		_, first := s.GetDelivery(ctx, calls[k][0].ID)
		switch k % 3 {
		case 0:
			require.NoError(t, err, "caller %d", k)
			require.NoError(t, first, "caller %d", k)
		case 1:
			require.ErrorIs(t, err, webhook.ErrNotFound, "caller %d", k)
			require.ErrorIs(t, first, webhook.ErrNotFound, "caller %d: all or none", k)
		case 2:
			require.ErrorIs(t, err, webhook.ErrConflict, "caller %d", k)
			require.ErrorIs(t, first, webhook.ErrNotFound, "caller %d: all or none", k)
		}
	}
}

// TestSettleFailingSinceBatch: in one Settle, results apply in order: the
// webhook's FailingSince is its first failure after its last success.
func TestSettleFailingSinceBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "u")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	settleBatch := func(states ...webhook.State) {
		t.Helper()
		fanOut(t, s, w, len(states))
		cs, err := s.Claim(ctx, t0.Add(time.Hour), len(states), time.Minute)
		require.NoError(t, err)
		require.Len(t, cs, len(states))
		rs := make([]webhook.Result, len(cs))
		for i, c := range cs {
			rs[i] = delivered(c, t0.Add(time.Duration(i+1)*time.Second))
			if states[i] != webhook.StateDelivered {
				rs[i].State, rs[i].Attempt.Status = states[i], 500
				rs[i].NextAttemptAt = t0.Add(48 * time.Hour)
			}
		}
		require.NoError(t, s.Settle(ctx, rs))
	}
	failingSince := func() *time.Time {
		t.Helper()
		h, err := s.GetHook(ctx, w.ID)
		require.NoError(t, err)
		return h.FailingSince
	}
	settleBatch(webhook.StateFailed, webhook.StateDelivered, webhook.StatePending, webhook.StateFailed)
	require.NotNil(t, failingSince())
	require.True(t, t0.Add(3*time.Second).Equal(*failingSince()), "first failure after the last success")
	settleBatch(webhook.StatePending)
	require.True(t, t0.Add(3*time.Second).Equal(*failingSince()), "kept while failing")
	settleBatch(webhook.StateFailed, webhook.StateDelivered)
	require.Nil(t, failingSince(), "cleared by a success")
}

// TestSettleAndClaim: the claim sees the results settled in the same
// call (an ordered webhook's next delivery is claimed as the previous one
// is settled), a refused result is reported with the claims, and max 0
// only settles.
func TestSettleAndClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "alice")
	w.Ordered = true
	require.NoError(t, s.CreateHook(ctx, w, 0))
	ds := []*webhook.Delivery{testDelivery(w, t0, []byte(`{"n":1}`)), testDelivery(w, t0, []byte(`{"n":2}`)),
		testDelivery(w, t0, []byte(`{"n":3}`))}
	require.NoError(t, s.Enqueue(ctx, ds))
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ds[0].ID}, claimIDs(cs))

	stale := delivered(cs[0], t0)
	stale.Lease--
	got, err := s.SettleAndClaim(ctx, []webhook.Result{delivered(cs[0], t0), stale}, t0, 10, time.Minute)
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	require.Equal(t, []uuid.UUID{ds[1].ID}, claimIDs(got), "the next head, as the first settles")
	d, err := s.GetDelivery(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, d.State)

	got2, err := s.SettleAndClaim(ctx, []webhook.Result{delivered(got[0], t0)}, t0, 0, time.Minute)
	require.NoError(t, err)
	require.Empty(t, got2, "max 0 claims nothing")
	cs, err = s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ds[2].ID}, claimIDs(cs))
}

// TestEnqueueRacesDeleteHook: an Enqueue that races the deletion of its
// webhook either fails with ErrNotFound or enqueues deliveries that the
// deletion then deletes: no delivery outlives its webhook.
func TestEnqueueRacesDeleteHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	body := []byte(`{"note":{"id":"9x"}}`)
	refused := 0
	for i := range 60 {
		w := testHook(fmt.Sprintf("h%d", i), "u")
		require.NoError(t, s.CreateHook(ctx, w, 0))
		ds := []*webhook.Delivery{testDelivery(w, t0, body), testDelivery(w, t0, body)}
		errc := make(chan error, 1)
		go func() { errc <- s.Enqueue(ctx, ds) }()
		if i%2 == 0 {
			runtime.Gosched()
		}
		require.NoError(t, s.DeleteHook(ctx, w.ID))
		if err := <-errc; err != nil {
			require.ErrorIs(t, err, webhook.ErrNotFound)
			refused++
		}
		for _, d := range ds {
			_, err := s.GetDelivery(ctx, d.ID)
			require.ErrorIs(t, err, webhook.ErrNotFound, "round %d: a delivery outlived its webhook", i)
		}
	}
	t.Logf("%d of 60 Enqueues refused, the others' deliveries deleted with their webhook", refused)
}
