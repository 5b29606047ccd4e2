package webhook

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
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
	// the Dispatcher also keeps up to Workers/2 more claimed, waiting for
	// the next free worker, so that the store is asked in batches; at
	// Shutdown those are handed back, due at once. Defaults to
	// DefaultWorkers.
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
	// Logger receives the Dispatcher's logs. Defaults to discarding them.
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
	// in the store (due again after PollInterval), with no attempt
	// counted. Defaults to DefaultMaxInFlightPerHook.
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
	// in the store, from the goroutine that made it. It must not block;
	// the callbacks below likewise.
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

// A Dispatcher emits webhooks: Emit finds the webhooks an event goes to
// and enqueues one delivery each in the Store; workers started by Start
// POST them through the Transport and retry failures by the RetryPolicy.
// Its methods are safe for concurrent use.
type Dispatcher struct {
	store     Store
	transport Transport
	policy    RetryPolicy
	clock     Clock
	log       *slog.Logger
	cfg       Config
	ownsHTTP  *HTTPTransport
	// reuseRequests is set when the Transport is an HTTPTransport, which
	// keeps nothing of a Request: see outgoing.
	reuseRequests bool

	wake chan struct{}
	gate *gate

	mu        sync.Mutex
	recovered map[string]time.Time // hook ID → the failing spell reported over
	started   bool
	pool      *pool         // the started Dispatcher's workers' claims
	closed    atomic.Bool   // set under mu; read without it by Emit
	stop      chan struct{} // closed when Shutdown begins
	cancel    context.CancelFunc
	// stopListening ends the store's Notifier.Listen, if it has one.
	stopListening context.CancelFunc
	wg            sync.WaitGroup
	finished      chan struct{} // closed when every goroutine has returned
}

// New returns a Dispatcher over store; a nil store means a new
// [MemoryStore]. A nil cfg is an error, since Host is required. New
// starts nothing: call Start to deliver in the background, or Drain.
func New(store Store, cfg *Config) (*Dispatcher, error) {
	if cfg == nil {
		return nil, invalidf("Config is required (Config.Host must be set)")
	}
	c := *cfg
	if err := validateHost(c.Host); err != nil {
		return nil, err
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
			return nil, invalidf("Config.%s must not hold control characters", f.name)
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
			return nil, invalidf("Config.%s must be >= 1, got %d", f.name, *f.v)
		}
	}
	if c.SigningSecret != "" {
		if _, err := ParseSigningSecret(c.SigningSecret); err != nil {
			return nil, fmt.Errorf("webhook: Config.SigningSecret: %w", err)
		}
	}
	if c.RatePerHook < 0 {
		return nil, invalidf("Config.RatePerHook must be >= 0, got %v", c.RatePerHook)
	}
	if c.MaxWebhooksPerUser < 0 {
		return nil, invalidf("Config.MaxWebhooksPerUser must be >= 0, got %d", c.MaxWebhooksPerUser)
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
		return nil, invalidf("Config.PruneInterval must be > 0 or -1, got %v", c.PruneInterval)
	}
	for _, f := range durs {
		if *f.v == 0 {
			*f.v = f.def
		} else if *f.v < 0 {
			return nil, invalidf("Config.%s must be > 0, got %v", f.name, *f.v)
		}
	}
	d := &Dispatcher{
		store:     store,
		transport: c.Transport,
		policy:    c.RetryPolicy,
		clock:     c.Clock,
		log:       c.Logger,
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		finished:  make(chan struct{}),
	}
	if d.store == nil {
		d.store, _ = NewMemoryStore(nil)
	}
	if d.transport == nil {
		t, err := NewHTTPTransport(nil)
		if err != nil {
			return nil, err
		}
		d.transport, d.ownsHTTP = t, t
	}
	_, d.reuseRequests = d.transport.(*HTTPTransport)
	if d.policy == nil {
		d.policy = DefaultRetryPolicy()
	}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.cfg = c
	d.gate = newGate(&c)
	return d, nil
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

