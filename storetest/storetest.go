// Package storetest is the conformance suite every [webhook.Store] runs:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) webhook.Store { return newEmptyStore(t) })
//	}
//
// It checks the webhook registry (not-found and conflict errors, the
// per-user limit under concurrency, ordering, matching), the delivery
// queue (round trips of every field, due times, ordering, leases and their
// expiry, concurrent claims, settling, deleting), and
// [webhook.EventEnqueuer] when the store is one. [RunOperations] checks
// what operators need on top, and [RunShared] two handles on one queue,
// as two processes sharing a database have. It depends on nothing
// but the webhook package and testify.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// Run runs the core contract's cases, then those of the optional
// abilities the store has. newStore must return an empty store, isolated
// from every other store it returned; it may register cleanups with t.
func Run(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s webhook.Store)
	}{
		{"HookRoundTrip", testHookRoundTrip},
		{"HookNotFound", testHookNotFound},
		{"HookConflict", testHookConflict},
		{"HookLimit", testHookLimit},
		{"HookLimitConcurrent", testHookLimitConcurrent},
		{"ListHooksOrder", testListHooksOrder},
		{"UpdateHook", testUpdateHook},
		{"DeleteHook", testDeleteHook},
		{"DisableHook", testDisableHook},
		{"MatchHooks", testMatchHooks},
		{"DeliveryRoundTrip", testDeliveryRoundTrip},
		{"EnqueueUnknownHook", testEnqueueUnknownHook},
		{"EnqueueEvent", testEnqueueEvent},
		{"ClaimDueOnly", testClaimDueOnly},
		{"ClaimOrder", testClaimOrder},
		{"ClaimMax", testClaimMax},
		{"LeaseExpiry", testLeaseExpiry},
		{"SettleDelivered", testSettleDelivered},
		{"SettleRetry", testSettleRetry},
		{"SettleFailed", testSettleFailed},
		{"SettleBatch", testSettleBatch},
		{"SettleSameDeliveryTwice", testSettleSameDeliveryTwice},
		{"DeleteHookDropsDeliveries", testDeleteHookDropsDeliveries},
		{"DeleteCreateNeverPairs", testDeleteCreateNeverPairs},
		{"ConcurrentClaims", testConcurrentClaims},
		{"DeliveryNotFound", testDeliveryNotFound},
		{"SettleRelease", testSettleRelease},
		{"FailingSince", testFailingSince},
		{"OrderedClaims", testOrderedClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
	for _, tc := range optionalCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if !tc.has(s) {
				t.Skipf("the store does not implement %s", tc.iface)
			}
			tc.fn(t, s)
		})
	}
}

// t0 is the suite's "now": millisecond precision, as stores must keep.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

var hookSeq struct {
	sync.Mutex
	n int
}

// newHook returns a valid webhook with a fresh ID.
func newHook(userID string, on ...webhook.Event) *webhook.Webhook {
	hookSeq.Lock()
	hookSeq.n++
	n := hookSeq.n
	hookSeq.Unlock()
	if len(on) == 0 {
		on = []webhook.Event{webhook.EventNote}
	}
	return &webhook.Webhook{
		ID:     fmt.Sprintf("hook%06d", n),
		UserID: userID,
		Name:   fmt.Sprintf("hook %d", n),
		On:     on,
		URL:    fmt.Sprintf("https://receiver.example/%d?q=1", n),
		Secret: "s3cret",
		Active: true,
	}
}

func mustCreate(t *testing.T, s webhook.Store, w *webhook.Webhook) *webhook.Webhook {
	t.Helper()
	require.NoError(t, s.CreateHook(context.Background(), w, 0))
	return w
}

// newDelivery returns a pending delivery of w due at due.
func newDelivery(w *webhook.Webhook, due time.Time, body string) *webhook.Delivery {
	return &webhook.Delivery{
		ID:            uuid.New(),
		HookID:        w.ID,
		UserID:        w.UserID,
		Type:          w.On[0],
		Server:        "https://example.tld",
		CreatedAt:     t0,
		Body:          []byte(body),
		State:         webhook.StatePending,
		NextAttemptAt: due,
	}
}

