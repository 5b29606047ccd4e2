package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

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
	// reuseRequests is set when the Transport is a RequestForgetter that
	// forgets: see outgoing.
	reuseRequests bool
	// shareRequests is set when the Transport is a RequestSharer that
	// shares: see sharedRequest. headers holds the webhooks' header maps.
	shareRequests bool
	headers       hookHeaders

	wake chan struct{}
	gate *gate

	mu        sync.Mutex
	recovered map[string]recovery // hook ID → the failing spell reported over
	started   bool
	pool      atomic.Pointer[pool] // the started Dispatcher's workers' claims; read by Emit
	closed    atomic.Bool          // set under mu; read without it by Emit
	// startCtx is the context given to Start: once it has ended, the
	// Dispatcher is stopped as by Shutdown.
	startCtx atomic.Pointer[context.Context]
	stop     chan struct{} // closed when Shutdown begins
	cancel   context.CancelFunc
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
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
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
	if f, ok := d.transport.(RequestForgetter); ok {
		d.reuseRequests = f.ForgetsRequests()
	}
	if s, ok := d.transport.(RequestSharer); ok {
		d.shareRequests = s.SharesRequests()
	}
	if d.policy == nil {
		d.policy = DefaultRetryPolicy()
	}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.cfg = c
	d.gate = newGate(&c)
	return d, nil
}

// Store returns the Dispatcher's store.
func (d *Dispatcher) Store() Store {
	if d == nil {
		return nil
	}
	return d.store
}

// Host returns the configured Host.
func (d *Dispatcher) Host() string {
	if d == nil {
		return ""
	}
	return d.cfg.Host
}

// Notify wakes the Dispatcher's workers to look for due deliveries now.
// Emit calls it; call it after committing a transaction in which EmitVia
// enqueued, when the store has no push of its own.
func (d *Dispatcher) Notify() {
	if d == nil {
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// ready returns an error for a nil Dispatcher or one not made by New, so
// that misuse is an error rather than a nil dereference.
func (d *Dispatcher) ready() error {
	if d == nil || d.wake == nil {
		return errNotNew
	}
	return nil
}

// open returns an error matching ErrClosed once Shutdown has begun or the
// context given to Start has ended.
func (d *Dispatcher) open() error {
	if d.closed.Load() {
		return ErrClosed
	}
	if c := d.startCtx.Load(); c != nil && (*c).Err() != nil {
		return errStartCtxEnded
	}
	return nil
}

// errStartCtxEnded is open's error once the context given to Start ended.
var errStartCtxEnded = fmt.Errorf("%w: the context given to Start ended", ErrClosed)

// Start starts delivering in the background and returns at once. Calling
// it again does nothing. Ending ctx stops the Dispatcher for good: the
// workers stop and deliveries in flight are interrupted, as when
// Shutdown's context ends; from then on Emit, Drain and Start return an
// error matching ErrClosed, and the Dispatcher logs a warning. Call
// Shutdown in any case to wait for the workers. After Shutdown, Start
// returns ErrClosed.
func (d *Dispatcher) Start(ctx context.Context) error {
	if err := d.ready(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.open(); err != nil {
		return fmt.Errorf("webhook: start: %w", err)
	}
	if d.started {
		return nil
	}
	d.started = true
	workCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	d.startCtx.Store(&ctx)
	p := newPool(d.cfg.Workers, d.prefetch())
	p.started = true
	d.pool.Store(p)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		_ = d.run(workCtx, p) // it logs what went wrong
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

// Shutdown stops the Dispatcher as http.Server.Shutdown stops a server:
// Emit, Drain and Start return ErrClosed from the moment it begins; a
// started Dispatcher goes on delivering what is due (the deliveries it put
// off over a fairness limit included, and an Ordered webhook's next ones)
// until nothing due is left and nothing is in flight, then its workers
// stop and Shutdown returns. If ctx ends first, Shutdown interrupts the
// attempts in flight (they are tried again by this store's next
// Dispatcher), gives the claimed deliveries back to the store, waits for
// the workers to return, and returns ctx.Err().
//
// A store whose deliveries do not outlive the process (a [VolatileStore],
// such as the MemoryStore) loses what it still holds pending: retries not
// yet due, or what ctx did not leave time for. Shutdown then returns an
// *[UndeliveredError] matching ErrUndelivered, counting them, and
// wrapping ctx.Err() when ctx ended. Shutdown closes the HTTPTransport the
// Dispatcher made itself, not one given in Config. Calling it again waits
// as the first call does.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	if err := d.ready(); err != nil {
		return err
	}
	d.mu.Lock()
	first := !d.closed.Load()
	if first {
		d.closed.Store(true)
		close(d.stop) // the workers drain, then stop
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
	return d.undelivered(context.WithoutCancel(ctx), err)
}

// undelivered returns err, or an *UndeliveredError wrapping it when the
// store does not outlive the process and still holds pending deliveries.
func (d *Dispatcher) undelivered(ctx context.Context, err error) error {
	v, ok := d.store.(VolatileStore)
	if !ok || !v.Volatile() {
		return err
	}
	st, serr := v.QueueStats(ctx)
	if serr != nil {
		d.log.Error("webhook: counting the deliveries left at shutdown", "err", serr)
		return err
	}
	if st.Pending == 0 {
		return err
	}
	return &UndeliveredError{Pending: st.Pending, Err: err}
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
