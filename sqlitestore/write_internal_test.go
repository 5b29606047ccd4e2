package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func newInternalStore(t *testing.T) *Store {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "w.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	s, err := New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// newHookedStore is newInternalStore with one webhook, "h1", of user "u"
// for notes.
func newHookedStore(t *testing.T) *Store {
	t.Helper()
	s := newInternalStore(t)
	require.NoError(t, s.CreateHook(context.Background(), &webhook.Webhook{ID: "h1", UserID: "u", Name: "h",
		On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Active: true}, 0))
	return s
}

// runAsBatch queues reqs and runs them as one grouped transaction, as
// concurrent callers of write would be.
func runAsBatch(t *testing.T, s *Store, reqs ...*writeReq) {
	t.Helper()
	s.prepare(context.Background())
	// Holding wsem first: the writeLoop of an earlier write, if it still
	// runs, cannot take these.
	s.wsem <- struct{}{}
	queue(s, reqs...)
	s.runBatch()
	<-s.wsem
	for _, r := range reqs {
		<-r.done
	}
}

func enqueueReq(ds ...*webhook.Delivery) *writeReq {
	ctx := context.Background()
	return &writeReq{ctx: ctx, op: "enqueue", deliveries: ds, enqueues: true, fn: func(r runner) error { return enqueue(ctx, r, ds) }}
}

func settleReq(rs ...webhook.Result) *writeReq {
	ctx := context.Background()
	req := &writeReq{ctx: ctx, op: "settle", results: rs}
	req.fn = func(r runner) error {
		var err error
		req.lost, err = settle(ctx, r, rs)
		return err
	}
	return req
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

func newDelivery(hookID string) *webhook.Delivery {
	return &webhook.Delivery{ID: uuid.New(), HookID: hookID, UserID: "u", Type: webhook.EventNote,
		Server: "https://example.tld", CreatedAt: t0, Body: []byte(`{}`), State: webhook.StatePending, NextAttemptAt: t0}
}

// TestMergedWrites checks that writes grouped in one transaction and
// merged into one statement still succeed or fail one by one.
func TestMergedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newInternalStore(t)
	for _, id := range []string{"h1", "h2"} {
		require.NoError(t, s.CreateHook(ctx, &webhook.Webhook{ID: id, UserID: "u", Name: id,
			On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Active: true}, 0))
	}

	// Three Enqueues, one of a missing webhook: the merged insert fails,
	// and the writes run one by one.
	good1, bad, good2 := enqueueReq(newDelivery("h1"), newDelivery("h2")), enqueueReq(newDelivery("h1"), newDelivery("nope")), enqueueReq(newDelivery("h2"))
	runAsBatch(t, s, good1, bad, good2)
	require.NoError(t, good1.err)
	require.ErrorIs(t, bad.err, webhook.ErrNotFound)
	require.NoError(t, good2.err)
	_, err := s.GetDelivery(ctx, bad.deliveries[0].ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "the failed Enqueue left nothing")

	// All good: merged, all succeed.
	a, b := enqueueReq(newDelivery("h1")), enqueueReq(newDelivery("h2"), newDelivery("h2"))
	runAsBatch(t, s, a, b)
	require.NoError(t, a.err)
	require.NoError(t, b.err)

	cs, err := s.Claim(ctx, t0, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 6)
	res := func(c webhook.Claim, lease int64) webhook.Result {
		return webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: lease, State: webhook.StateDelivered,
			Attempt: webhook.Attempt{At: t0, Status: 200}}
	}
	// Merged Settles: each gets its own lost leases back, and a result
	// repeated in another Settle of the batch is refused.
	s1 := settleReq(res(cs[0], cs[0].Lease), res(cs[1], cs[1].Lease+7))
	s2 := settleReq(res(cs[2], cs[2].Lease), res(cs[0], cs[0].Lease))
	s3 := settleReq(res(cs[3], cs[3].Lease))
	runAsBatch(t, s, s1, s2, s3)
	require.NoError(t, s1.err)
	require.NoError(t, s2.err)
	require.NoError(t, s3.err)
	require.Equal(t, []bool{false, true}, s1.lost)
	require.Equal(t, []bool{false, true}, s2.lost)
	require.Equal(t, []bool{false}, s3.lost)
	for i, want := range []webhook.State{webhook.StateDelivered, webhook.StatePending, webhook.StateDelivered, webhook.StateDelivered} {
		d, err := s.GetDelivery(ctx, cs[i].Delivery.ID)
		require.NoError(t, err)
		require.Equal(t, want, d.State, "delivery %d", i)
	}
}