// Store returns the Dispatcher's store.
func (d *Dispatcher) Store() Store { return d.store }

// Host returns the configured Host.
func (d *Dispatcher) Host() string { return d.cfg.Host }

// CreateHook validates w, gives it an ID if it has none, and adds it,
// enforcing Config.MaxWebhooksPerUser for user webhooks. Active is taken
// as given: set it to true for a webhook that should receive deliveries
// (Misskey's default). It returns the stored webhook.
func (d *Dispatcher) CreateHook(ctx context.Context, w *Webhook) (*Webhook, error) {
	c := w.Clone()
	if c.ID == "" {
		c.ID = NewID(d.clock.Now())
	}
	c.LatestSentAt, c.LatestStatus = nil, nil
	if err := c.Validate(); err != nil {
		return nil, err
	}
	limit := d.cfg.MaxWebhooksPerUser
	if c.IsSystem() {
		limit = 0
	}
	if err := d.store.CreateHook(ctx, c, limit); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateHook validates w and replaces the Name, On, URL, Secret, Active,
// SigningSecret and PreviousSigningSecrets of the webhook with w's ID. Its
// owner cannot change.
func (d *Dispatcher) UpdateHook(ctx context.Context, w *Webhook) error {
	if err := validateID("Webhook.ID", w.ID, false); err != nil {
		return err
	}
	old, err := d.store.GetHook(ctx, w.ID)
	if err != nil {
		return err
	}
	c := w.Clone()
	c.UserID = old.UserID
	if err := c.Validate(); err != nil {
		return err
	}
	return d.store.UpdateHook(ctx, c)
}

// GetHook returns the webhook with the given ID, or an error matching
// ErrNotFound.
func (d *Dispatcher) GetHook(ctx context.Context, id string) (*Webhook, error) {
	return d.store.GetHook(ctx, id)
}

// ListHooks returns userID's webhooks ("" for the system webhooks).
func (d *Dispatcher) ListHooks(ctx context.Context, userID string) ([]*Webhook, error) {
	return d.store.ListHooks(ctx, userID)
}

// DeleteHook removes a webhook and its pending deliveries.
func (d *Dispatcher) DeleteHook(ctx context.Context, id string) error {
	return d.store.DeleteHook(ctx, id)
}

// Emit enqueues one delivery of a user event to every active webhook of
// userID subscribed to e, each with its own eventId, all with the same
// createdAt and body. body is any JSON-marshalable value encoding to an
// object (such as a [NoteBody]), or already-encoded JSON as []byte or
// [json.RawMessage]; it is encoded once, and only when some webhook
// matches. Emit does no network I/O and does not wait for delivery. After
// Shutdown it returns ErrClosed.
func (d *Dispatcher) Emit(ctx context.Context, userID string, e Event, body any) error {
	if userID == "" {
		return invalidf("Emit needs a user ID; use EmitSystem for system events")
	}
	if !e.IsUser() {
		return invalidf("Emit takes user events, got %q", truncate(string(e), 64))
	}
	return d.emit(ctx, d.store, userID, e, body)
}

// EmitSystem is Emit for system events, which go to the system webhooks.
func (d *Dispatcher) EmitSystem(ctx context.Context, e Event, body any) error {
	if !e.IsSystem() {
		return invalidf("EmitSystem takes system events, got %q", truncate(string(e), 64))
	}
	return d.emit(ctx, d.store, "", e, body)
}

// EmitVia is Emit through o instead of the Dispatcher's store: pass an
// Outbox bound to the caller's database transaction (see the durable
// stores' InTx) and the deliveries exist if and only if that transaction
// commits. userID "" emits a system event. Call Notify after the commit
// to start the deliveries at once, unless the store pushes by itself
// (pgstore's LISTEN/NOTIFY does).
func (d *Dispatcher) EmitVia(ctx context.Context, o Outbox, userID string, e Event, body any) error {
	if (userID == "" && !e.IsSystem()) || (userID != "" && !e.IsUser()) {
		return invalidf("EmitVia: event %q does not go with user ID %q", truncate(string(e), 64), truncate(userID, 64))
	}
	return d.emit(ctx, o, userID, e, body)
}

func (d *Dispatcher) emit(ctx context.Context, o Outbox, userID string, e Event, body any) error {
	if d.isClosed() {
		return fmt.Errorf("webhook: emit: %w", ErrClosed)
	}
	hooks, err := o.MatchHooks(ctx, userID, e)
	if err != nil || len(hooks) == 0 {
		return err
	}
	b, err := EncodeBody(body)
	if err != nil {
		return err
	}
	if len(b) > d.cfg.MaxBodyBytes {
		return fmt.Errorf("webhook: %s body of %d bytes is over Config.MaxBodyBytes (%d): %w", e, len(b), d.cfg.MaxBodyBytes, ErrPayloadTooLarge)
	}
	now := d.clock.Now()
	created := time.UnixMilli(now.UnixMilli())
	if ms, ok := o.(*MemoryStore); ok {
		// The default store takes the event as it is, without a Delivery
		// built for each webhook only to be copied.
		if err := ms.enqueueEvent(ctx, hooks, e, d.cfg.Origin, created, now, b); err != nil {
			return err
		}
		if o == Outbox(d.store) {
			d.Notify()
		}
		return nil
	}
	ds := make([]Delivery, len(hooks))
	ptrs := make([]*Delivery, len(hooks))
	for i, h := range hooks {
		ds[i] = Delivery{
			HookID: h.ID, UserID: h.UserID, Type: e, Server: d.cfg.Origin,
			CreatedAt: created, Body: b, State: StatePending, NextAttemptAt: now,
		}
		ptrs[i] = &ds[i]
	}
	setEventIDs(ds)
	if err := o.Enqueue(ctx, ptrs); err != nil {
		return err
	}
	if o == Outbox(d.store) {
		d.Notify() // through EmitVia, the caller notifies after commit
	}
	return nil
}

// setEventIDs gives each delivery a random (version 4) UUID.
func setEventIDs(ds []Delivery) {
	newEventIDs(len(ds), func(i int) *uuid.UUID { return &ds[i].ID })
}

// newEventIDs sets n random (version 4) UUIDs, the i-th at id(i), reading
// the system's random source once for all of them.
func newEventIDs(n int, id func(i int) *uuid.UUID) {
	var small [8 * 16]byte
	buf := small[:]
	if 16*n > len(small) {
		buf = make([]byte, 16*n)
	}
	_, _ = rand.Read(buf[:16*n]) // crypto/rand.Read never fails
	for i := range n {
		u := id(i)
		copy(u[:], buf[16*i:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
	}
}

// Notify wakes the Dispatcher's workers to look for due deliveries now.
// Emit calls it; call it after committing a transaction in which EmitVia
// enqueued, when the store has no push of its own.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) isClosed() bool { return d.closed.Load() }

// Start starts delivering in the background and returns at once. Calling
// it again does nothing. Cancelling ctx stops the workers and interrupts
// deliveries in flight, as an expired Shutdown does; call Shutdown in
// any case to wait for them. After Shutdown, Start returns ErrClosed.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return fmt.Errorf("webhook: start: %w", ErrClosed)
	}
	if d.started {
		return nil
	}
	d.started = true
	workCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	d.pool = newPool(d.cfg.Workers)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run(workCtx, d.pool)
	}()
	if n, ok := d.store.(Notifier); ok {
		// The listener stops as soon as Shutdown begins: unlike the
		// workers, it has nothing in flight to finish.
		listenCtx, stopListening := context.WithCancel(workCtx)
		d.stopListening = stopListening
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if err := n.Listen(listenCtx, d.Notify); err != nil && listenCtx.Err() == nil {
				d.log.Warn("webhook: store notifications stopped; polling instead", "err", err)
			}
		}()
	}
	if p, ok := d.store.(Pruner); ok && d.cfg.PruneInterval > 0 {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.prune(workCtx, p)
		}()
	}
	go func() {
		d.wg.Wait()
		close(d.finished)
	}()
	return nil
}

