package webhook

import (
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the fairness limits in [Config].
const (
	// DefaultMaxInFlightPerHook is how many deliveries of one webhook may
	// be in flight at once, in one Dispatcher.
	DefaultMaxInFlightPerHook = 4
	// DefaultMaxInFlightPerHost is how many deliveries to one receiver
	// host (of any webhooks) may be in flight at once, in one Dispatcher.
	DefaultMaxInFlightPerHost = 16
)

// gate keeps one webhook, or one receiver host, from taking every worker:
// a receiver that hangs until the timeout on every request then holds at
// most its share, and the other webhooks' deliveries go on. Deliveries
// over a limit are released to the store, due again a little later, with
// no attempt counted.
type gate struct {
	perHook, perHost int
	rate             rate.Limit
	burst            int

	mu       sync.Mutex
	hostOf   map[string]string // URL → host, parsed once
	hooks    map[string]int
	hosts    map[string]int
	limiters map[string]*rate.Limiter
}

func newGate(c *Config) *gate {
	g := &gate{perHook: c.MaxInFlightPerHook, perHost: c.MaxInFlightPerHost,
		hooks: make(map[string]int), hosts: make(map[string]int), hostOf: make(map[string]string)}
	if c.RatePerHook > 0 {
		g.rate, g.burst = rate.Limit(c.RatePerHook), c.RateBurst
		g.limiters = make(map[string]*rate.Limiter)
	}
	return g
}

// maxHostCache bounds gate.hostOf; past it the cache starts over.
const maxHostCache = 1 << 16

// receiverHost returns the host of a webhook URL, the key of the per-host
// limit.
func receiverHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Host)
}

// rated reports whether admit reads its now (for the rate limit).
func (g *gate) rated() bool { return g.limiters != nil }

// admit reserves a place for c's delivery, or says when to try again.
func (g *gate) admit(c *Claim, now time.Time) (host string, ok bool, retryAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	host, known := g.hostOf[c.Hook.URL]
	if !known {
		if len(g.hostOf) >= maxHostCache {
			clear(g.hostOf)
		}
		host = receiverHost(c.Hook.URL)
		g.hostOf[c.Hook.URL] = host
	}
	if g.hooks[c.Hook.ID] >= g.perHook || g.hosts[host] >= g.perHost {
		return host, false, time.Time{}
	}
	if g.limiters != nil {
		lim := g.limiters[c.Hook.ID]
		if lim == nil {
			lim = rate.NewLimiter(g.rate, g.burst)
			g.limiters[c.Hook.ID] = lim
		}
		r := lim.ReserveN(now, 1)
		if delay := r.DelayFrom(now); delay > 0 {
			r.CancelAt(now)
			return host, false, now.Add(delay)
		}
	}
	g.hooks[c.Hook.ID]++
	g.hosts[host]++
	return host, true, time.Time{}
}

// done gives back the place admit reserved.
func (g *gate) done(hookID, host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hooks[hookID]--; g.hooks[hookID] <= 0 {
		delete(g.hooks, hookID)
	}
	if g.hosts[host]--; g.hosts[host] <= 0 {
		delete(g.hosts, host)
	}
}
