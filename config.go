package webhook

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Defaults of [Config].
const (
	// DefaultUserAgent is the User-Agent Misskey sends.
	DefaultUserAgent = "Misskey-Hooks"
	// DefaultWorkers is how many deliveries are in flight at once.
	DefaultWorkers = 32
	// DefaultLease is how long a claimed delivery is reserved for its
	// worker before another may take it.
	DefaultLease = time.Minute
	// DefaultPollInterval is how often the store is asked for due
	// deliveries when nothing woke the Dispatcher.
	DefaultPollInterval = time.Second
	// DefaultMaxBodyBytes is the largest encoded event body Emit accepts.
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures a [Dispatcher]. Host is required; every other field's
// zero value means its documented default.
type Config struct {
	// Host is the emitting server's host, with port if any and no scheme
	// ("example.tld", "example.tld:8443"), sent as X-Misskey-Host.
	// Required.
	Host string
	// Origin is the payload's "server" value. Defaults to "https://" +
	// Host.
	Origin string
	// UserAgent is the User-Agent header. Defaults to DefaultUserAgent.
	UserAgent string
	// Workers is how many deliveries may be in flight at once. Started,
	// the Dispatcher also keeps up to Workers more claimed, waiting for
	// a free worker, so that the store is asked in batches. When no
	// fairness limit can refuse an attempt (MaxInFlightPerHook and
	// MaxInFlightPerHost at least Workers, no RatePerHook) it keeps up
	// to 6 x Workers, so that the workers find the next claim at hand
	// while a batch is on its way (a wait of milliseconds normally, of up
	// to six attempts behind slow receivers; a claim whose lease could
	// lapse before its attempt ends is handed back rather than attempted
	// late). When the Dispatcher stops before attempting them (Shutdown's
	// context ended) those are handed back, due at once. With a store
	// that is an [EnqueueClaimer], Emit claims into that room too,
	// without waiting for a claim under way that holds it, so that for a
	// moment up to twice as many deliveries may be claimed as otherwise.
	// Defaults to DefaultWorkers.
	Workers int
	// Transport sends the requests. Defaults to an [HTTPTransport] with
	// its defaults (5 s timeout, no redirects, private-network guard on).
	Transport Transport
	// RetryPolicy spaces the attempts of failed deliveries. Defaults to
	// [DefaultRetryPolicy], Misskey's.
	RetryPolicy RetryPolicy
	// MaxRetryAfter caps the wait a receiver may ask for with
	// Retry-After. Defaults to DefaultMaxBackoff (8 h).
	MaxRetryAfter time.Duration
	// Clock tells the time. Defaults to [SystemClock].
	Clock Clock
	// Logger receives the Dispatcher's logs: failed attempts and
	// webhooks disabled at Warn, store errors at Error, each attempt at
	// Debug. Defaults to slog.Default() as of New, as the standard
	// library falls back to its default logger; pass a Logger over
	// slog.DiscardHandler to keep none.
	Logger *slog.Logger
	// MaxWebhooksPerUser limits CreateHook, as Misskey's role limit does
	// (Misskey's default is 3). Defaults to 0, no limit.
	MaxWebhooksPerUser int
	// Lease is how long a claimed delivery stays reserved for its worker;
	// it must be longer than twice the Transport's timeout (a claim may
	// wait for one attempt to end before its own begins). Defaults to
	// DefaultLease.
	Lease time.Duration
	// PollInterval is how often the store is asked for due deliveries
	// when nothing woke the Dispatcher. Defaults to DefaultPollInterval.
	PollInterval time.Duration
	// MaxBodyBytes is the largest encoded event body Emit accepts; a
	// larger one is refused with ErrPayloadTooLarge, never truncated.
	// Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int
	// SigningSecret, if set, signs the requests of webhooks that have no
	// SigningSecret of their own (see [Webhook.SigningSecret]). Defaults
	// to none: only webhooks with their own secret are signed.
	SigningSecret string
	// MaxInFlightPerHook is how many deliveries of one webhook may be in
	// flight at once in this Dispatcher, so that a receiver that hangs
	// until the timeout cannot hold every worker. Deliveries over it wait
	// in the store, with no attempt counted, due again after
	// PollInterval; while the webhook stays at its limit finishing fewer
	// attempts than the limit per PollInterval (its receiver is slow), twice
	// as long each time, up to 32 PollIntervals or half the Lease. Drain, and
	// Shutdown, wait for a place instead. Defaults to
	// DefaultMaxInFlightPerHook.
	MaxInFlightPerHook int
	// MaxInFlightPerHost is the same limit for all webhooks whose URLs
	// share a host. Defaults to DefaultMaxInFlightPerHost.
	MaxInFlightPerHost int
	// RatePerHook, when > 0, limits each webhook to that many attempts per
	// second (golang.org/x/time/rate), with bursts of RateBurst.
	// Deliveries over it wait in the store. Defaults to 0, no limit.
	RatePerHook float64
	// RateBurst is the burst of RatePerHook. Defaults to 1.
	RateBurst int
	// DisableAfter is how long a webhook may fail without a single
	// success before the Dispatcher sets it inactive; a 410 Gone answer
	// disables it at once. Defaults to DefaultDisableAfter (5 days).
	DisableAfter time.Duration
	// NoAutoDisable turns automatic disabling off.
	NoAutoDisable bool
	// PruneInterval is how often a started Dispatcher asks a [Pruner]
	// store to delete finished deliveries past its retention. Defaults to
	// DefaultPruneInterval; -1 never prunes (the host calls Prune).
	PruneInterval time.Duration

	// OnAttempt, if set, is called after every attempt has been settled
	// in the store, from the goroutine that made it, or, with a store
	// that settles in batches (a [SettleClaimer]), from the one that
	// settled it. It must not block; the callbacks below likewise.
	OnAttempt func(AttemptReport)
	// OnGiveUp, if set, is called when a delivery has failed for good.
	OnGiveUp func(AttemptReport)
	// OnRecover, if set, is called when a webhook that was failing
	// (FailingSince set) has a delivery accepted again.
	OnRecover func(AttemptReport)
	// OnDisable, if set, is called after the Dispatcher has set a webhook
	// inactive, with the webhook as it was and the reason; the host may
	// tell its owner. Re-enabling is an ordinary UpdateHook.
	OnDisable func(w *Webhook, reason error)
}

// DefaultPruneInterval is how often a Pruner store is pruned.
const DefaultPruneInterval = time.Hour

// DefaultDisableAfter is how long a webhook may fail without a success
// before it is disabled.
const DefaultDisableAfter = 5 * 24 * time.Hour

// An AttemptReport describes one finished attempt, for Config.OnAttempt.
type AttemptReport struct {
	// Delivery is the delivery as claimed, before the attempt.
	Delivery *Delivery
	// Attempt is the attempt's number, counting from 1.
	Attempt int
	// Status is the HTTP status, 0 when there was none.
	Status int
	// Duration is how long the attempt took.
	Duration time.Duration
	// Err is why the attempt failed, nil when it was delivered.
	Err error
	// State is the delivery's state after the attempt: StatePending
	// means it will be retried at NextAttemptAt.
	State State
	// NextAttemptAt is when a retry is due.
	NextAttemptAt time.Time
}

// withDefaults returns a copy of c with each zero field set to its
// default, or a validation error naming the first field that is wrong.
// It never clamps: a value out of range is an error.
func (cfg *Config) withDefaults() (Config, error) {
	c := *cfg
	if err := validateHost(c.Host); err != nil {
		return Config{}, err
	}
	if c.Origin == "" {
		c.Origin = "https://" + c.Host
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"Origin", c.Origin}, {"UserAgent", c.UserAgent}} {
		if strings.ContainsAny(f.v, "\r\n\x00") {
			return Config{}, invalidf("Config.%s must not hold control characters", f.name)
		}
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"Workers", &c.Workers, DefaultWorkers},
		{"MaxBodyBytes", &c.MaxBodyBytes, DefaultMaxBodyBytes},
		{"MaxInFlightPerHook", &c.MaxInFlightPerHook, DefaultMaxInFlightPerHook},
		{"MaxInFlightPerHost", &c.MaxInFlightPerHost, DefaultMaxInFlightPerHost},
		{"RateBurst", &c.RateBurst, 1},
	}
	for _, f := range ints {
		if *f.v == 0 {
			*f.v = f.def
		} else if *f.v < 0 {
			return Config{}, invalidf("Config.%s must be >= 1, got %d", f.name, *f.v)
		}
	}
	if c.SigningSecret != "" {
		if _, err := ParseSigningSecret(c.SigningSecret); err != nil {
			return Config{}, fmt.Errorf("webhook: Config.SigningSecret: %w", err)
		}
	}
	if c.RatePerHook < 0 {
		return Config{}, invalidf("Config.RatePerHook must be >= 0, got %v", c.RatePerHook)
	}
	if c.MaxWebhooksPerUser < 0 {
		return Config{}, invalidf("Config.MaxWebhooksPerUser must be >= 0, got %d", c.MaxWebhooksPerUser)
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"MaxRetryAfter", &c.MaxRetryAfter, DefaultMaxBackoff},
		{"Lease", &c.Lease, DefaultLease},
		{"PollInterval", &c.PollInterval, DefaultPollInterval},
		{"DisableAfter", &c.DisableAfter, DefaultDisableAfter},
	}
	if c.PruneInterval == -1 {
		c.PruneInterval = 0 // never
	} else if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	} else if c.PruneInterval < 0 {
		return Config{}, invalidf("Config.PruneInterval must be > 0 or -1, got %v", c.PruneInterval)
	}
	for _, f := range durs {
		if *f.v == 0 {
			*f.v = f.def
		} else if *f.v < 0 {
			return Config{}, invalidf("Config.%s must be > 0, got %v", f.name, *f.v)
		}
	}
	return c, nil
}

// validateHost checks Config.Host: a host name or address with an
// optional port, nothing else.
func validateHost(h string) error {
	if h == "" {
		return invalidf("Config.Host must be set (the server's host, such as \"example.tld\")")
	}
	if len(h) > 255 || strings.ContainsAny(h, "/?#@ \t\r\n\x00") || strings.Contains(h, "://") {
		return invalidf("Config.Host must be a host with optional port and no scheme or path, got %q", truncate(h, 64))
	}
	host := h
	if strings.Contains(h, ":") {
		hh, port, err := net.SplitHostPort(h)
		if err != nil || port == "" {
			return invalidf("Config.Host %q: bad port", truncate(h, 64))
		}
		host = hh
	}
	if host == "" {
		return invalidf("Config.Host %q has no host name", truncate(h, 64))
	}
	return nil
}