func enqueue(t *testing.T, s webhook.Store, ds ...*webhook.Delivery) {
	t.Helper()
	require.NoError(t, s.Enqueue(context.Background(), ds))
}

func claimIDs(cs []webhook.Claim) []uuid.UUID {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.Delivery.ID
	}
	return ids
}

func testHookRoundTrip(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := newHook("user1", webhook.EventMention, webhook.EventNote, webhook.EventFollow)
	w.Secret = ""
	mustCreate(t, s, w)
	got, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, w.ID, got.ID)
	require.Equal(t, "user1", got.UserID)
	require.Equal(t, w.Name, got.Name)
	require.Equal(t, w.On, got.On, "On keeps its order")
	require.Equal(t, w.URL, got.URL)
	require.Equal(t, "", got.Secret)
	require.True(t, got.Active)
	require.Nil(t, got.LatestSentAt)
	require.Nil(t, got.LatestStatus)

	signed := newHook("user2", webhook.EventNote)
	signed.SigningSecret = webhook.NewSigningSecret()
	signed.PreviousSigningSecrets = []webhook.PreviousSecret{
		{Secret: webhook.NewSigningSecret(), Expires: t0.Add(time.Hour)},
		{Secret: webhook.NewSigningSecret(), Expires: t0.Add(2 * time.Hour)},
	}
	mustCreate(t, s, signed)
	got, err = s.GetHook(ctx, signed.ID)
	require.NoError(t, err)
	require.Equal(t, signed.SigningSecret, got.SigningSecret)
	require.Len(t, got.PreviousSigningSecrets, 2)
	for i, p := range signed.PreviousSigningSecrets {
		require.Equal(t, p.Secret, got.PreviousSigningSecrets[i].Secret)
		require.True(t, p.Expires.Equal(got.PreviousSigningSecrets[i].Expires), "Expires kept to the millisecond")
	}
	m, err := s.MatchHooks(ctx, "user2", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, m, 1)
	require.Equal(t, signed.SigningSecret, m[0].SigningSecret, "MatchHooks returns the signing secrets too")

	sys := newHook("", webhook.EventAbuseReport, webhook.EventUserCreated)
	sys.Active = false
	mustCreate(t, s, sys)
	got, err = s.GetHook(ctx, sys.ID)
	require.NoError(t, err)
	require.Equal(t, "", got.UserID)
	require.False(t, got.Active)
	require.Equal(t, sys.On, got.On)

	// The store keeps its own copy.
	got.Name = "changed"
	again, err := s.GetHook(ctx, sys.ID)
	require.NoError(t, err)
	require.Equal(t, sys.Name, again.Name)
}

func testHookNotFound(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	_, err := s.GetHook(ctx, "missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	w := newHook("u")
	w.ID = "missing"
	require.ErrorIs(t, s.UpdateHook(ctx, w), webhook.ErrNotFound)
	require.ErrorIs(t, s.DeleteHook(ctx, "missing"), webhook.ErrNotFound)
	hooks, err := s.ListHooks(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, hooks)
	m, err := s.MatchHooks(ctx, "nobody", webhook.EventNote)
	require.NoError(t, err)
	require.Empty(t, m)
}

func testHookConflict(t *testing.T, s webhook.Store) {
	w := mustCreate(t, s, newHook("u"))
	dup := newHook("u")
	dup.ID = w.ID
	require.ErrorIs(t, s.CreateHook(context.Background(), dup, 0), webhook.ErrConflict)
}

func testHookLimit(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	for range 3 {
		require.NoError(t, s.CreateHook(ctx, newHook("limited"), 3))
	}
	require.ErrorIs(t, s.CreateHook(ctx, newHook("limited"), 3), webhook.ErrTooManyWebhooks)
	// Other users and no limit are unaffected.
	require.NoError(t, s.CreateHook(ctx, newHook("other"), 3))
	require.NoError(t, s.CreateHook(ctx, newHook("limited"), 0))
	hooks, err := s.ListHooks(ctx, "limited")
	require.NoError(t, err)
	require.Len(t, hooks, 4)
}

func testHookLimitConcurrent(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	const tries, limit = 12, 5
	errs := make(chan error, tries)
	var wg sync.WaitGroup
	for range tries {
		w := newHook("racer")
		wg.Go(func() { errs <- s.CreateHook(ctx, w, limit) })
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, webhook.ErrTooManyWebhooks)
	}
	require.Equal(t, limit, ok)
	hooks, err := s.ListHooks(ctx, "racer")
	require.NoError(t, err)
	require.Len(t, hooks, limit)
}