// Shutdown stops claiming deliveries and waits for those in flight. If
// ctx ends first, it interrupts them (their leases lapse, and they are
// tried again later, by this store's next Dispatcher), waits for the
// workers to return, and returns ctx.Err(). Emit and Start return
// ErrClosed once Shutdown has begun. Shutdown closes the HTTPTransport
// the Dispatcher made itself, not one given in Config.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	first := !d.closed.Load()
	if first {
		if d.pool != nil {
			d.pool.close() // no claim waiting starts from now on
		}
		d.closed.Store(true)
		close(d.stop)
		if d.stopListening != nil {
			d.stopListening()
		}
	}
	started := d.started
	d.mu.Unlock()
	var err error
	if started {
		select {
		case <-d.finished:
		case <-ctx.Done():
			err = ctx.Err()
			d.cancel()
			<-d.finished
		}
		d.cancel()
	}
	// Drain may have used the transport without Start.
	if first && d.ownsHTTP != nil {
		d.ownsHTTP.CloseIdleConnections()
	}
	return err
}

// run keeps the pool of Config.Workers worker goroutines stocked with
// claims until Shutdown. The workers live as long as run does (a goroutine
// per delivery would grow a fresh stack for every attempt).
func (d *Dispatcher) run(ctx context.Context, p *pool) {
	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Go(func() { d.work(ctx, p) })
	}
	defer func() {
		p.close()
		workers.Wait()
		left := p.leftovers()
		// Claims no worker took are due again at once, for this store's
		// next Dispatcher.
		if len(left) > 0 {
			now := d.clock.Now()
			rs := make([]Result, len(left))
			for i := range left {
				rs[i] = d.release(&left[i], now)
			}
			if err := d.store.Settle(context.WithoutCancel(ctx), rs); err != nil {
				d.log.Error("webhook: releasing claimed deliveries at shutdown", "err", err)
			}
		}
	}()
	for {
		if n := p.room(); n > 0 {
			claims, err := d.store.Claim(ctx, d.clock.Now(), n, d.cfg.Lease)
			if err != nil && ctx.Err() == nil {
				d.log.Error("webhook: claiming deliveries", "err", err)
			}
			p.put(claims)
			if len(claims) < n {
				// Nothing more is due now: wait for an Emit, a store
				// notification or the poll interval.
				if !d.idle(ctx) {
					return
				}
				continue
			}
		}
		// The pool is full: wait until the workers have taken some.
		select {
		case <-p.low:
		case <-d.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// work is one worker: it takes claims from p, applies the fairness gate
// and makes the attempts, until p closes.
func (d *Dispatcher) work(ctx context.Context, p *pool) {
	// A context per worker: the attempts' timeout contexts register with
	// it, not all with one contended parent.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newWorker(ctx)
	for {
		c, ok := p.take()
		if !ok {
			return
		}
		if ctx.Err() != nil { // Start's context ended: stopping
			p.giveBack(c)
			return
		}
		var now time.Time
		if d.gate.rated() {
			now = d.clock.Now()
		}
		host, admitted, retryAt := d.gate.admit(&c, now)
		if !admitted {
			p.done()
			if err := w.settle(d.store, d.release(&c, retryAt)); err != nil {
				d.log.Error("webhook: releasing a delivery over a fairness limit", "hook", c.Hook.ID, "err", err)
			}
			continue
		}
		d.attempt(w, c)
		d.gate.done(c.Hook.ID, host)
		p.done()
	}
}

// prune prunes p every PruneInterval until Shutdown.
func (d *Dispatcher) prune(ctx context.Context, p Pruner) {
	for {
		t := d.clock.NewTimer(d.cfg.PruneInterval)
		select {
		case <-t.C():
		case <-d.stop:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
		n, err := p.Prune(ctx, d.clock.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("webhook: pruning finished deliveries", "err", err, "deleted", n)
		case n > 0:
			d.log.Info("webhook: pruned finished deliveries", "deleted", n)
		}
	}
}

// release returns the Result that gives a claim back to the store, due
// at retryAt (or after the poll interval), with no attempt counted.
func (d *Dispatcher) release(c *Claim, retryAt time.Time) Result {
	if retryAt.IsZero() {
		retryAt = d.clock.Now().Add(d.cfg.PollInterval)
	}
	return Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: StatePending, NextAttemptAt: retryAt}
}

// idle waits for a wake-up or the poll interval; false means stop.
func (d *Dispatcher) idle(ctx context.Context) bool {
	t := d.clock.NewTimer(d.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-d.wake:
	case <-t.C():
	case <-d.stop:
		return false
	case <-ctx.Done():
		return false
	}
	return true
}

// Drain delivers, in the caller's goroutine, every delivery due now, and
// the retries that fall due meanwhile, until none is left; it returns
// how many attempts it made. With a fake Clock it makes tests
// deterministic: emit, Drain, check; advance the clock, Drain again for
// the retries. It may run beside Start's workers. After Shutdown it
// returns ErrClosed.
//
// Drain sends each webhook's deliveries one after another, in due order,
// and different webhooks' at once; it does not apply MaxInFlightPerHost
// or RatePerHook, which are the started Dispatcher's.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	n := 0
	for {
		if d.isClosed() {
			return n, fmt.Errorf("webhook: drain: %w", ErrClosed)
		}
		claims, err := d.store.Claim(ctx, d.clock.Now(), d.cfg.Workers, d.cfg.Lease)
		if err != nil {
			return n, err
		}
		if len(claims) == 0 {
			return n, nil
		}
		// One goroutine per webhook, its deliveries in due order: the
		// fairness limits hold, and nothing due now is put off.
		byHook := make(map[string][]Claim)
		var order []string
		for _, c := range claims {
			if _, ok := byHook[c.Hook.ID]; !ok {
				order = append(order, c.Hook.ID)
			}
			byHook[c.Hook.ID] = append(byHook[c.Hook.ID], c)
		}
		var wg sync.WaitGroup
		for _, id := range order {
			wg.Go(func() {
				w := newWorker(ctx)
				for _, c := range byHook[id] {
					d.attempt(w, c)
				}
			})
		}
		wg.Wait()
		n += len(claims)
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// An outgoing is the request of one attempt with the storage behind it:
// its header map, the header values and the payload buffer. With the
// Dispatcher's own kind of Transport, an [HTTPTransport], which keeps
// nothing of a Request once Send has returned, outgoings are reused from
// attempt to attempt; any other Transport gets a fresh one each attempt,
// so that it may keep what it was given (as a test's recording Transport
// does).
type outgoing struct {
	req    Request
	hdr    http.Header
	vals   [8]string
	buf    []byte
	pooled bool
}

var outgoingPool = sync.Pool{New: func() any {
	return &outgoing{hdr: make(http.Header, 8), buf: make([]byte, 0, 4096), pooled: true}
}}

// newOutgoing returns an outgoing for one attempt.
func (d *Dispatcher) newOutgoing() *outgoing {
	if d.reuseRequests {
		return outgoingPool.Get().(*outgoing)
	}
	return &outgoing{hdr: make(http.Header, 8)}
}

// set sets header k to the single value v, held in o.vals[i].
func (o *outgoing) set(i int, k, v string) {
	o.vals[i] = v
	o.hdr[k] = o.vals[i : i+1 : i+1]
}

// release returns a pooled o to the pool once the Transport has returned,
// unless its buffer grew too large to keep.
func (o *outgoing) release() {
	if !o.pooled || cap(o.buf) > 1<<16 {
		return
	}
	clear(o.hdr)
	o.vals = [8]string{}
	o.req = Request{}
	outgoingPool.Put(o)
}

// request builds the request of one attempt to w (whose URL and secrets
// are used, not its ID), signed when w or the Config has a signing
// secret. Call o.release once the Transport has returned.
func (d *Dispatcher) request(del *Delivery, w *Webhook, now time.Time) (*outgoing, error) {
	o := d.newOutgoing()
	o.set(0, "Content-Type", "application/json")
	o.set(1, "User-Agent", d.cfg.UserAgent)
	o.set(2, "X-Misskey-Host", d.cfg.Host)
	o.set(3, "X-Misskey-Hook-Id", del.HookID)
	o.set(4, "X-Misskey-Hook-Secret", w.Secret)
	o.buf = AppendPayload(o.buf[:0], del)
	o.req = Request{URL: w.URL, Header: o.hdr, Body: o.buf,
		HookID: del.HookID, Type: del.Type, EventID: del.ID, Attempt: del.Attempts + 1}
	signing, previous := w.SigningSecret, w.PreviousSigningSecrets
	if signing == "" {
		signing, previous = d.cfg.SigningSecret, nil
	}
	if signing != "" {
		id := del.ID.String()
		ts := now.Unix()
		sig, err := signatureHeader(signing, previous, now, id, ts, o.buf)
		if err != nil {
			o.release()
			return nil, Permanent(fmt.Errorf("webhook: signing for hook %s: %w", del.HookID, err))
		}
		o.set(5, HeaderWebhookID, id)
		o.set(6, HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
		o.set(7, HeaderWebhookSignature, sig)
	}
	return o, nil
}

// send makes one attempt, begun at start, and classifies it.
func (d *Dispatcher) send(ctx context.Context, del *Delivery, w *Webhook, start time.Time) (status int, retryAfter string, respBody []byte, dur time.Duration, verdict Verdict, err error) {
	o, err := d.request(del, w, start)
	if err != nil {
		return 0, "", nil, 0, GiveUp, err
	}
	resp, err := d.transport.Send(ctx, &o.req)
	o.release()
	dur = d.clock.Now().Sub(start)
	if err == nil && resp == nil {
		err = errors.New("webhook: Transport returned neither a response nor an error")
	}
	if err != nil {
		return 0, "", nil, dur, Classify(0, err), err
	}
	status = resp.StatusCode
	return status, resp.Header.Get("Retry-After"), resp.Body, dur, Classify(status, nil), nil
}

// A worker is what one goroutine making attempts reuses from one to the
// next.
type worker struct {
	ctx       context.Context // the attempts' contexts derive from it
	settleCtx context.Context // ctx without its end: results are settled
	results   []Result        // Settle's argument, of length 1
}

func newWorker(ctx context.Context) *worker {
	return &worker{ctx: ctx, settleCtx: context.WithoutCancel(ctx), results: make([]Result, 1)}
}

// settle settles r in s, whether or not the worker's context has ended.
func (w *worker) settle(s Store, r Result) error {
	w.results[0] = r
	err := s.Settle(w.settleCtx, w.results)
	w.results[0] = Result{}
	return err
}

// attempt makes one attempt of a claimed delivery and settles it.
func (d *Dispatcher) attempt(w *worker, c Claim) {
	ctx := w.ctx
	del := &c.Delivery
	n := del.Attempts + 1
	at := d.clock.Now()
	status, retryAfter, respBody, dur, verdict, err := d.send(ctx, del, c.Hook, at)
	if err != nil && ctx.Err() != nil {
		// Interrupted by Shutdown, not failed: the lease lapses and the
		// attempt is made again later.
		d.log.Debug("webhook: attempt interrupted", "hook", del.HookID, "event", del.ID)
		return
	}
	r := Result{
		ID: del.ID, HookID: del.HookID, Lease: c.Lease,
		Attempt: Attempt{At: at, Duration: dur, Status: status, Response: respBody[:min(len(respBody), MaxResponseRecord)]},
	}
	switch verdict {
	case Delivered:
		r.State = StateDelivered
	case GiveUp:
		r.State = StateFailed
	case Retry:
		wait, ok := d.policy.Backoff(n)
		if ok && retryAfter != "" {
			if ra, valid := ParseRetryAfter(retryAfter, at); valid {
				wait = min(ra, d.cfg.MaxRetryAfter)
			}
		}
		if ok {
			r.State, r.NextAttemptAt = StatePending, d.clock.Now().Add(wait)
		} else {
			r.State = StateFailed
		}
	}
	if err != nil {
		r.Attempt.Error = err.Error()
	} else if verdict != Delivered {
		r.Attempt.Error = fmt.Sprintf("status %d %s", status, http.StatusText(status))
	}
	r.Attempt.Retry = r.State == StatePending
	if serr := w.settle(d.store, r); serr != nil {
		d.log.Error("webhook: settling delivery", "hook", del.HookID, "event", del.ID, "err", serr)
	}
	d.maybeDisable(w.settleCtx, c.Hook, status, at, verdict)
	lvl := slog.LevelDebug
	if r.State == StateFailed {
		lvl = slog.LevelWarn
	}
	if d.log.Enabled(ctx, lvl) { // spare the arguments' allocations
		d.log.Log(ctx, lvl, "webhook: attempt", "hook", del.HookID, "event", del.ID, "type", del.Type,
			"attempt", n, "status", status, "duration", dur, "state", r.State, "err", err)
	}
	var derr error
	if verdict != Delivered {
		derr = &DeliveryError{HookID: del.HookID, Attempt: n, Status: status, Err: err}
	}
	rep := AttemptReport{Delivery: del, Attempt: n, Status: status, Duration: dur,
		Err: derr, State: r.State, NextAttemptAt: r.NextAttemptAt}
	if d.cfg.OnAttempt != nil {
		d.cfg.OnAttempt(rep)
	}
	if r.State == StateFailed && d.cfg.OnGiveUp != nil {
		d.cfg.OnGiveUp(rep)
	}
	if verdict == Delivered && c.Hook.FailingSince != nil && d.cfg.OnRecover != nil && d.firstRecovery(c.Hook) {
		d.cfg.OnRecover(rep)
	}
}

// firstRecovery reports whether this is the first success, in this
// Dispatcher, ending the failing spell that began at w.FailingSince:
// deliveries claimed together all saw it.
func (d *Dispatcher) firstRecovery(w *Webhook) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recovered == nil {
		d.recovered = make(map[string]time.Time)
	}
	if t, ok := d.recovered[w.ID]; ok && t.Equal(*w.FailingSince) {
		return false
	}
	d.recovered[w.ID] = *w.FailingSince
	return true
}

// maybeDisable sets a webhook inactive when it answered 410 Gone, or has
// failed without a success for Config.DisableAfter. w is the webhook as
// claimed, before this attempt.
func (d *Dispatcher) maybeDisable(ctx context.Context, w *Webhook, status int, at time.Time, verdict Verdict) {
	if d.cfg.NoAutoDisable || verdict == Delivered || !w.Active {
		return
	}
	var reason error
	switch {
	case status == http.StatusGone:
		reason = fmt.Errorf("webhook: hook %s: %w: %w", w.ID, ErrGone, ErrDisabled)
	case w.FailingSince != nil && at.Sub(*w.FailingSince) >= d.cfg.DisableAfter:
		reason = fmt.Errorf("webhook: hook %s has failed since %s without a success: %w: %w",
			w.ID, w.FailingSince.UTC().Format(time.RFC3339), ErrFailingTooLong, ErrDisabled)
	default:
		return
	}
	cur, err := d.store.GetHook(ctx, w.ID)
	if err != nil || !cur.Active {
		return // deleted, or already disabled
	}
	off := cur.Clone()
	off.Active = false
	if err := d.store.UpdateHook(ctx, off); err != nil {
		d.log.Error("webhook: disabling webhook", "hook", w.ID, "err", err)
		return
	}
	d.log.Warn("webhook: disabled webhook", "hook", cur, "reason", reason)
	if d.cfg.OnDisable != nil {
		d.cfg.OnDisable(cur, reason)
	}
}