// TestBatchSkipsCanceled checks that a write whose caller gave up before
// the transaction began is not run, and the others are.
func TestBatchSkipsCanceled(t *testing.T) {
	t.Parallel()
	s := newHookedStore(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	gone := enqueueReq(newDelivery("h1"))
	gone.ctx = canceled
	kept := enqueueReq(newDelivery("h1"))
	runAsBatch(t, s, gone, kept)
	require.ErrorIs(t, gone.err, context.Canceled)
	require.NoError(t, kept.err)
	_, err := s.GetDelivery(context.Background(), gone.deliveries[0].ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestBatchRunsAgainWithoutTheFailure: a batch runs its Store's writes
// without savepoints; when one fails, the transaction is rolled back and
// the batch runs again, each write in a savepoint, so that only the
// failing write fails. A write of the application's (Store.Tx) runs after
// the Store's own and so only once.
func TestBatchRunsAgainWithoutTheFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newHookedStore(t)
	good := enqueueReq(newDelivery("h1"))
	bad := &writeReq{ctx: ctx, op: "fail"}
	var badRuns int
	bad.fn = func(r runner) error {
		badRuns++
		if _, err := r.exec(ctx, `UPDATE webhook_hooks SET name = 'changed'`); err != nil {
			return err
		}
		return errors.New("this write fails")
	}
	var appRuns int
	app := &writeReq{ctx: ctx, op: "transaction", once: true}
	app.fn = func(r runner) error {
		appRuns++
		return enqueue(ctx, r, []*webhook.Delivery{newDelivery("h1")})
	}
	runAsBatch(t, s, app, good, bad)
	require.NoError(t, good.err)
	require.NoError(t, app.err)
	require.EqualError(t, bad.err, "this write fails")
	require.Equal(t, 2, badRuns, "fast, then in a savepoint")
	require.Equal(t, 1, appRuns, "the application's write ran once")
	_, err := s.GetDelivery(ctx, good.deliveries[0].ID)
	require.NoError(t, err)
	w, err := s.GetHook(ctx, "h1")
	require.NoError(t, err)
	require.Equal(t, "h", w.Name, "the failed write's change was undone")
	var n int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&n))
	require.Equal(t, 2, n)
}

