package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// A receiver that hangs on every request of one webhook holds at most
// MaxInFlightPerHook workers: another webhook's delivery goes through
// while all of those are still hanging.
func TestHangingReceiverDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, Workers: 4, MaxInFlightPerHook: 2})
	require.NoError(t, err)
	slow := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	fast := webhooktest.CreateHook(t, d, "v", webhook.EventNote)

	release := make(chan struct{})
	fastGot := make(chan struct{}, 1)
	slowGot := make(chan struct{}, 10)
	tr.OnSend(func(r webhooktest.Received) {
		if r.Payload.HookID == fast.ID {
			fastGot <- struct{}{}
			return
		}
		slowGot <- struct{}{}
		<-release // hangs, as a receiver would until the timeout
	})
	for range 10 {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("slow")))
	}
	require.NoError(t, d.Start(ctx))
	<-slowGot
	<-slowGot // two requests to the slow webhook hang now
	require.NoError(t, d.Emit(ctx, "v", webhook.EventNote, noteBody("fast")))
	select {
	case <-fastGot:
	case <-time.After(10 * time.Second): // a failure bound, not synchronisation
		t.Fatal("the other webhook's delivery waited behind the hanging receiver")
	}
	require.Empty(t, slowGot, "no third request to the slow webhook: MaxInFlightPerHook is 2")
	close(release)
	require.NoError(t, d.Shutdown(ctx))
	del, err := d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: slow.ID})
	require.NoError(t, err)
	require.Len(t, del.Deliveries, 10)
	for _, x := range del.Deliveries {
		require.LessOrEqual(t, x.Attempts, 1, "waiting for a place is not an attempt")
	}
}

func TestGoneDisables(t *testing.T) {
	t.Parallel()
	var disabled []string
	var mu sync.Mutex
	d, tr, _ := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, OnDisable: func(w *webhook.Webhook, reason error) {
		mu.Lock()
		defer mu.Unlock()
		require.ErrorIs(t, reason, webhook.ErrDisabled)
		require.ErrorIs(t, reason, webhook.ErrGone)
		require.NotErrorIs(t, reason, webhook.ErrFailingTooLong)
		disabled = append(disabled, w.ID)
	}})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	tr.Script(h.URL, webhooktest.Reply{Status: http.StatusGone})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d)
	got, err := d.GetHook(ctx, h.ID)
	require.NoError(t, err)
	require.False(t, got.Active, "410 Gone disables the webhook")
	require.Equal(t, []string{h.ID}, disabled)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("y")))
	require.Zero(t, webhooktest.Flush(t, d), "an inactive webhook gets no new deliveries")

	// Re-enabling is an ordinary update.
	got.Active = true
	require.NoError(t, d.UpdateHook(ctx, got))
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("z")))
	require.Equal(t, 1, webhooktest.Flush(t, d))
}

func TestFailingWindowDisables(t *testing.T) {
	t.Parallel()
	var reasons []error
	var mu sync.Mutex
	d, tr, clk := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, OnDisable: func(_ *webhook.Webhook, reason error) {
		mu.Lock()
		defer mu.Unlock()
		reasons = append(reasons, reason)
	}})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	tr.SetDefault(webhooktest.Reply{Status: 500})
	emitAndFail := func() {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
		webhooktest.Flush(t, d)
	}
	emitAndFail() // day 0: failing from now on
	for range 4 {
		clk.Advance(24 * time.Hour)
		emitAndFail()
		got, err := d.GetHook(ctx, h.ID)
		require.NoError(t, err)
		require.True(t, got.Active, "not yet: failing for less than 5 days")
	}
	clk.Advance(24 * time.Hour)
	emitAndFail() // day 5
	got, err := d.GetHook(ctx, h.ID)
	require.NoError(t, err)
	require.False(t, got.Active, "failing for 5 days without a success")
	require.Len(t, reasons, 1)
	require.ErrorIs(t, reasons[0], webhook.ErrDisabled)
	require.ErrorIs(t, reasons[0], webhook.ErrFailingTooLong)
	require.NotErrorIs(t, reasons[0], webhook.ErrGone)

	// A success in between resets the window, and auto-disable can be off.
	d2, tr2, clk2 := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, NoAutoDisable: true})
	h2 := webhooktest.CreateHook(t, d2, "u", webhook.EventNote)
	tr2.SetDefault(webhooktest.Reply{Status: 410})
	require.NoError(t, d2.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d2)
	clk2.Advance(10 * 24 * time.Hour)
	require.NoError(t, d2.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d2)
	got, err = d2.GetHook(ctx, h2.ID)
	require.NoError(t, err)
	require.True(t, got.Active, "NoAutoDisable keeps it")
}

