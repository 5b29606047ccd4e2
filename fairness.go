package webhook

import (
	"context"
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
// no attempt counted; a draining Dispatcher waits for a place instead, but
// not past half the claim's lease (then it releases it, due at once).
//
// A webhook or host that stays at its limit because its attempts are
// slow (it finishes fewer than its limit's worth per PollInterval) has
// its deliveries put off for twice as long each time, up to
// maxDeferral, so that a hanging receiver's backlog is not released and
// claimed again every PollInterval.
type gate struct {
	perHook, perHost int
	rate             rate.Limit
	burst            int
	poll             time.Duration // the first deferral, Config.PollInterval
	maxDeferral      time.Duration

	mu       sync.Mutex
	hostOf   map[string]string // URL → host, parsed once
	hooks    map[string]int
	hosts    map[string]int
	limiters map[string]*rate.Limiter
	deferred map[string]*deferral // "h"+hook ID or "H"+host → its deferral
	// latest is the latest time a deferred delivery is due.
	latest time.Time
	// freed, made by the first waiter, is closed when a place is given
	// back.
	freed chan struct{}
}

// A deferral is how long a saturated webhook's or host's deliveries are
// put off, and since when.
type deferral struct {
	delay time.Duration
	until time.Time // deliveries released now are due then
	start time.Time // when this delay began
	done  int       // attempts finished since start
}

func newGate(c *Config) *gate {
	g := &gate{perHook: c.MaxInFlightPerHook, perHost: c.MaxInFlightPerHost, poll: c.PollInterval,
		maxDeferral: max(c.PollInterval, min(32*c.PollInterval, c.Lease/2)),
		hooks:       make(map[string]int), hosts: make(map[string]int), hostOf: make(map[string]string),
		deferred: make(map[string]*deferral)}
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

// An admission is admit's answer.
type admission uint8

const (
	admitted admission = iota
	overLimit
	overRate
)

// admit reserves a place for c's delivery. Refused, it says whether a
// limit in flight or the rate refused it, and for the rate when to try
// again. A draining admit ignores the rate.
func (g *gate) admit(c *Claim, now time.Time, draining bool) (host string, a admission, retryAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	host = g.host(c.Hook.URL)
	if g.hooks[c.Hook.ID] >= g.perHook || g.hosts[host] >= g.perHost {
		return host, overLimit, time.Time{}
	}
	if g.limiters != nil && !draining {
		lim := g.limiters[c.Hook.ID]
		if lim == nil {
			lim = rate.NewLimiter(g.rate, g.burst)
			g.limiters[c.Hook.ID] = lim
		}
		r := lim.ReserveN(now, 1)
		if delay := r.DelayFrom(now); delay > 0 {
			r.CancelAt(now)
			return host, overRate, now.Add(delay)
		}
	}
	g.hooks[c.Hook.ID]++
	g.hosts[host]++
	return host, admitted, time.Time{}
}

// host returns the host of a webhook URL. g.mu is held.
func (g *gate) host(u string) string {
	host, known := g.hostOf[u]
	if !known {
		if len(g.hostOf) >= maxHostCache {
			clear(g.hostOf)
		}
		host = receiverHost(u)
		g.hostOf[u] = host
	}
	return host
}

// await waits until c's delivery has a place, ignoring the rate, and
// reserves it; false means ctx ended, or expired fired, first.
func (g *gate) await(ctx context.Context, c *Claim, expired <-chan time.Time) (host string, ok bool) {
	for {
		g.mu.Lock()
		host = g.host(c.Hook.URL)
		if g.hooks[c.Hook.ID] < g.perHook && g.hosts[host] < g.perHost {
			g.hooks[c.Hook.ID]++
			g.hosts[host]++
			g.mu.Unlock()
			return host, true
		}
		if g.freed == nil {
			g.freed = make(chan struct{})
		}
		freed := g.freed
		g.mu.Unlock()
		select {
		case <-freed:
		case <-expired:
			return "", false
		case <-ctx.Done():
			return "", false
		}
	}
}

// deferral returns when a delivery of c's webhook, refused by admit for a
// limit in flight at now, is due again: after PollInterval, and for a
// webhook or host that stayed at its limit finishing fewer attempts than
// the limit per PollInterval, twice the previous delay.
func (g *gate) deferral(c *Claim, host string, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	key, limit := "h"+c.Hook.ID, g.perHook
	if g.hooks[c.Hook.ID] < g.perHook {
		key, limit = "H"+host, g.perHost
	}
	d := g.deferred[key]
	switch {
	case d == nil:
		d = &deferral{delay: g.poll, start: now, until: now.Add(g.poll)}
		g.deferred[key] = d
	case now.Before(d.until):
		// Within this delay: due with the others put off.
	default:
		// Slow: fewer than limit attempts finished per PollInterval.
		slow := float64(d.done) < float64(limit)*float64(now.Sub(d.start))/float64(g.poll)
		if slow {
			d.delay = min(2*d.delay, g.maxDeferral)
		} else {
			d.delay = g.poll
		}
		d.start, d.until, d.done = now, now.Add(d.delay), 0
	}
	if d.until.After(g.latest) {
		g.latest = d.until
	}
	return d.until
}

// latestDeferral returns the latest time a delivery put off by deferral
// is due.
func (g *gate) latestDeferral() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.latest
}

// done gives back the place admit or await reserved.
func (g *gate) done(hookID, host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hooks[hookID]--; g.hooks[hookID] <= 0 {
		delete(g.hooks, hookID)
	}
	if g.hosts[host]--; g.hosts[host] <= 0 {
		delete(g.hosts, host)
	}
	if len(g.deferred) > 0 {
		if d := g.deferred["h"+hookID]; d != nil {
			d.done++
		}
		if d := g.deferred["H"+host]; d != nil {
			d.done++
		}
	}
	if g.freed != nil { // someone awaits a place
		close(g.freed)
		g.freed = nil
	}
}

// sweep forgets what no longer matters at now: deferrals that lapsed a
// whole delay ago (their webhook or host is no longer put off), and rate
// limiters that are full again, which a new limiter equals.
func (g *gate) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, d := range g.deferred {
		if now.After(d.until.Add(d.delay)) {
			delete(g.deferred, k)
		}
	}
	for id, lim := range g.limiters {
		if g.hooks[id] == 0 && lim.TokensAt(now) >= float64(g.burst) {
			delete(g.limiters, id)
		}
	}
}

// size returns how many webhooks and hosts the gate holds state for.
func (g *gate) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.hooks) + len(g.hosts) + len(g.limiters) + len(g.deferred)
}