// TestMergedEnqueueAndClaim checks EnqueueAndClaims grouped in one
// transaction with other Enqueues: each gets back the deliveries it asked
// to claim, leased, and wakes the listeners only when it left some
// unclaimed; a delivery of a webhook that is ordered in the database is
// left unclaimed whatever the caller's copy says; and when one write of
// the batch fails, the others still claim what they asked.
func TestMergedEnqueueAndClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newInternalStore(t)
	hooks := map[string]*webhook.Webhook{}
	for _, id := range []string{"h1", "h2", "fifo"} {
		w := &webhook.Webhook{ID: id, UserID: "u", Name: id, On: []webhook.Event{webhook.EventNote},
			URL: "https://r.example/", Active: true, Ordered: id == "fifo"}
		require.NoError(t, s.CreateHook(ctx, w, 0))
		hooks[id] = w
	}
	emission := func(ids ...string) *webhook.Emission {
		em := &webhook.Emission{Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0,
			NextAttemptAt: t0, Body: []byte(`{}`)}
		for _, id := range ids {
			w := hooks[id]
			if w == nil {
				w = &webhook.Webhook{ID: id, UserID: "u", On: []webhook.Event{webhook.EventNote}}
			}
			em.Hooks = append(em.Hooks, w)
			em.IDs = append(em.IDs, uuid.New())
		}
		return em
	}
	// A stale copy of fifo that does not know it is ordered.
	notFifo := hooks["fifo"].Clone()
	notFifo.Ordered = false

	for _, failing := range []bool{false, true} {
		all := emission("h1", "h2")
		some := emission("h2", "h1")
		stale := emission("h1")
		stale.Hooks[0] = notFifo
		stale.Hooks[0].ID = "fifo"
		reqs := []*writeReq{
			s.enqueueClaimReq(ctx, all, t0, 2, time.Minute),
			enqueueReq(newDelivery("h1")),
			s.enqueueClaimReq(ctx, some, t0, 1, time.Minute),
			s.enqueueClaimReq(ctx, stale, t0, 1, time.Minute),
		}
		var bad *webhook.Emission
		if failing {
			bad = emission("h1", "nope")
			reqs = append(reqs, s.enqueueClaimReq(ctx, bad, t0, 2, time.Minute))
		}
		runAsBatch(t, s, reqs...)
		for _, r := range reqs[:4] {
			require.NoError(t, r.err)
		}
		require.Equal(t, []uuid.UUID{all.IDs[0], all.IDs[1]}, ids(claimsOf(reqs[0], all)))
		require.Equal(t, []uuid.UUID{some.IDs[0]}, ids(claimsOf(reqs[2], some)))
		require.Empty(t, claimsOf(reqs[3], stale), "fifo is ordered: not claimed")
		require.Equal(t, []bool{false, true, true, true}, []bool{reqs[0].enqueues, reqs[1].enqueues, reqs[2].enqueues, reqs[3].enqueues},
			"only the writes that left a delivery unclaimed wake the listeners")
		if failing {
			require.ErrorIs(t, reqs[4].err, webhook.ErrNotFound)
			_, err := s.GetDelivery(ctx, bad.IDs[0])
			require.ErrorIs(t, err, webhook.ErrNotFound)
		}

		// What was not claimed is claimable; what was is not.
		cs, err := s.Claim(ctx, t0, 100, time.Minute)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{reqs[1].deliveries[0].ID, some.IDs[1], stale.IDs[0]}, ids(cs))
		for _, c := range append(append(claimsOf(reqs[0], all), claimsOf(reqs[2], some)...), cs...) {
			require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
				State: webhook.StateDelivered, Attempt: webhook.Attempt{At: t0, Status: 200}}}))
		}
	}
}

func ids(cs []webhook.Claim) []uuid.UUID {
	out := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.Delivery.ID
	}
	return out
}

// queue adds reqs to the pending writes, as callers of write waiting for
// the next transaction.
func queue(s *Store, reqs ...*writeReq) {
	for _, r := range reqs {
		r.done = make(chan struct{})
	}
	s.mu.Lock()
	s.pending = append(s.pending, reqs...)
	s.mu.Unlock()
}

// blockingReq is a write of the Store's that, each time it runs, signals
// running and then waits for release to be closed.
func blockingReq(running chan<- struct{}, release <-chan struct{}) *writeReq {
	ctx := context.Background()
	return &writeReq{ctx: ctx, op: "block", fn: func(r runner) error {
		running <- struct{}{}
		<-release
		_, err := r.exec(ctx, `UPDATE webhook_hooks SET name = name`)
		return err
	}}
}

// runJoined runs one transaction on s, otherwise idle, that begins with
// a write of the Store's blocked until late are queued, which so arrive
// while it runs. It returns that first write and how many more times it
// ran (the transaction ran again).
func runJoined(t *testing.T, s *Store, late ...*writeReq) (first *writeReq, reruns int) {
	t.Helper()
	s.prepare(context.Background())
	running, release := make(chan struct{}, 2), make(chan struct{})
	first = blockingReq(running, release)
	s.wsem <- struct{}{} // no earlier writeLoop may take first
	queue(s, first)
	batched := make(chan struct{})
	go func() {
		defer close(batched)
		s.runBatch()
	}()
	<-running // first runs; the transaction has not committed
	queue(s, late...)
	close(release)
	<-batched
	<-s.wsem
	return first, len(running)
}