func testListHooksOrder(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	ids := []string{"c-hook", "a-hook", "b-hook"}
	for _, id := range ids {
		w := newHook("lister")
		w.ID = id
		mustCreate(t, s, w)
	}
	mustCreate(t, s, newHook("someone-else"))
	sys := mustCreate(t, s, newHook("", webhook.EventAbuseReport))
	hooks, err := s.ListHooks(ctx, "lister")
	require.NoError(t, err)
	got := make([]string, len(hooks))
	for i, h := range hooks {
		got[i] = h.ID
	}
	require.Equal(t, []string{"a-hook", "b-hook", "c-hook"}, got)
	hooks, err = s.ListHooks(ctx, "")
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, sys.ID, hooks[0].ID)
}

func testUpdateHook(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u", webhook.EventNote))
	d := newDelivery(w, t0, `{}`)
	enqueue(t, s, d)
	cs, err := s.Claim(ctx, t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	settle(t, s, cs[0], webhook.StateDelivered, 204)

	up := &webhook.Webhook{ID: w.ID, UserID: "someone-else", Name: "renamed",
		On: []webhook.Event{webhook.EventFollow, webhook.EventReply}, URL: "http://new.example/x",
		Secret: "new", Active: false, SigningSecret: webhook.NewSigningSecret(),
		PreviousSigningSecrets: []webhook.PreviousSecret{{Secret: webhook.NewSigningSecret(), Expires: t0}}}
	require.NoError(t, s.UpdateHook(ctx, up))
	got, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, "renamed", got.Name)
	require.Equal(t, up.On, got.On)
	require.Equal(t, up.URL, got.URL)
	require.Equal(t, "new", got.Secret)
	require.False(t, got.Active)
	require.Equal(t, up.SigningSecret, got.SigningSecret)
	require.Len(t, got.PreviousSigningSecrets, 1)
	require.Equal(t, up.PreviousSigningSecrets[0].Secret, got.PreviousSigningSecrets[0].Secret)
	require.Equal(t, "u", got.UserID, "UpdateHook keeps the owner")
	require.NotNil(t, got.LatestStatus, "UpdateHook keeps the latest status")
	require.Equal(t, 204, *got.LatestStatus)
}

func testDeleteHook(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	keep := mustCreate(t, s, newHook("u"))
	require.NoError(t, s.DeleteHook(ctx, w.ID))
	_, err := s.GetHook(ctx, w.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	hooks, err := s.ListHooks(ctx, "u")
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, keep.ID, hooks[0].ID)
	m, err := s.MatchHooks(ctx, "u", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, m, 1)
	require.Equal(t, keep.ID, m[0].ID)
}

