package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGateLimits(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 2, MaxInFlightPerHost: 3, PollInterval: time.Second, Lease: time.Minute})
	now := time.Unix(1e9, 0)
	claim := func(id, url string) *Claim { return &Claim{Hook: &Webhook{ID: id, URL: url}} }
	a, b, c := claim("a", "https://one.example/x"), claim("b", "https://ONE.example/y"), claim("c", "https://two.example/")

	host, v, _ := g.admit(a, now, false)
	require.Equal(t, admitted, v)
	require.Equal(t, "one.example", host)
	_, v, _ = g.admit(a, now, false)
	require.Equal(t, admitted, v)
	_, v, retry := g.admit(a, now, false)
	require.Equal(t, overLimit, v, "per-hook limit")
	require.True(t, retry.IsZero(), "no rate: the Dispatcher picks the delay")
	_, v, _ = g.admit(b, now, false)
	require.Equal(t, admitted, v, "another hook on the same host")
	_, v, _ = g.admit(b, now, false)
	require.Equal(t, overLimit, v, "per-host limit (3), hosts compared without case")
	_, v, _ = g.admit(c, now, false)
	require.Equal(t, admitted, v, "another host is unaffected")
	g.done("a", "one.example")
	_, v, _ = g.admit(b, now, false)
	require.Equal(t, admitted, v, "a place came back")
}

func TestGateRate(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 100, MaxInFlightPerHost: 100, RatePerHook: 2, RateBurst: 1, PollInterval: time.Second})
	now := time.Unix(1e9, 0)
	w := &Claim{Hook: &Webhook{ID: "h", URL: "https://r.example/"}}
	host, v, _ := g.admit(w, now, false)
	require.Equal(t, admitted, v)
	g.done("h", host)
	_, v, retry := g.admit(w, now, false)
	require.Equal(t, overRate, v, "2/s with a burst of 1: the next one waits")
	require.Equal(t, now.Add(500*time.Millisecond), retry)
	host, v, _ = g.admit(w, now, true)
	require.Equal(t, admitted, v, "a draining admit ignores the rate")
	g.done("h", host)
	_, v, _ = g.admit(w, now.Add(500*time.Millisecond), false)
	require.Equal(t, admitted, v, "a refused reservation was given back")
	other := &Claim{Hook: &Webhook{ID: "other", URL: "https://r.example/"}}
	_, v, _ = g.admit(other, now, false)
	require.Equal(t, admitted, v, "each webhook has its own rate")
}

// TestGateDeferral: a webhook that stays at its limit because its
// attempts hang has its deliveries put off twice as long each time, up
// to the cap, instead of every PollInterval; one that finishes attempts
// quickly is put off for PollInterval only.
func TestGateDeferral(t *testing.T) {
	t.Parallel()
	const poll = time.Second
	g := newGate(&Config{MaxInFlightPerHook: 2, MaxInFlightPerHost: 100, PollInterval: poll, Lease: time.Minute})
	now := time.Unix(1e9, 0)
	slow := &Claim{Hook: &Webhook{ID: "slow", URL: "https://slow.example/"}}
	for range 2 {
		_, v, _ := g.admit(slow, now, false)
		require.Equal(t, admitted, v)
	}
	var got []time.Duration
	for range 8 {
		host, v, _ := g.admit(slow, now, false)
		require.Equal(t, overLimit, v)
		until := g.deferral(slow, host, now)
		require.Equal(t, until, g.deferral(slow, host, now), "deferred together within one delay")
		got = append(got, until.Sub(now))
		now = until // the deliveries come back, and the hook still hangs
	}
	require.Equal(t, []time.Duration{poll, 2 * poll, 4 * poll, 8 * poll, 16 * poll, 30 * time.Second, 30 * time.Second, 30 * time.Second}, got,
		"doubling up to half the lease")

	fast := &Claim{Hook: &Webhook{ID: "fast", URL: "https://fast.example/"}}
	host := ""
	for range 2 {
		host, _, _ = g.admit(fast, now, false)
	}
	for range 3 {
		until := g.deferral(fast, host, now)
		require.Equal(t, poll, until.Sub(now))
		// It finishes many attempts before they come back.
		for range 5 {
			g.done("fast", host)
			_, v, _ := g.admit(fast, now, false)
			require.Equal(t, admitted, v)
		}
		now = until
	}
}

// TestGateForgets: the gate's state for webhooks and hosts shrinks once
// they are idle: lapsed deferrals and full rate limiters are dropped.
func TestGateForgets(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 1, MaxInFlightPerHost: 100, RatePerHook: 10, RateBurst: 1,
		PollInterval: time.Second, Lease: time.Minute})
	now := time.Unix(1e9, 0)
	for i := range 100 {
		c := &Claim{Hook: &Webhook{ID: fmt.Sprint("h", i), URL: fmt.Sprintf("https://r%d.example/", i)}}
		host, v, _ := g.admit(c, now, false)
		require.Equal(t, admitted, v)
		_, v, _ = g.admit(c, now, false)
		require.Equal(t, overLimit, v)
		g.deferral(c, host, now)
		g.done(c.Hook.ID, host)
	}
	require.Equal(t, 200, g.size(), "a limiter and a deferral each")
	g.sweep(now)
	require.Equal(t, 200, g.size(), "still in use")
	g.sweep(now.Add(time.Minute))
	require.Zero(t, g.size())
}

// TestGateAwait: a draining worker waits for a place rather than putting
// a delivery off, and stops waiting when its context ends.
func TestGateAwait(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 1, MaxInFlightPerHost: 100, PollInterval: time.Second, Lease: time.Minute})
	c := &Claim{Hook: &Webhook{ID: "h", URL: "https://r.example/"}}
	host, v, _ := g.admit(c, time.Time{}, true)
	require.Equal(t, admitted, v)
	got := make(chan bool)
	go func() {
		_, ok := g.await(context.Background(), c, nil)
		got <- ok
	}()
	g.done("h", host)
	require.True(t, <-got, "the place given back is taken by the waiter")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok := g.await(ctx, c, nil)
	require.False(t, ok, "the waiter holds the place; a cancelled wait gives up")
	expired := make(chan time.Time, 1)
	expired <- time.Time{}
	_, ok = g.await(context.Background(), c, expired)
	require.False(t, ok, "the waiter holds the place; an expired wait gives up")
}