// TestWritesJoinTheTransactionUnderWay checks that the Store's writes
// queued while a transaction runs join it before its commit, the
// application's excepted: one runBatch, one transaction, serves them.
func TestWritesJoinTheTransactionUnderWay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newHookedStore(t)
	a, b := enqueueReq(newDelivery("h1")), enqueueReq(newDelivery("h1"), newDelivery("h1"))
	app := &writeReq{ctx: ctx, op: "transaction", once: true, fn: func(r runner) error { return nil }}
	first, reruns := runJoined(t, s, a, app, b)
	require.Zero(t, reruns)
	for _, r := range []*writeReq{first, a, b} {
		select {
		case <-r.done:
		default:
			t.Fatalf("%s did not run in the transaction", r.op)
		}
		require.NoError(t, r.err)
	}
	for _, d := range append(a.deliveries, b.deliveries...) {
		_, err := s.GetDelivery(ctx, d.ID)
		require.NoError(t, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, []*writeReq{app}, s.pending, "the application's write waits for the next transaction")
}

// TestJoinedWriteFailsAlone checks that a write that joined a transaction
// under way and failed there fails alone: the transaction runs again from
// the start, each write in a savepoint.
func TestJoinedWriteFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newHookedStore(t)
	good, bad := enqueueReq(newDelivery("h1")), enqueueReq(newDelivery("nope"))
	first, reruns := runJoined(t, s, good, bad)
	require.Equal(t, 1, reruns, "first ran again, in the second run of the transaction")
	require.NoError(t, first.err)
	require.NoError(t, good.err)
	require.ErrorIs(t, bad.err, webhook.ErrNotFound)
	_, err := s.GetDelivery(ctx, good.deliveries[0].ID)
	require.NoError(t, err)
	_, err = s.GetDelivery(ctx, bad.deliveries[0].ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestNoWriteJoinsAGivenUpTransaction checks that a write queued while a
// transaction runs does not join it once every caller in it has given up
// (the transaction's end would be its failure): it waits for the next.
func TestNoWriteJoinsAGivenUpTransaction(t *testing.T) {
	t.Parallel()
	s := newHookedStore(t)
	s.prepare(context.Background())
	running, release := make(chan struct{}, 1), make(chan struct{})
	first := blockingReq(running, release)
	ctx, cancel := context.WithCancel(context.Background())
	first.ctx = ctx
	late := enqueueReq(newDelivery("h1"))
	s.wsem <- struct{}{}
	queue(s, first)
	batched := make(chan struct{})
	go func() {
		defer close(batched)
		s.runBatch()
	}()
	<-running
	cancel()
	queue(s, late)
	close(release)
	<-batched
	<-s.wsem
	require.ErrorIs(t, first.err, context.Canceled)
	require.NoError(t, late.err)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, []*writeReq{late}, s.pending, "late waits for the next transaction")
}

// gathering reports the count gatherWrites waits for, 0 when it waits
// for none.
func gathering(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gather
}

// TestGatherWritesWaitsForTheWrites: after a large transaction the
// writer waits until the writes it asks for are pending, and the write
// that brings them to that count wakes it, however long the bound.
func TestGatherWritesWaitsForTheWrites(t *testing.T) {
	s := newInternalStore(t)
	s.gatherWait = time.Hour
	s.wsem <- struct{}{} // as the writeLoop would: no other may run
	defer func() { <-s.wsem }()
	s.writing = true // the writes added below start no writeLoop

	done := make(chan struct{})
	go func() {
		defer close(done)
		s.gatherWrites(3)
	}()
	require.Eventually(t, func() bool { return gathering(s) == 3 }, 10*time.Second, time.Millisecond)
	for range 2 {
		require.False(t, s.add(blockingReq(nil, nil)))
	}
	require.Equal(t, 3, gathering(s), "two of three writes must not end the wait")
	require.False(t, s.add(blockingReq(nil, nil)))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the third write did not end the wait")
	}
	require.Zero(t, gathering(s))
	require.Len(t, s.gathered, 0, "no signal is left for the next wait")
}

// TestGatherWritesIsBounded: no write comes, and the wait ends at its
// bound; with the writes already pending it does not wait at all.
func TestGatherWritesIsBounded(t *testing.T) {
	s := newInternalStore(t)
	s.gatherWait = time.Millisecond
	s.wsem <- struct{}{}
	defer func() { <-s.wsem }()
	s.gatherWrites(5)
	require.Zero(t, gathering(s))

	s.writing = true
	require.False(t, s.add(blockingReq(nil, nil)))
	s.gatherWait = time.Hour
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.gatherWrites(1) // pending already holds it: returns at once
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waited for a write already pending")
	}
	require.Zero(t, gathering(s))
}