func testMatchHooks(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, newHook("alice", webhook.EventNote, webhook.EventMention))
	b := mustCreate(t, s, newHook("alice", webhook.EventMention))
	inactive := newHook("alice", webhook.EventMention)
	inactive.Active = false
	mustCreate(t, s, inactive)
	mustCreate(t, s, newHook("bob", webhook.EventMention))
	sys := mustCreate(t, s, newHook("", webhook.EventAbuseReport))

	ids := func(userID string, e webhook.Event) []string {
		t.Helper()
		m, err := s.MatchHooks(ctx, userID, e)
		require.NoError(t, err)
		out := []string{}
		for _, w := range m {
			require.True(t, w.Active)
			require.True(t, w.Subscribes(e))
			require.Equal(t, userID, w.UserID)
			out = append(out, w.ID)
		}
		return out
	}
	require.ElementsMatch(t, []string{a.ID, b.ID}, ids("alice", webhook.EventMention))
	require.ElementsMatch(t, []string{a.ID}, ids("alice", webhook.EventNote))
	require.Empty(t, ids("alice", webhook.EventFollow))
	require.ElementsMatch(t, []string{sys.ID}, ids("", webhook.EventAbuseReport))
	require.Empty(t, ids("", webhook.EventUserCreated))

	// Deactivating and unsubscribing take effect at once.
	upd := b.Clone()
	upd.Active = false
	require.NoError(t, s.UpdateHook(ctx, upd))
	upd = a.Clone()
	upd.On = []webhook.Event{webhook.EventNote}
	require.NoError(t, s.UpdateHook(ctx, upd))
	require.Empty(t, ids("alice", webhook.EventMention))
	// And reactivating.
	upd = inactive.Clone()
	upd.Active = true
	require.NoError(t, s.UpdateHook(ctx, upd))
	require.ElementsMatch(t, []string{inactive.ID}, ids("alice", webhook.EventMention))
}

func testDeliveryRoundTrip(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u", webhook.EventReply))
	sys := mustCreate(t, s, newHook("", webhook.EventUserCreated))
	body := []byte(`{"note":{"id":"9x","text":"héllo \"quoted\" <b>&amp;</b>"}}`)
	d1 := newDelivery(w, t0, "")
	d1.Body = body
	d2 := newDelivery(sys, t0, "")
	d2.Body = body // shared across fan-out, as Emit does
	d2.CreatedAt = t0.Add(time.Millisecond)
	enqueue(t, s, d1, d2)

	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	byID := map[uuid.UUID]webhook.Claim{}
	for _, c := range cs {
		byID[c.Delivery.ID] = c
		require.NotZero(t, c.Lease)
		require.NotNil(t, c.Hook)
		require.Equal(t, c.Delivery.HookID, c.Hook.ID)
	}
	for _, want := range []*webhook.Delivery{d1, d2} {
		c, ok := byID[want.ID]
		require.True(t, ok, "delivery %s claimed", want.ID)
		got := c.Delivery
		require.Equal(t, want.HookID, got.HookID)
		require.Equal(t, want.UserID, got.UserID)
		require.Equal(t, want.Type, got.Type)
		require.Equal(t, want.Server, got.Server)
		require.True(t, want.CreatedAt.Equal(got.CreatedAt), "CreatedAt %v != %v", want.CreatedAt, got.CreatedAt)
		require.Equal(t, string(body), string(got.Body))
		require.Equal(t, webhook.StatePending, got.State)
		require.Zero(t, got.Attempts)
		require.Equal(t, want.HookID, c.Hook.ID)
	}
	c := byID[d1.ID]
	require.Equal(t, w.URL, c.Hook.URL)
	require.Equal(t, w.Secret, c.Hook.Secret)

	got, err := s.GetDelivery(ctx, d1.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, got.State)
	require.True(t, t0.Equal(got.NextAttemptAt))
}

func testEnqueueUnknownHook(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	good := newDelivery(w, t0, `{}`)
	bad := newDelivery(&webhook.Webhook{ID: "no-such-hook", UserID: "u", On: w.On}, t0, `{}`)
	err := s.Enqueue(ctx, []*webhook.Delivery{good, bad})
	require.ErrorIs(t, err, webhook.ErrNotFound)
	// All or none: the good one was not enqueued either.
	_, err = s.GetDelivery(ctx, good.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	cs, err := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)
}

func testClaimDueOnly(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	later := newDelivery(w, t0.Add(time.Minute), `{}`)
	enqueue(t, s, later)
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "a delivery due later is not claimed")
	cs, err = s.Claim(ctx, t0.Add(time.Minute-time.Millisecond), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)
	cs, err = s.Claim(ctx, t0.Add(time.Minute), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{later.ID}, claimIDs(cs), "due exactly at now is claimed")
}

