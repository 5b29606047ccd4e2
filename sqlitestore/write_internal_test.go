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

// runAsBatch queues reqs and runs them as one grouped transaction, as
// concurrent callers of write would be.
func runAsBatch(t *testing.T, s *Store, reqs ...*writeReq) {
	t.Helper()
	s.prepare(context.Background())
	for _, r := range reqs {
		r.done = make(chan struct{})
	}
	s.mu.Lock()
	s.pending = append(s.pending, reqs...)
	s.mu.Unlock()
	s.wsem <- struct{}{}
	s.runBatch()
	<-s.wsem
	for _, r := range reqs {
		<-r.done
	}
}

func enqueueReq(ds ...*webhook.Delivery) *writeReq {
	ctx := context.Background()
	return &writeReq{ctx: ctx, op: "enqueue", deliveries: ds, fn: func(r runner) error { return enqueue(ctx, r, ds) }}
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
	s := newInternalStore(t)
	require.NoError(t, s.CreateHook(context.Background(), &webhook.Webhook{ID: "h1", UserID: "u", Name: "h",
		On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Active: true}, 0))
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
	s := newInternalStore(t)
	require.NoError(t, s.CreateHook(ctx, &webhook.Webhook{ID: "h1", UserID: "u", Name: "h",
		On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Active: true}, 0))
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
