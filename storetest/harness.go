package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// A Harness is what a store's test gives the suite beyond a way to make
// stores: each field but New is optional, and the tier that needs it is
// skipped without it.
//
//	storetest.RunHarness(t, storetest.Harness{
//		New:  func(t *testing.T) webhook.Store { return newStore(t) },
//		Pair: func(t *testing.T) (a, b webhook.Store) { return twoStoresOverOneDatabase(t) },
//		Begin: func(t *testing.T, s webhook.Store) (webhook.Outbox, func() error, func() error) {
//			tx := begin(t, s)
//			return s.(*mystore.Store).InTx(tx), tx.Commit, tx.Rollback
//		},
//	})
type Harness struct {
	// New returns an empty store, isolated from every other store it
	// returned; it may register cleanups with t. Required.
	New func(t *testing.T) webhook.Store
	// Pair returns two handles on one empty store, as [RunShared]'s
	// newPair does.
	Pair func(t *testing.T) (a, b webhook.Store)
	// Begin begins a transaction of s's database (s is a store New
	// returned) and returns an Outbox bound to it, as a Dispatcher's
	// EmitVia takes, with the functions that commit and roll back the
	// transaction.
	Begin func(t *testing.T, s webhook.Store) (o webhook.Outbox, commit, rollback func() error)
}

// RunHarness runs every tier the harness provides for: [Run] with New,
// [RunShared] with Pair, and the transactional outbox's cases with Begin.
func RunHarness(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.New, "Harness.New is required")
	t.Run("Core", func(t *testing.T) { Run(t, h.New) })
	t.Run("Shared", func(t *testing.T) {
		if h.Pair == nil {
			t.Skip("no Harness.Pair")
		}
		RunShared(t, h.Pair)
	})
	t.Run("Outbox", func(t *testing.T) {
		if h.Begin == nil {
			t.Skip("no Harness.Begin")
		}
		for _, tc := range []struct {
			name string
			fn   func(t *testing.T, s webhook.Store, begin func() (webhook.Outbox, func() error, func() error))
		}{
			{"CommitOrNothing", testOutboxCommitOrNothing},
			{"MatchInTx", testOutboxMatch},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := h.New(t)
				tc.fn(t, s, func() (webhook.Outbox, func() error, func() error) { return h.Begin(t, s) })
			})
		}
	})
}

// testOutboxCommitOrNothing: deliveries enqueued through an Outbox bound
// to a transaction exist if and only if it commits, all of them, and
// nothing of them is claimable before the commit.
func testOutboxCommitOrNothing(t *testing.T, s webhook.Store, begin func() (webhook.Outbox, func() error, func() error)) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))

	o, _, rollback := begin()
	rolled := newDelivery(w, t0, `{"n":1}`)
	require.NoError(t, o.Enqueue(ctx, []*webhook.Delivery{rolled}))
	require.NoError(t, rollback())
	_, err := s.GetDelivery(ctx, rolled.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "a rolled-back enqueue leaves nothing")

	o, commit, _ := begin()
	a, b := newDelivery(w, t0, `{"n":2}`), newDelivery(w, t0, `{"n":3}`)
	require.NoError(t, o.Enqueue(ctx, []*webhook.Delivery{a}))
	require.NoError(t, o.Enqueue(ctx, []*webhook.Delivery{b}), "two Enqueues in one transaction")
	require.NoError(t, commit())
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{a.ID, b.ID}, claimIDs(cs), "a committed enqueue is claimable, and only it")
	for _, c := range cs {
		if c.Delivery.ID == a.ID {
			require.Equal(t, `{"n":2}`, string(c.Delivery.Body))
		}
	}
}

// testOutboxMatch: MatchHooks through an Outbox finds the active webhooks
// subscribed to the event, as the store's own does.
func testOutboxMatch(t *testing.T, s webhook.Store, begin func() (webhook.Outbox, func() error, func() error)) {
	ctx := context.Background()
	yes := mustCreate(t, s, newHook("u", webhook.EventNote))
	mustCreate(t, s, newHook("u", webhook.EventFollow))
	off := newHook("u", webhook.EventNote)
	off.Active = false
	mustCreate(t, s, off)
	mustCreate(t, s, newHook("other", webhook.EventNote))

	o, _, rollback := begin()
	defer func() { require.NoError(t, rollback()) }()
	hooks, err := o.MatchHooks(ctx, "u", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, yes.ID, hooks[0].ID)
}