func testClaimOrder(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	d3 := newDelivery(w, t0.Add(3*time.Second), `{"n":3}`)
	d1 := newDelivery(w, t0.Add(1*time.Second), `{"n":1}`)
	d2 := newDelivery(w, t0.Add(2*time.Second), `{"n":2}`)
	enqueue(t, s, d3)
	enqueue(t, s, d1, d2)
	cs, err := s.Claim(ctx, t0.Add(time.Hour), 2, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{d1.ID, d2.ID}, claimIDs(cs), "earliest due first")
	cs, err = s.Claim(ctx, t0.Add(time.Hour), 2, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{d3.ID}, claimIDs(cs))
}

func testClaimMax(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	for i := range 5 {
		enqueue(t, s, newDelivery(w, t0.Add(time.Duration(i)*time.Millisecond), `{}`))
	}
	seen := map[uuid.UUID]bool{}
	for _, want := range []int{2, 2, 1, 0} {
		cs, err := s.Claim(ctx, t0.Add(time.Second), 2, time.Minute)
		require.NoError(t, err)
		require.Len(t, cs, want)
		for _, c := range cs {
			require.False(t, seen[c.Delivery.ID], "claimed twice under a live lease")
			seen[c.Delivery.ID] = true
		}
	}
}

// testLeaseExpiry is RunShared's lease lapse with both handles the same
// store: a lease that expired is taken by the next claim, and the late
// result of the first is refused.
func testLeaseExpiry(t *testing.T, s webhook.Store) {
	testSharedLeaseLapse(t, s, s)
}

func result(c webhook.Claim, st webhook.State, status int) webhook.Result {
	r := webhook.Result{
		ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: st,
		Attempt: webhook.Attempt{At: t0.Add(time.Second), Duration: 12 * time.Millisecond, Status: status},
	}
	if st != webhook.StateDelivered {
		r.Attempt.Error = fmt.Sprintf("status %d", status)
	}
	return r
}

func settle(t *testing.T, s webhook.Store, c webhook.Claim, st webhook.State, status int) {
	t.Helper()
	require.NoError(t, s.Settle(context.Background(), []webhook.Result{result(c, st, status)}))
}

func claimOne(t *testing.T, s webhook.Store, now time.Time) webhook.Claim {
	t.Helper()
	cs, err := s.Claim(context.Background(), now, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	return cs[0]
}

func testSettleDelivered(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{}`)
	enqueue(t, s, d)
	settle(t, s, claimOne(t, s, t0), webhook.StateDelivered, 204)
	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, 204, got.LastStatus)
	require.Empty(t, got.LastError)
	h, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.NotNil(t, h.LatestSentAt)
	require.True(t, t0.Add(time.Second).Equal(*h.LatestSentAt), "LatestSentAt is the attempt's time, got %v", *h.LatestSentAt)
	require.NotNil(t, h.LatestStatus)
	require.Equal(t, 204, *h.LatestStatus)
	cs, err := s.Claim(ctx, t0.Add(24*time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "a delivered delivery is never claimed again")
}

func testSettleRetry(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{"keep":"me"}`)
	enqueue(t, s, d)
	c := claimOne(t, s, t0)
	r := result(c, webhook.StatePending, 0) // no HTTP status: a network error
	r.Attempt.Error = "connection refused"
	r.NextAttemptAt = t0.Add(time.Minute)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))

	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, got.State)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, "connection refused", got.LastError)
	require.Zero(t, got.LastStatus)
	require.True(t, t0.Add(time.Minute).Equal(got.NextAttemptAt))
	h, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, 1, *h.LatestStatus, "latestStatus is 1 when there was no HTTP status")

	cs, err := s.Claim(ctx, t0.Add(59*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "not before its next attempt")
	c = claimOne(t, s, t0.Add(time.Minute))
	require.Equal(t, d.ID, c.Delivery.ID)
	require.Equal(t, 1, c.Delivery.Attempts)
	require.Equal(t, `{"keep":"me"}`, string(c.Delivery.Body), "a retry has the same body")
	require.True(t, t0.Equal(c.Delivery.CreatedAt))
}

