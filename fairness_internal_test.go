package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGateLimits(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 2, MaxInFlightPerHost: 3})
	now := time.Unix(1e9, 0)
	claim := func(id, url string) *Claim { return &Claim{Hook: &Webhook{ID: id, URL: url}} }
	a, b, c := claim("a", "https://one.example/x"), claim("b", "https://ONE.example/y"), claim("c", "https://two.example/")

	host, ok, _ := g.admit(a, now)
	require.True(t, ok)
	require.Equal(t, "one.example", host)
	_, ok, _ = g.admit(a, now)
	require.True(t, ok)
	_, ok, retry := g.admit(a, now)
	require.False(t, ok, "per-hook limit")
	require.True(t, retry.IsZero(), "no rate: the Dispatcher picks the delay")
	_, ok, _ = g.admit(b, now)
	require.True(t, ok, "another hook on the same host")
	_, ok, _ = g.admit(b, now)
	require.False(t, ok, "per-host limit (3), hosts compared without case")
	_, ok, _ = g.admit(c, now)
	require.True(t, ok, "another host is unaffected")
	g.done("a", "one.example")
	_, ok, _ = g.admit(b, now)
	require.True(t, ok, "a place came back")
}

func TestGateRate(t *testing.T) {
	t.Parallel()
	g := newGate(&Config{MaxInFlightPerHook: 100, MaxInFlightPerHost: 100, RatePerHook: 2, RateBurst: 1})
	now := time.Unix(1e9, 0)
	w := &Claim{Hook: &Webhook{ID: "h", URL: "https://r.example/"}}
	host, ok, _ := g.admit(w, now)
	require.True(t, ok)
	g.done("h", host)
	_, ok, retry := g.admit(w, now)
	require.False(t, ok, "2/s with a burst of 1: the next one waits")
	require.Equal(t, now.Add(500*time.Millisecond), retry)
	_, ok, _ = g.admit(w, now.Add(500*time.Millisecond))
	require.True(t, ok, "a refused reservation was given back")
	other := &Claim{Hook: &Webhook{ID: "other", URL: "https://r.example/"}}
	_, ok, _ = g.admit(other, now)
	require.True(t, ok, "each webhook has its own rate")
}
