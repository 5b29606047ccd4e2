package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// run keeps the pool of Config.Workers worker goroutines stocked with
// claims until Shutdown. The workers live as long as run does (a goroutine
// per delivery would grow a fresh stack for every attempt).
func (d *Dispatcher) run(ctx context.Context, p *pool) {
	var st *settler
	if sc, ok := d.store.(SettleClaimer); ok {
		st = newSettler(d, sc, p, ctx)
		go st.run()
	}
	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Go(func() { d.work(ctx, p, st) })
	}
	defer func() {
		if ctx.Err() != nil && !d.closed.Load() {
			d.log.Warn("webhook: the context given to Start ended: delivery stopped, and Emit refuses events (call Shutdown)",
				"cause", context.Cause(ctx))
		}
		p.close()
		workers.Wait()
		if st != nil {
			st.close() // settles the workers' last results
		}
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
		if n := p.reserve(); n > 0 {
			claims, err := d.store.Claim(ctx, d.clock.Now(), n, d.cfg.Lease)
			if err != nil && ctx.Err() == nil {
				d.log.Error("webhook: claiming deliveries", "err", err)
			}
			p.putReserved(claims, n)
			if len(claims) < n {
				// Nothing more is due now: wait for an Emit, a store
				// notification or the poll interval.
				if !d.idle(ctx) {
					return
				}
				continue
			}
		}
		// The pool is full, or its room is held by the settler's claim:
		// wait until the workers have taken some, or the room is freed.
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
// and makes the attempts, until p closes. With a settler, it hands its
// results over to it instead of settling them itself.
func (d *Dispatcher) work(ctx context.Context, p *pool, st *settler) {
	// A context per worker: the attempts' timeout contexts register with
	// it, not all with one contended parent.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newWorker(ctx)
	w.settler = st
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
			if st != nil {
				st.add(d.release(&c, retryAt), c.Hook.Ordered, nil)
				continue
			}
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

// release returns the Result that gives a claim back to the store, due
// at retryAt (or after the poll interval), with no attempt counted.
func (d *Dispatcher) release(c *Claim, retryAt time.Time) Result {
	if retryAt.IsZero() {
		retryAt = d.clock.Now().Add(d.cfg.PollInterval)
	}
	return Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: StatePending, NextAttemptAt: retryAt, Release: true}
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
	if err := d.ready(); err != nil {
		return 0, err
	}
	n := 0
	for {
		if err := d.open(); err != nil {
			return n, fmt.Errorf("webhook: drain: %w", err)
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

// A worker is what one goroutine making attempts reuses from one to the
// next.
type worker struct {
	ctx       context.Context // the attempts' contexts derive from it
	settleCtx context.Context // ctx without its end: results are settled
	results   []Result        // Settle's argument, of length 1
	settler   *settler        // settles the results, when not nil
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

// attempt makes one attempt of a claimed delivery and settles it, or
// hands its result to the worker's settler.
func (d *Dispatcher) attempt(w *worker, c Claim) {
	ctx := w.ctx
	del := &c.Delivery
	n := del.Attempts + 1
	at := d.clock.Now()
	o := d.send(ctx, del, c.Hook, n, at)
	if o.err != nil && ctx.Err() != nil {
		// Interrupted by Shutdown, not failed: the lease lapses and the
		// attempt is made again later.
		d.log.Debug("webhook: attempt interrupted", "hook", del.HookID, "event", del.ID)
		return
	}
	r, verdict := decide(&c, o, d.policy, d.cfg.MaxRetryAfter)
	if w.settler != nil {
		w.settler.add(r, c.Hook.Ordered, func() { d.settled(w.settleCtx, &c, r, verdict, o, at) })
		return
	}
	if serr := w.settle(d.store, r); serr != nil {
		d.log.Error("webhook: settling delivery", "hook", del.HookID, "event", del.ID, "err", serr)
	}
	d.settled(w.settleCtx, &c, r, verdict, o, at)
}

// settled does what follows the settling of an attempt's result r:
// auto-disable, the log, the callbacks.
func (d *Dispatcher) settled(ctx context.Context, c *Claim, r Result, verdict Verdict, o outcome, at time.Time) {
	del := &c.Delivery
	n := del.Attempts + 1
	status, dur, err := o.status, o.dur, o.err
	d.maybeDisable(ctx, c.Hook, status, at, verdict)
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
