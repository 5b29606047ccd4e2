package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// RunOperations runs the cases of the operators' interfaces
// [webhook.History] (attempt history, listing with cursors),
// [webhook.Redeliverer] and [webhook.StatsReporter], and requires them: a
// store without one of them fails. [Run] runs the same cases, each
// skipped when the store lacks its interface; call RunOperations besides
// to require them.
func RunOperations(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	t.Helper()
	for _, tc := range operationCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			require.True(t, tc.has(s), "the store implements %s", tc.iface)
			tc.fn(t, s)
		})
	}
}

// An optionalCase checks an ability a store may lack: the interface
// named iface, which has reports.
type optionalCase struct {
	name, iface string
	has         func(s webhook.Store) bool
	fn          func(t *testing.T, s webhook.Store)
}

func isHistory(s webhook.Store) bool        { _, ok := s.(webhook.History); return ok }
func isRedeliverer(s webhook.Store) bool    { _, ok := s.(webhook.Redeliverer); return ok }
func isStatsReporter(s webhook.Store) bool  { _, ok := s.(webhook.StatsReporter); return ok }
func isPruner(s webhook.Store) bool         { _, ok := s.(webhook.Pruner); return ok }
func isNotifier(s webhook.Store) bool       { _, ok := s.(webhook.Notifier); return ok }
func isSettleClaimer(s webhook.Store) bool  { _, ok := s.(webhook.SettleClaimer); return ok }
func isEnqueueClaimer(s webhook.Store) bool { _, ok := s.(webhook.EnqueueClaimer); return ok }
func isEventIDMinter(s webhook.Store) bool  { _, ok := s.(webhook.EventIDMinter); return ok }

// operationCases are the cases of the operators' interfaces.
var operationCases = []optionalCase{
	{"AttemptHistory", "webhook.History", isHistory, testAttemptHistory},
	{"ListDeliveries", "webhook.History", isHistory, testListDeliveries},
	{"Redeliver", "webhook.Redeliverer", isRedeliverer, testRedeliver},
	{"RecoverFailed", "webhook.Redeliverer", isRedeliverer, testRecoverFailed},
	{"QueueStats", "webhook.StatsReporter", isStatsReporter, testQueueStats},
}

// optionalCases are every case of an ability a store may lack, which Run
// skips when the store lacks it.
var optionalCases = append(slices.Clone(operationCases),
	optionalCase{"Prune", "webhook.Pruner", isPruner, testPrune},
	optionalCase{"Listen", "webhook.Notifier", isNotifier, testListen},
	optionalCase{"SettleAndClaim", "webhook.SettleClaimer", isSettleClaimer, testSettleAndClaim},
	optionalCase{"EnqueueAndClaim", "webhook.EnqueueClaimer", isEnqueueClaimer, testEnqueueAndClaim},
	optionalCase{"MintEventIDs", "webhook.EventIDMinter", isEventIDMinter, testMintEventIDs},
)

// testMintEventIDs: a store that mints eventIds gives version 4 UUIDs,
// never the same one twice, and finds, claims and settles the deliveries
// that carry them as any others.
func testMintEventIDs(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	m := s.(webhook.EventIDMinter)
	seen := make(map[uuid.UUID]bool)
	ids := make([]uuid.UUID, 64)
	for range 50 {
		m.MintEventIDs(ids)
		for _, id := range ids {
			require.EqualValues(t, 4, id.Version(), "%s", id)
			require.Equal(t, uuid.RFC4122, id.Variant(), "%s", id)
			require.False(t, seen[id], "%s minted twice", id)
			seen[id] = true
		}
	}
	w := mustCreate(t, s, newHook("u"))
	ds := []*webhook.Delivery{newDelivery(w, t0, `{"n":1}`), newDelivery(w, t0, `{"n":2}`)}
	ds[0].ID, ds[1].ID = ids[0], ids[1]
	enqueue(t, s, ds...)
	for _, d := range ds {
		got, err := s.GetDelivery(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, d.ID, got.ID)
		require.Equal(t, d.Body, got.Body)
	}
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{ids[0], ids[1]}, claimIDs(cs))
	rs := make([]webhook.Result, len(cs))
	for i, c := range cs {
		rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: w.ID, Lease: c.Lease, State: webhook.StateDelivered,
			Attempt: webhook.Attempt{At: t0, Status: 204}}
	}
	require.NoError(t, s.Settle(ctx, rs))
	for _, d := range ds {
		got, err := s.GetDelivery(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, webhook.StateDelivered, got.State)
	}
}