func testSettleFailed(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{}`)
	enqueue(t, s, d)
	settle(t, s, claimOne(t, s, t0), webhook.StateFailed, 404)
	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, got.State)
	require.Equal(t, 404, got.LastStatus)
	require.Equal(t, "status 404", got.LastError, "a failed delivery keeps its last error")
	cs, err := s.Claim(ctx, t0.Add(24*time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)
}

func testSettleBatch(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w1 := mustCreate(t, s, newHook("u"))
	w2 := mustCreate(t, s, newHook("u"))
	ds := []*webhook.Delivery{newDelivery(w1, t0, `{}`), newDelivery(w2, t0, `{}`), newDelivery(w1, t0, `{}`)}
	enqueue(t, s, ds...)
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	rs := []webhook.Result{
		result(cs[0], webhook.StateDelivered, 200),
		result(cs[1], webhook.StateFailed, 410),
		result(cs[2], webhook.StatePending, 503),
	}
	rs[2].NextAttemptAt = t0.Add(time.Hour)
	// A stale lease in the middle of the batch is refused alone.
	stale := result(cs[1], webhook.StateDelivered, 200)
	stale.Lease = cs[0].Lease + cs[1].Lease + cs[2].Lease + 1000
	err = s.Settle(ctx, []webhook.Result{rs[0], stale, rs[1], rs[2]})
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	for i, want := range []webhook.State{webhook.StateDelivered, webhook.StateFailed, webhook.StatePending} {
		got, err := s.GetDelivery(ctx, cs[i].Delivery.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.State, "delivery %d", i)
		require.Equal(t, 1, got.Attempts, "delivery %d", i)
	}
}

func testDeleteHookDropsDeliveries(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	gone := mustCreate(t, s, newHook("u"))
	stay := mustCreate(t, s, newHook("u"))
	dg := newDelivery(gone, t0, `{}`)
	inflight := newDelivery(gone, t0, `{}`)
	ds := newDelivery(stay, t0, `{}`)
	enqueue(t, s, inflight)
	c := claimOne(t, s, t0)
	enqueue(t, s, dg, ds)
	require.NoError(t, s.DeleteHook(ctx, gone.ID))
	_, err := s.GetDelivery(ctx, dg.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	cs, err := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ds.ID}, claimIDs(cs), "deliveries of a deleted webhook are never claimed")
	// Settling an in-flight delivery of a deleted webhook is harmless.
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateDelivered, 200)}))
	_, err = s.GetDelivery(ctx, inflight.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// testConcurrentClaims is RunShared's claim race with both handles the
// same store: concurrent claimers never get one delivery twice.
func testConcurrentClaims(t *testing.T, s webhook.Store) {
	testSharedClaimRace(t, s, s)
}

func testDeliveryNotFound(t *testing.T, s webhook.Store) {
	_, err := s.GetDelivery(context.Background(), uuid.New())
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.False(t, errors.Is(err, webhook.ErrConflict))
}

// testSettleSameDeliveryTwice settles two results for one delivery, under
// its one lease, in one Settle call: exactly one of them is applied, the
// other finds the lease spent and is reported with ErrLeaseLost, and only
// the one applied is recorded (the delivery's state, attempts and last
// attempt, the webhook's latest status and failing streak, and, in a
// History, one attempt). Which of the two is applied is not specified:
// the memory store and sqlitestore apply the first, pgstore either.
func testSettleSameDeliveryTwice(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	status := map[webhook.State]int{webhook.StatePending: 503, webhook.StateDelivered: 200, webhook.StateFailed: 400}
	for _, tc := range []struct {
		name          string
		first, second webhook.State
	}{
		{"RetryThenDelivered", webhook.StatePending, webhook.StateDelivered},
		{"DeliveredThenFailed", webhook.StateDelivered, webhook.StateFailed},
		{"FailedThenRetry", webhook.StateFailed, webhook.StatePending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := mustCreate(t, s, newHook("u"))
			d := newDelivery(w, t0, `{}`)
			enqueue(t, s, d)
			c := claimOne(t, s, t0)
			res := func(st webhook.State, at time.Time) webhook.Result {
				r := result(c, st, status[st])
				r.Attempt.At = at
				r.NextAttemptAt = t0.Add(time.Hour)
				return r
			}
			rs := []webhook.Result{res(tc.first, t0.Add(time.Second)), res(tc.second, t0.Add(2*time.Second))}
			require.ErrorIs(t, s.Settle(ctx, rs), webhook.ErrLeaseLost, "one of the two is refused")

			got, err := s.GetDelivery(ctx, d.ID)
			require.NoError(t, err)
			var applied webhook.Result
			switch got.State {
			case tc.first:
				applied = rs[0]
			case tc.second:
				applied = rs[1]
			default:
				t.Fatalf("state %v is neither result's", got.State)
			}
			require.Equal(t, 1, got.Attempts, "one attempt recorded")
			require.Equal(t, applied.Attempt.Status, got.LastStatus)
			require.True(t, applied.Attempt.At.Equal(got.LastAttemptAt), "LastAttemptAt %v", got.LastAttemptAt)
			h, err := s.GetHook(ctx, w.ID)
			require.NoError(t, err)
			require.NotNil(t, h.LatestStatus)
			require.Equal(t, applied.Attempt.Status, *h.LatestStatus)
			if applied.State == webhook.StateDelivered {
				require.Nil(t, h.FailingSince)
			} else {
				require.NotNil(t, h.FailingSince)
				require.True(t, applied.Attempt.At.Equal(*h.FailingSince), "FailingSince %v", *h.FailingSince)
			}
			if hs, ok := s.(webhook.History); ok {
				as, err := hs.ListAttempts(ctx, d.ID)
				require.NoError(t, err)
				require.Len(t, as, 1)
				require.Equal(t, applied.Attempt.Status, as[0].Status)
			}
		})
	}
}

// testDeleteCreateNeverPairs deletes a webhook with a delivery in flight
// and one queued, and creates another with the same ID: no delivery of
// the old one is claimed, found, listed or settled against the new one,
// and the in-flight claim's late result is skipped silently.
func testDeleteCreateNeverPairs(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	old := mustCreate(t, s, newHook("u"))
	leased, queued := newDelivery(old, t0, `{"old":1}`), newDelivery(old, t0.Add(time.Second), `{"old":2}`)
	enqueue(t, s, leased, queued)
	c := claimOne(t, s, t0)
	require.Equal(t, leased.ID, c.Delivery.ID)
	require.NoError(t, s.DeleteHook(ctx, old.ID))

	// The same ID, another URL and secret.
	renewed := old.Clone()
	renewed.URL, renewed.Secret = "https://other.example/", "other"
	mustCreate(t, s, renewed)
	fresh := newDelivery(renewed, t0, `{"new":1}`)
	enqueue(t, s, fresh)

	require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateDelivered, 200)}),
		"the result of a deleted delivery is skipped silently")
	h, err := s.GetHook(ctx, old.ID)
	require.NoError(t, err)
	require.Nil(t, h.LatestStatus, "nor does it touch the new webhook")
	require.Nil(t, h.FailingSince)

	cs, err := s.Claim(ctx, t0.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{fresh.ID}, claimIDs(cs), "only the new webhook's delivery")
	require.Equal(t, "https://other.example/", cs[0].Hook.URL)
	require.Equal(t, "other", cs[0].Hook.Secret)
	for _, d := range []*webhook.Delivery{leased, queued} {
		_, err := s.GetDelivery(ctx, d.ID)
		require.ErrorIs(t, err, webhook.ErrNotFound)
	}
	if hs, ok := s.(webhook.History); ok {
		page, err := hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: old.ID})
		require.NoError(t, err)
		require.Len(t, page.Deliveries, 1)
		require.Equal(t, fresh.ID, page.Deliveries[0].ID)
	}
}
