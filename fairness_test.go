package webhook_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// claimCounter counts the claims of one webhook's deliveries.
type claimCounter struct {
	webhook.Store
	hookID string
	mu     sync.Mutex
	n      int
}

func (s *claimCounter) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	cs, err := s.Store.Claim(ctx, now, max, lease)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Delivery.HookID == s.hookID {
			s.n++
		}
	}
	return cs, err
}

func (s *claimCounter) claims() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// TestHangingWebhookIsNotChurned: a webhook whose receiver hangs, with a
// backlog, had its whole backlog released and claimed again every
// PollInterval while its attempt hung. Now the backlog is put off twice
// as long each time: over ten PollIntervals it is claimed a few times,
// not ten.
func TestHangingWebhookIsNotChurned(t *testing.T) {
	t.Parallel()
	ms, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	s := &claimCounter{Store: ms}
	hung := make(chan struct{}, 1)
	hang := webhook.TransportFunc(func(c context.Context, _ *webhook.Request) (*webhook.Response, error) {
		hung <- struct{}{}
		<-c.Done()
		return nil, c.Err()
	})
	clk := webhooktest.NewClock(webhooktest.Epoch)
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: hang, Clock: clk, Workers: 4,
		MaxInFlightPerHook: 1, PollInterval: time.Second})
	require.NoError(t, err)
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	s.hookID = h.ID
	const backlog = 20
	for range backlog {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	}
	require.NoError(t, d.Start(ctx))
	<-hung // one attempt hangs; the rest of the backlog is over the limit
	require.NoError(t, clk.WaitForTimers(ctx, 1))
	first := s.claims()
	for range 10 {
		clk.Advance(time.Second)
		require.NoError(t, clk.WaitForTimers(ctx, 1)) // the claimer waits again
	}
	again := s.claims() - first
	t.Logf("claimed %d at first, %d more over ten poll intervals", first, again)
	// Put off for 1, 2, 4 and 8 s: claimed again at 1, 3 and 7 s, 19
	// each time; every second would be 190.
	require.LessOrEqual(t, again, 4*(backlog-1), "a margin over 3 rounds")
	expired, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, d.Shutdown(expired), context.Canceled)
}

// leaseCase runs a draining Dispatcher over twelve deliveries of one
// webhook with a fake clock: a 10 s Lease, a receiver that takes 4 s (the
// clock advances as it answers), four workers and a limit of one in
// flight per webhook, or per host. The claims waiting for a place of the
// limit wait longer than their lease; drain runs the Dispatcher's drain
// (Drain, or Start and Shutdown). It returns how many times each
// delivery was sent.
func leaseCase(t *testing.T, perHook, perHost int, drain func(*webhook.Dispatcher)) map[string]int {
	t.Helper()
	clock := webhooktest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	var mu sync.Mutex
	sends := map[string]int{}
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Clock: clock, Workers: 4,
		MaxInFlightPerHook: perHook, MaxInFlightPerHost: perHost, Lease: 10 * time.Second,
		Transport: webhook.TransportFunc(func(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
			mu.Lock()
			sends[req.EventID.String()]++
			mu.Unlock()
			clock.Advance(4 * time.Second) // a slow receiver
			return &webhook.Response{StatusCode: 204}, nil
		})})
	require.NoError(t, err)
	hook := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	for range 12 {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	}
	drain(d)
	page, err := d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hook.ID, State: webhook.StateDelivered})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 12, "every delivery delivered, none lost")
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(sends)
}

// TestDrainReleasesClaimsBeforeTheirLeaseLapses: a draining Dispatcher
// waits for a place of a fairness limit, but a claim that waited so long
// its lease could lapse during its attempt is released and claimed again
// with a fresh lease, so no delivery is claimed again while in flight
// and sent twice.
func TestDrainReleasesClaimsBeforeTheirLeaseLapses(t *testing.T) {
	for _, limit := range []struct {
		name             string
		perHook, perHost int
	}{{"per hook", 1, 16}, {"per host", 4, 1}} {
		t.Run(limit.name, func(t *testing.T) {
			var n int
			sends := leaseCase(t, limit.perHook, limit.perHost, func(d *webhook.Dispatcher) {
				var err error
				n, err = d.Drain(ctx)
				require.NoError(t, err)
			})
			require.Len(t, sends, 12)
			for id, c := range sends {
				require.Equal(t, 1, c, "delivery %s sent more than once", id)
			}
			require.Equal(t, 12, n, "one attempt per delivery")
		})
	}
}

// TestShutdownReleasesClaimsBeforeTheirLeaseLapses: the same for
// Shutdown's drain of what is due.
func TestShutdownReleasesClaimsBeforeTheirLeaseLapses(t *testing.T) {
	sends := leaseCase(t, 1, 16, func(d *webhook.Dispatcher) {
		require.NoError(t, d.Start(ctx))
		require.NoError(t, d.Shutdown(ctx))
	})
	require.Len(t, sends, 12)
	for id, c := range sends {
		require.Equal(t, 1, c, "delivery %s sent more than once", id)
	}
}