func TestRedeliverSendsSameEvent(t *testing.T) {
	t.Parallel()
	d, tr, clk := newTestDispatcher(t, nil)
	h := webhooktest.CreateHook(t, d, "u", webhook.EventMention)
	tr.Script(h.URL, webhooktest.Reply{Status: 400, Body: `{"error":"bad"}`})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventMention, noteBody("x")))
	webhooktest.Flush(t, d)
	first := tr.To(h.ID)
	require.Len(t, first, 1)
	id := uuid.MustParse(first[0].Payload.EventID)
	del, err := d.Store().GetDelivery(ctx, id)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, del.State)

	clk.Advance(time.Hour)
	require.NoError(t, d.Redeliver(ctx, id))
	require.Equal(t, 1, webhooktest.Flush(t, d))
	all := tr.To(h.ID)
	require.Len(t, all, 2)
	require.Equal(t, first[0].Body, all[1].Body, "the same body bytes, eventId and createdAt")

	as, err := d.ListAttempts(ctx, id)
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.Equal(t, 400, as[0].Status)
	require.Equal(t, `{"error":"bad"}`, string(as[0].Response), "the receiver's answer is kept")
	require.False(t, as[0].Retry)
	require.Equal(t, 204, as[1].Status)
	require.ErrorIs(t, d.Redeliver(ctx, uuid.New()), webhook.ErrNotFound)
}

func TestRecoverFailedSince(t *testing.T) {
	t.Parallel()
	var recovered, gaveUp atomic.Int32
	d, tr, clk := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, NoAutoDisable: true,
		OnRecover: func(webhook.AttemptReport) { recovered.Add(1) },
		OnGiveUp:  func(webhook.AttemptReport) { gaveUp.Add(1) }})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	tr.SetDefault(webhooktest.Reply{Status: 404})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("before")))
	webhooktest.Flush(t, d)
	clk.Advance(time.Hour)
	since := clk.Now()
	for range 3 {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("after")))
	}
	webhooktest.Flush(t, d)
	require.Equal(t, int32(4), gaveUp.Load())

	tr.SetDefault(webhooktest.OK)
	tr.Reset()
	n, err := d.RecoverFailed(ctx, h.ID, since, 100)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 3, webhooktest.Flush(t, d))
	for _, r := range tr.To(h.ID) {
		require.Contains(t, string(r.Payload.Body), "after", "exactly the deliveries that gave up since T")
	}
	require.Equal(t, int32(1), recovered.Load(), "the first success after failures is a recovery")

	page, err := d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: h.ID, State: webhook.StateFailed})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 1, "the one before T is still failed")
}

// An Ordered webhook receives 1,000 events in emit order, though every
// seventh attempt fails and is retried.
func TestOrderedDeliveryAcrossRetries(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	var sends atomic.Int64
	flaky := webhook.TransportFunc(func(c context.Context, req *webhook.Request) (*webhook.Response, error) {
		if sends.Add(1)%7 == 0 {
			return &webhook.Response{StatusCode: 503}, nil
		}
		return tr.Send(c, req)
	})
	clk := webhooktest.NewClock(webhooktest.Epoch)
	// Attempts without end: with four, a delivery sent as every seventh
	// request four times over would fail for good, as sends interleave.
	forever := webhook.RetryPolicyFunc(func(int) (time.Duration, bool) { return time.Minute, true })
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: flaky, Clock: clk, RetryPolicy: forever})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
	w, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "fifo", On: []webhook.Event{webhook.EventNote},
		URL: "https://fifo.example/", Active: true, Ordered: true})
	require.NoError(t, err)
	other := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	const n = 1000
	for i := range n {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, map[string]int{"n": i}))
	}
	for round := 0; round < 1000 && (len(tr.To(w.ID)) < n || len(tr.To(other.ID)) < n); round++ {
		webhooktest.Flush(t, d)
		clk.Advance(time.Hour)
	}
	got := tr.To(w.ID)
	require.Len(t, got, n)
	for i, r := range got {
		require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(r.Payload.Body), "delivery %d out of order", i)
	}
	require.Len(t, tr.To(other.ID), n, "the unordered webhook got everything too")
	require.Greater(t, sends.Load(), int64(2*n), "there were retries")
}