func testSettleRelease(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{}`)
	enqueue(t, s, d)
	c := claimOne(t, s, t0)
	// Release alone makes it a release: State and Attempt are ignored.
	r := webhook.Result{ID: d.ID, HookID: w.ID, Lease: c.Lease, State: webhook.StateFailed, NextAttemptAt: t0.Add(5 * time.Second),
		Attempt: webhook.Attempt{At: t0, Status: 500, Error: "ignored"}, Release: true}
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.Attempts, "a release is not an attempt")
	require.True(t, got.LastAttemptAt.IsZero())
	h, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Nil(t, h.LatestStatus, "a release does not touch the webhook's status")
	cs, err := s.Claim(ctx, t0.Add(4*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs)
	c = claimOne(t, s, t0.Add(5*time.Second))
	require.Equal(t, d.ID, c.Delivery.ID)
}

func testFailingSince(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	w := mustCreate(t, s, newHook("u"))
	failingSince := func() *time.Time {
		h, err := s.GetHook(ctx, w.ID)
		require.NoError(t, err)
		return h.FailingSince
	}
	require.Nil(t, failingSince())
	attempt := func(at time.Time, st webhook.State, status int) {
		d := newDelivery(w, at, `{}`)
		enqueue(t, s, d)
		c := claimOne(t, s, at)
		r := result(c, st, status)
		r.Attempt.At = at
		r.NextAttemptAt = at.Add(time.Hour)
		require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
		got, err := s.GetDelivery(ctx, d.ID)
		require.NoError(t, err)
		require.True(t, at.Equal(got.LastAttemptAt), "LastAttemptAt is the attempt's time")
	}
	attempt(t0, webhook.StatePending, 503)
	require.NotNil(t, failingSince())
	require.True(t, t0.Equal(*failingSince()))
	attempt(t0.Add(time.Minute), webhook.StateFailed, 404)
	require.True(t, t0.Equal(*failingSince()), "the first failure since the last success")
	attempt(t0.Add(2*time.Minute), webhook.StateDelivered, 200)
	require.Nil(t, failingSince(), "a success clears it")
}

func testAttemptHistory(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	hs, ok := s.(webhook.History)
	require.True(t, ok, "the store implements webhook.History")
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{}`)
	enqueue(t, s, d)
	long := bytes.Repeat([]byte("x"), webhook.MaxResponseRecord+100)

	c := claimOne(t, s, t0)
	r := result(c, webhook.StatePending, 503)
	r.Attempt.Response = long
	r.NextAttemptAt = t0.Add(time.Minute)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
	c = claimOne(t, s, t0.Add(time.Minute))
	r = result(c, webhook.StateDelivered, 200)
	r.Attempt.At = t0.Add(time.Minute)
	r.Attempt.Response = []byte(`{"ok":true}`)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))

	as, err := hs.ListAttempts(ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.Equal(t, 503, as[0].Status)
	require.True(t, as[0].Retry)
	require.Equal(t, "status 503", as[0].Error)
	require.Equal(t, webhook.MaxResponseRecord, len(as[0].Response), "responses are kept up to MaxResponseRecord")
	require.Equal(t, 12*time.Millisecond, as[0].Duration)
	require.True(t, t0.Add(time.Second).Equal(as[0].At))
	require.Equal(t, 200, as[1].Status)
	require.False(t, as[1].Retry)
	require.Empty(t, as[1].Error)
	require.Equal(t, `{"ok":true}`, string(as[1].Response))
	require.True(t, t0.Add(time.Minute).Equal(as[1].At))

	_, err = hs.ListAttempts(ctx, uuid.New())
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func testListDeliveries(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	hs, ok := s.(webhook.History)
	require.True(t, ok, "the store implements webhook.History")
	w := mustCreate(t, s, newHook("u"))
	other := mustCreate(t, s, newHook("u"))
	var want []uuid.UUID
	const n = 23
	for i := range n {
		d := newDelivery(w, t0, `{}`)
		d.CreatedAt = t0.Add(time.Duration(i%7) * time.Millisecond) // ties broken by ID
		enqueue(t, s, d, newDelivery(other, t0, `{}`))
		want = append(want, d.ID)
	}
	// Fail three of them.
	failed := map[uuid.UUID]bool{}
	cs, err := s.Claim(ctx, t0, 2*n, time.Minute)
	require.NoError(t, err)
	for _, c := range cs {
		if c.Delivery.HookID == w.ID && len(failed) < 3 {
			failed[c.Delivery.ID] = true
			require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateFailed, 400)}))
		}
	}

	var got []*webhook.Delivery
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "pagination ends")
		p, err := hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, Cursor: cursor, Limit: 5})
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Deliveries), 5)
		got = append(got, p.Deliveries...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	require.Len(t, got, n, "every delivery once, across pages")
	gotIDs := make([]uuid.UUID, len(got))
	for i, d := range got {
		gotIDs[i] = d.ID
	}
	require.ElementsMatch(t, want, gotIDs, "only this webhook's deliveries")
	seen := map[uuid.UUID]bool{}
	for i, d := range got {
		require.Equal(t, w.ID, d.HookID)
		require.False(t, seen[d.ID], "listed twice")
		seen[d.ID] = true
		if i > 0 {
			prev := got[i-1]
			require.False(t, d.CreatedAt.After(prev.CreatedAt), "newest first")
			if d.CreatedAt.Equal(prev.CreatedAt) {
				require.Less(t, d.ID.String(), prev.ID.String(), "ties by ID, descending")
			}
		}
	}
	p, err := hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, State: webhook.StateFailed})
	require.NoError(t, err)
	require.Len(t, p.Deliveries, 3)
	for _, d := range p.Deliveries {
		require.True(t, failed[d.ID])
		require.Equal(t, webhook.StateFailed, d.State)
	}
	require.Empty(t, p.Next)
	_, err = hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, Cursor: "%%%"})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	_, err = hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, Limit: webhook.MaxPageSize + 1})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	p, err = hs.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: "nobody"})
	require.NoError(t, err)
	require.Empty(t, p.Deliveries)
}

