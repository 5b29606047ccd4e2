package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// RunShared runs the cases of two handles on one queue, as two processes
// sharing a database have: claims racing across the handles, a lease of
// one handle lapsing to the other (also one taken by EnqueueAndClaim,
// for a [webhook.EnqueueClaimer]), and Ordered webhooks kept in order
// across them. newPair must return two handles a and b on the same
// underlying store (two stores over one database; a store that lives in
// one process may return itself twice), empty and isolated from every
// other pair it returned; it may register cleanups with t.
func RunShared(t *testing.T, newPair func(t *testing.T) (a, b webhook.Store)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, a, b webhook.Store)
	}{
		{"ClaimRace", testSharedClaimRace},
		{"LeaseLapse", testSharedLeaseLapse},
		{"OrderedRace", testSharedOrderedRace},
		{"EnqueueAndClaimLapse", testSharedEnqueueAndClaimLapse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t)
			tc.fn(t, a, b)
		})
	}
}

// testSharedClaimRace has claimers on both handles drain the queue
// concurrently: every delivery is claimed exactly once.
func testSharedClaimRace(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	const n, workers, batch = 600, 6, 7
	handles := []webhook.Store{a, b}
	hooks := []*webhook.Webhook{mustCreate(t, a, newHook("u")), mustCreate(t, a, newHook("v")), mustCreate(t, a, newHook(""))}
	want := map[uuid.UUID]bool{}
	for i := range n / 50 {
		var ds []*webhook.Delivery
		for j := range 50 {
			d := newDelivery(hooks[j%3], t0.Add(time.Duration(j%17)*time.Millisecond), `{}`)
			want[d.ID] = true
			ds = append(ds, d)
		}
		enqueue(t, handles[i%2], ds...) // both handles enqueue
	}
	require.Len(t, want, n)

	var mu sync.Mutex
	counts := map[uuid.UUID]int{}
	byHandle := [2]int{}
	// drain claims one batch through handle h and settles it; it reports
	// whether there was anything to claim.
	drain := func(h int) (bool, error) {
		s := handles[h]
		cs, err := s.Claim(ctx, t0.Add(time.Second), batch, time.Hour)
		if err != nil || len(cs) == 0 {
			return false, err
		}
		rs := make([]webhook.Result, len(cs))
		mu.Lock()
		for i, c := range cs {
			counts[c.Delivery.ID]++
			rs[i] = result(c, webhook.StateDelivered, 200)
		}
		byHandle[h] += len(cs)
		mu.Unlock()
		return true, s.Settle(ctx, rs)
	}
	// Each handle claims once before the race, so both take part.
	for h := range handles {
		ok, err := drain(h)
		require.NoError(t, err)
		require.True(t, ok)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			for {
				ok, err := drain(i % 2)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, counts, n)
	for id, c := range counts {
		require.True(t, want[id])
		require.Equal(t, 1, c, "delivery %s claimed %d times", id, c)
	}
	t.Logf("claimed through a: %d, through b: %d", byHandle[0], byHandle[1])
	for _, s := range handles {
		cs, err := s.Claim(ctx, t0.Add(24*time.Hour), 10, time.Minute)
		require.NoError(t, err)
		require.Empty(t, cs, "every delivery was settled")
	}
}

// testSharedLeaseLapse: a claims and lets its lease lapse (its process
// died, or hung); b claims the delivery once the lease has expired, not
// before, and a's late result is refused while b's is taken.
func testSharedLeaseLapse(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, a, newHook("u"))
	d := newDelivery(w, t0, `{"lapse":true}`)
	enqueue(t, a, d)
	first, err := a.Claim(ctx, t0, 10, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{d.ID}, claimIDs(first))

	cs, err := b.Claim(ctx, t0.Add(30*time.Second-time.Millisecond), 10, 30*time.Second)
	require.NoError(t, err)
	require.Empty(t, cs, "a's lease still holds")
	second, err := b.Claim(ctx, t0.Add(30*time.Second), 10, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{d.ID}, claimIDs(second), "b takes it once a's lease expired")
	require.Equal(t, `{"lapse":true}`, string(second[0].Delivery.Body))
	require.NotEqual(t, first[0].Lease, second[0].Lease)

	err = a.Settle(ctx, []webhook.Result{result(first[0], webhook.StateDelivered, 200)})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "a's late result is refused")
	got, err := b.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.Attempts)

	settle(t, b, second[0], webhook.StateDelivered, 204)
	got, err = a.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, 204, got.LastStatus)
	require.ErrorIs(t, a.Settle(ctx, []webhook.Result{result(second[0], webhook.StateDelivered, 200)}),
		webhook.ErrLeaseLost, "a claim is settled once")
}