// testPrune: Prune deletes the finished deliveries older than the store's
// retention, never a pending one, and reports how many.
func testPrune(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	p := s.(webhook.Pruner)
	w := mustCreate(t, s, newHook("u"))
	done, failed, pending := newDelivery(w, t0, `{}`), newDelivery(w, t0, `{}`), newDelivery(w, t0, `{}`)
	enqueue(t, s, done, failed, pending)
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	for _, c := range cs {
		switch c.Delivery.ID {
		case done.ID:
			settle(t, s, c, webhook.StateDelivered, 200)
		case failed.ID:
			settle(t, s, c, webhook.StateFailed, 410)
		default:
			r := result(c, webhook.StatePending, 503)
			r.NextAttemptAt = t0.Add(time.Hour)
			require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
		}
	}
	n, err := p.Prune(ctx, t0.Add(time.Second))
	require.NoError(t, err)
	require.Zero(t, n, "nothing is older than the retention yet")
	// A century on, whatever the retention, every finished delivery is
	// older than it.
	n, err = p.Prune(ctx, t0.AddDate(100, 0, 0))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	for _, id := range []uuid.UUID{done.ID, failed.ID} {
		_, err := s.GetDelivery(ctx, id)
		require.ErrorIs(t, err, webhook.ErrNotFound)
	}
	got, err := s.GetDelivery(ctx, pending.ID)
	require.NoError(t, err, "a pending delivery is never pruned")
	require.Equal(t, webhook.StatePending, got.State)
	n, err = p.Prune(ctx, t0.AddDate(100, 0, 0))
	require.NoError(t, err)
	require.Zero(t, n)
}

// testListen: Listen wakes once as soon as it listens, again after an
// Enqueue through the store, and returns nil once its context ends.
func testListen(t *testing.T, s webhook.Store) {
	n := s.(webhook.Notifier)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wakes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- n.Listen(ctx, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
	}()
	// A bound on failure, not a wait for success.
	const bound = 30 * time.Second
	select {
	case <-wakes:
	case err := <-done:
		t.Fatalf("Listen returned before its context ended: %v", err)
	case <-time.After(bound):
		t.Fatal("Listen did not wake once as it began listening")
	}
	// The first wake says Listen is listening: an Enqueue now wakes it.
	w := mustCreate(t, s, newHook("u"))
	enqueue(t, s, newDelivery(w, t0, `{}`))
	select {
	case <-wakes:
	case <-time.After(bound):
		t.Fatal("an Enqueue through the store woke no listener")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "Listen returns nil once its context ends")
	case <-time.After(bound):
		t.Fatal("Listen did not return after its context ended")
	}
}

// testSettleAndClaim: SettleAndClaim settles as Settle does and claims as
// Claim does, the claim seeing the results (an ordered webhook's next
// delivery is claimed in the same call), reports lost leases beside its
// claims, and claims nothing when max is 0.
func testSettleAndClaim(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	sc := s.(webhook.SettleClaimer)
	fifo := newHook("u")
	fifo.Ordered = true
	mustCreate(t, s, fifo)
	plain := mustCreate(t, s, newHook("u"))
	first, second := newDelivery(fifo, t0, `{"n":1}`), newDelivery(fifo, t0, `{"n":2}`)
	enqueue(t, s, first)
	enqueue(t, s, second)
	other := newDelivery(plain, t0, `{}`)
	enqueue(t, s, other)

	cs, err := sc.SettleAndClaim(ctx, nil, t0, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{first.ID, other.ID}, claimIDs(cs), "only the ordered webhook's head")
	var head, rest webhook.Claim
	for _, c := range cs {
		if c.Delivery.ID == first.ID {
			head = c
		} else {
			rest = c
		}
	}
	require.NotNil(t, head.Hook)
	require.Equal(t, fifo.ID, head.Hook.ID)

	// The head is delivered: the same call claims the next one.
	cs, err = sc.SettleAndClaim(ctx, []webhook.Result{result(head, webhook.StateDelivered, 200)}, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{second.ID}, claimIDs(cs))
	got, err := s.GetDelivery(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	h, err := s.GetHook(ctx, fifo.ID)
	require.NoError(t, err)
	require.NotNil(t, h.LatestStatus)
	require.Equal(t, 200, *h.LatestStatus)

	// A result whose lease is lost is reported, the others applied, and
	// the claims still returned; max 0 claims nothing.
	stale := result(head, webhook.StateFailed, 500)
	cs, err = sc.SettleAndClaim(ctx, []webhook.Result{stale, result(rest, webhook.StateDelivered, 204)}, t0, 0, time.Minute)
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	require.Empty(t, cs)
	got, err = s.GetDelivery(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	got, err = s.GetDelivery(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State, "a lost lease changes nothing")
}