func testRedeliver(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	rd, ok := s.(webhook.Redeliverer)
	require.True(t, ok, "the store implements webhook.Redeliverer")
	w := mustCreate(t, s, newHook("u"))
	d := newDelivery(w, t0, `{"same":"body"}`)
	enqueue(t, s, d)
	c := claimOne(t, s, t0)
	require.ErrorIs(t, rd.Redeliver(ctx, d.ID, t0), webhook.ErrLeaseLost, "not while in flight")
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateFailed, 400)}))

	now := t0.Add(time.Hour)
	require.NoError(t, rd.Redeliver(ctx, d.ID, now))
	got, err := s.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, got.State)
	require.Zero(t, got.Attempts, "a new attempt series")
	c = claimOne(t, s, now)
	require.Equal(t, d.ID, c.Delivery.ID, "the same eventId")
	require.Equal(t, `{"same":"body"}`, string(c.Delivery.Body))
	require.True(t, t0.Equal(c.Delivery.CreatedAt))
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateDelivered, 200)}))
	require.NoError(t, rd.Redeliver(ctx, d.ID, now), "a delivered one may be sent again too")
	require.ErrorIs(t, rd.Redeliver(ctx, uuid.New(), now), webhook.ErrNotFound)
}

func testRecoverFailed(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	rd, ok := s.(webhook.Redeliverer)
	require.True(t, ok, "the store implements webhook.Redeliverer")
	w := mustCreate(t, s, newHook("u"))
	other := mustCreate(t, s, newHook("u"))
	settleAt := func(h *webhook.Webhook, at time.Time, st webhook.State) uuid.UUID {
		d := newDelivery(h, at, `{}`)
		enqueue(t, s, d)
		c := claimOne(t, s, at)
		r := result(c, st, 500)
		r.Attempt.At = at
		require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
		return d.ID
	}
	settleAt(w, t0, webhook.StateFailed) // before since
	since := t0.Add(time.Hour)
	f1 := settleAt(w, since, webhook.StateFailed)
	f2 := settleAt(w, since.Add(time.Minute), webhook.StateFailed)
	f3 := settleAt(w, since.Add(2*time.Minute), webhook.StateFailed)
	settleAt(w, since.Add(3*time.Minute), webhook.StateDelivered)
	settleAt(other, since.Add(time.Minute), webhook.StateFailed)

	now := since.Add(time.Hour)
	n, err := rd.RecoverFailed(ctx, w.ID, since, now, 2)
	require.NoError(t, err)
	require.Equal(t, 2, n, "bounded by limit")
	n, err = rd.RecoverFailed(ctx, w.ID, since, now, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the rest")
	cs, err := s.Claim(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{f1, f2, f3}, claimIDs(cs), "exactly the failed deliveries since T")
	_, err = rd.RecoverFailed(ctx, w.ID, since, now, 0)
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

func testQueueStats(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	sr, ok := s.(webhook.StatsReporter)
	require.True(t, ok, "the store implements webhook.StatsReporter")
	st, err := sr.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
	require.True(t, st.OldestDue.IsZero())
	w := mustCreate(t, s, newHook("u"))
	enqueue(t, s, newDelivery(w, t0.Add(time.Minute), `{}`), newDelivery(w, t0, `{}`), newDelivery(w, t0.Add(time.Hour), `{}`))
	c := claimOne(t, s, t0)
	st, err = sr.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), st.Pending, "in flight counts as pending")
	require.True(t, t0.Equal(st.OldestDue), "got %v", st.OldestDue)
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateDelivered, 200)}))
	st, err = sr.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), st.Pending)
	require.True(t, t0.Add(time.Minute).Equal(st.OldestDue))
}

