package webhook_test

import (
	"context"
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