// testSharedEnqueueAndClaimLapse: what a's EnqueueAndClaim claimed is
// leased as a Claim's would be: b's claims pass it over, taking only the
// delivery a left, until a's lease expires; then b takes it, and a's late
// result is refused. Skipped for a store that is not a
// [webhook.EnqueueClaimer].
func testSharedEnqueueAndClaimLapse(t *testing.T, a, b webhook.Store) {
	ec, ok := a.(webhook.EnqueueClaimer)
	if !ok {
		t.Skip("not a webhook.EnqueueClaimer")
	}
	ctx := context.Background()
	claimed, left := mustCreate(t, a, newHook("u")), mustCreate(t, a, newHook("u"))
	em := &webhook.Emission{
		Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0, NextAttemptAt: t0,
		Body: []byte(`{"lapse":true}`), Hooks: []*webhook.Webhook{claimed, left},
		IDs: []uuid.UUID{uuid.New(), uuid.New()},
	}
	first, err := ec.EnqueueAndClaim(ctx, em, t0, 1, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{em.IDs[0]}, claimIDs(first))

	cs, err := b.Claim(ctx, t0.Add(30*time.Second-time.Millisecond), 10, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{em.IDs[1]}, claimIDs(cs), "b takes the delivery a left, not a's leased one")
	settle(t, b, cs[0], webhook.StateDelivered, 204)
	second, err := b.Claim(ctx, t0.Add(30*time.Second), 10, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{em.IDs[0]}, claimIDs(second), "b takes it once a's lease expired")
	require.Equal(t, `{"lapse":true}`, string(second[0].Delivery.Body))
	require.NotEqual(t, first[0].Lease, second[0].Lease)

	err = a.Settle(ctx, []webhook.Result{result(first[0], webhook.StateDelivered, 200)})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "a's late result is refused")
	settle(t, b, second[0], webhook.StateDelivered, 204)
	got, err := a.GetDelivery(ctx, em.IDs[0])
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 1, got.Attempts)
}

// testSharedOrderedRace has claimers on both handles drain two Ordered
// webhooks and a plain one, enqueued through both handles, while every
// third attempt fails and is retried at once: of an Ordered webhook, no
// two deliveries are ever leased at once, none is claimed before the one
// before it was delivered, and they are delivered in enqueue order.
func testSharedOrderedRace(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	const n, workers, batch = 30, 4, 5 // n deliveries per webhook
	handles := []webhook.Store{a, b}
	var fifos []*webhook.Webhook
	for _, u := range []string{"u", "v"} {
		w := newHook(u)
		w.Ordered = true
		fifos = append(fifos, mustCreate(t, a, w))
	}
	plain := mustCreate(t, b, newHook("u"))
	want := map[string][]uuid.UUID{}
	index := map[uuid.UUID]int{} // position in its webhook's order
	for i := range n {
		var ds []*webhook.Delivery
		for _, w := range []*webhook.Webhook{fifos[0], fifos[1], plain} {
			d := newDelivery(w, t0, `{}`)
			index[d.ID] = len(want[w.ID])
			want[w.ID] = append(want[w.ID], d.ID)
			ds = append(ds, d)
		}
		enqueue(t, handles[i%2], ds...)
	}

	var (
		mu        sync.Mutex
		inFlight  = map[string]int{}
		delivered = map[string][]uuid.UUID{}
		total     int
		attempts  int
	)
	// step claims through s and settles what it claimed; it reports
	// whether every delivery has been delivered.
	step := func(s webhook.Store) (bool, error) {
		cs, err := s.Claim(ctx, t0.Add(time.Second), batch, time.Hour)
		if err != nil {
			return false, err
		}
		rs := make([]webhook.Result, 0, len(cs))
		for _, c := range cs {
			id := c.Delivery.HookID
			if id != plain.ID {
				if k := index[c.Delivery.ID]; k > 0 {
					prev, err := s.GetDelivery(ctx, want[id][k-1])
					if err != nil {
						return false, err
					}
					if prev.State != webhook.StateDelivered {
						return false, fmt.Errorf("webhook %s: delivery %d claimed before %d was delivered", id, k, k-1)
					}
				}
			}
			mu.Lock()
			if id != plain.ID {
				if inFlight[id]++; inFlight[id] > 1 {
					mu.Unlock()
					return false, fmt.Errorf("webhook %s: %d deliveries leased at once", id, inFlight[id])
				}
			}
			attempts++
			r := result(c, webhook.StateDelivered, 200)
			if attempts%3 == 0 {
				r = result(c, webhook.StatePending, 503)
				r.NextAttemptAt = t0 // due again at once
			} else {
				delivered[id] = append(delivered[id], c.Delivery.ID)
				total++
			}
			// Not in flight from here: the next delivery of its webhook
			// is claimable only once this Settle is done.
			if id != plain.ID {
				inFlight[id]--
			}
			mu.Unlock()
			rs = append(rs, r)
		}
		if len(rs) > 0 {
			if err := s.Settle(ctx, rs); err != nil {
				return false, err
			}
		}
		mu.Lock()
		done := total == 3*n
		mu.Unlock()
		if len(cs) == 0 && !done {
			runtime.Gosched() // another claimer holds the rest
		}
		return done, nil
	}
	var (
		wg      sync.WaitGroup
		errs    = make(chan error, workers)
		stopped atomic.Bool // a claimer failed: the others stop too
	)
	for i := range workers {
		wg.Go(func() {
			for !stopped.Load() {
				done, err := step(handles[i%2])
				if err != nil {
					stopped.Store(true)
					errs <- err
					return
				}
				if done {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, w := range fifos {
		require.Equal(t, want[w.ID], delivered[w.ID], "webhook %s delivered in enqueue order", w.ID)
	}
	require.ElementsMatch(t, want[plain.ID], delivered[plain.ID])
}