func testOrderedClaims(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	fifo := newHook("u")
	fifo.Ordered = true
	mustCreate(t, s, fifo)
	got, err := s.GetHook(ctx, fifo.ID)
	require.NoError(t, err)
	require.True(t, got.Ordered)
	up := got.Clone()
	up.Ordered, up.Name = false, "renamed"
	require.NoError(t, s.UpdateHook(ctx, up))
	got, err = s.GetHook(ctx, fifo.ID)
	require.NoError(t, err)
	require.True(t, got.Ordered, "UpdateHook keeps Ordered")
	plain := mustCreate(t, s, newHook("u"))

	var ids []uuid.UUID
	for i := range 3 {
		d := newDelivery(fifo, t0, `{}`)
		enqueue(t, s, d)
		ids = append(ids, d.ID)
		if i == 0 {
			enqueue(t, s, newDelivery(plain, t0, `{}`), newDelivery(plain, t0, `{}`))
		}
	}
	claimFIFO := func(now time.Time) []webhook.Claim {
		t.Helper()
		cs, err := s.Claim(ctx, now, 10, time.Minute)
		require.NoError(t, err)
		var out []webhook.Claim
		for _, c := range cs {
			if c.Delivery.HookID == fifo.ID {
				out = append(out, c)
			} else {
				require.NoError(t, s.Settle(ctx, []webhook.Result{result(c, webhook.StateDelivered, 200)}))
			}
		}
		return out
	}
	cs := claimFIFO(t0)
	require.Len(t, cs, 1, "only the head of an ordered webhook")
	require.Equal(t, ids[0], cs[0].Delivery.ID)
	require.Empty(t, claimFIFO(t0), "nothing behind a leased head")

	// The head fails and waits for a retry: the rest wait behind it.
	r := result(cs[0], webhook.StatePending, 503)
	r.NextAttemptAt = t0.Add(time.Minute)
	require.NoError(t, s.Settle(ctx, []webhook.Result{r}))
	require.Empty(t, claimFIFO(t0.Add(30*time.Second)), "a head waiting for its retry holds the rest")
	cs = claimFIFO(t0.Add(time.Minute))
	require.Len(t, cs, 1)
	require.Equal(t, ids[0], cs[0].Delivery.ID, "the retry comes first")
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(cs[0], webhook.StateDelivered, 200)}))
	cs = claimFIFO(t0.Add(time.Minute))
	require.Len(t, cs, 1)
	require.Equal(t, ids[1], cs[0].Delivery.ID)
	require.NoError(t, s.Settle(ctx, []webhook.Result{result(cs[0], webhook.StateFailed, 400)}))
	cs = claimFIFO(t0.Add(time.Minute))
	require.Len(t, cs, 1, "a head that gave up lets the next one go")
	require.Equal(t, ids[2], cs[0].Delivery.ID)
}
