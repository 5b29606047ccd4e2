package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// run keeps the pool of Config.Workers worker goroutines stocked with
// claims until it stops, and returns the error that stopped it, if any.
// The workers live as long as run does (a goroutine per delivery would
// grow a fresh stack for every attempt). Start's run stops when ctx ends,
// or at Shutdown once it has delivered what is due (its pool draining from
// then on); Drain's pool drains from the start, and its run stops once
// nothing is due and nothing is in flight. Claims no worker took are
// released, due again at once.
func (d *Dispatcher) run(ctx context.Context, p *pool) error {
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
		if p.started && ctx.Err() != nil && !d.closed.Load() {
			d.log.Warn("webhook: the context given to Start ended: delivery stopped, and Emit refuses events (call Shutdown)",
				"cause", context.Cause(ctx))
		}
		p.close()
		workers.Wait()
		if st != nil {
			st.close() // settles the workers' last results
		}
		d.releaseAll(ctx, p.leftovers())
	}()
	var stop <-chan struct{}
	if p.started {
		stop = d.stop // Shutdown: drain, then stop
	}
	lastSweep := d.clock.Now()
	for {
		ended := p.ended.Load()
		if n := p.reserve(); n > 0 {
			now := d.clock.Now()
			claims, err := d.store.Claim(ctx, now, n, d.cfg.Lease)
			p.putReserved(claims, n, now)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !p.started {
					return err // Drain reports it
				}
				d.log.Error("webhook: claiming deliveries", "err", err)
			}
			if len(claims) < n {
				if now.Sub(lastSweep) >= d.cfg.PollInterval {
					d.sweep(now)
					lastSweep = now
				}
				if p.draining.Load() {
					// Nothing more is due now: done once nothing is in
					// flight either.
					if !d.drained(ctx, p, ended) {
						return ctx.Err()
					}
					continue
				}
				// Wait for an Emit, a store notification, the poll
				// interval, or Shutdown.
				switch d.idle(ctx, stop) {
				case stopped:
					return ctx.Err()
				case shuttingDown:
					p.draining.Store(true)
					stop = nil
				}
				continue
			}
		}
		// The pool is full, or its room is held by the settler's claim:
		// wait until the workers have taken some, or the room is freed.
		select {
		case <-p.low:
		case <-stop:
			p.draining.Store(true)
			stop = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// drained waits, once a claim found nothing more due while p drains, for
// the attempts in flight; it reports whether to claim again (false: the
// drain is over, or ctx ended). ended is p.ended as of before that claim:
// an attempt settled since may have made another delivery due, such as
// an Ordered webhook's next one. Shutdown's drain also waits for the
// deliveries the Dispatcher had put off over a fairness limit: they were
// due.
func (d *Dispatcher) drained(ctx context.Context, p *pool, ended uint64) bool {
	if p.ended.Load() != ended {
		return true
	}
	if !p.idle() {
		select {
		case <-p.low:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// p.ended rises before p.busy drops: nothing settled since the claim.
	if p.ended.Load() != ended {
		return true
	}
	if !p.started {
		return false // Drain's pool puts nothing off
	}
	now := d.clock.Now()
	latest := d.gate.latestDeferral()
	if !latest.After(now) {
		return false
	}
	t := d.clock.NewTimer(latest.Sub(now))
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// releaseAll gives claims back to the store, due at once, whether or not
// ctx has ended.
func (d *Dispatcher) releaseAll(ctx context.Context, cs []Claim) {
	if len(cs) == 0 {
		return
	}
	now := d.clock.Now()
	rs := make([]Result, len(cs))
	for i := range cs {
		rs[i] = d.release(&cs[i], now)
	}
	if err := d.store.Settle(context.WithoutCancel(ctx), rs); err != nil {
		d.log.Error("webhook: releasing claimed deliveries", "err", err)
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
		c, at, ok := p.take()
		if !ok {
			return
		}
		if ctx.Err() != nil { // stopping
			p.giveBack(c)
			return
		}
		host, start, ok := d.admit(w, p, &c, at)
		if !ok {
			continue
		}
		made := d.attempt(w, c, start)
		d.gate.done(c.Hook.ID, host)
		if !made {
			p.giveBack(c) // released with the leftovers
			continue
		}
		p.attempts.Add(1)
		p.done()
	}
}

// admit passes c, claimed at at, through the fairness gate, and returns
// the time its attempt begins: false means the claim was released, put
// off, or (ctx ended while it waited) given back to p, and is done with.
//
// A draining Dispatcher waits for a place rather than putting a delivery
// off, but it keeps the lease's promise: a claim attempted within half
// its Lease of being claimed ends before the lease lapses (the Lease
// exceeds twice the Timeout), so it is never claimed and sent again while
// in flight. A claim that waited longer, in the pool behind workers
// waiting for a place or for a place itself, is released, due at once,
// and claimed again with a fresh lease.
func (d *Dispatcher) admit(w *worker, p *pool, c *Claim, at time.Time) (host string, start time.Time, ok bool) {
	draining := p.draining.Load()
	deadline := at.Add(d.cfg.Lease / 2)
	now := d.clock.Now()
	var retryAt time.Time
	a := overLimit // waited too long: release it, due at once
	switch {
	case !now.Before(deadline):
		retryAt = now
	case draining:
		if host, a, _ = d.gate.admit(c, now, true); a == overLimit {
			// Deliver it once a place frees (a drain leaves nothing due),
			// or release it, due at once, once the lease could lapse.
			t := d.clock.NewTimer(deadline.Sub(now))
			host, ok = d.gate.await(w.ctx, c, t.C())
			t.Stop()
			switch {
			case ok:
				a = admitted
			case w.ctx.Err() != nil:
				p.giveBack(*c)
				return "", time.Time{}, false
			default:
				retryAt = d.clock.Now()
			}
		}
	default:
		host, a, retryAt = d.gate.admit(c, now, false)
		if a == overLimit {
			retryAt = d.gate.deferral(c, host, now)
		}
	}
	if a == admitted {
		// The place may have come as the time ran out, or the clock
		// moved on while the gate was asked (another attempt's).
		if now = d.clock.Now(); now.Before(deadline) {
			return host, now, true
		}
		d.gate.done(c.Hook.ID, host)
		retryAt = now
	}
	if w.settler != nil {
		w.settler.add(d.release(c, retryAt), c.Hook.Ordered, nil)
	} else if err := w.settle(d.store, d.release(c, retryAt)); err != nil {
		d.log.Error("webhook: releasing a delivery over a fairness limit", "hook", c.Hook.ID, "err", err)
	}
	p.done()
	return "", time.Time{}, false
}

// release returns the Result that gives a claim back to the store, due
// at retryAt, with no attempt counted.
func (d *Dispatcher) release(c *Claim, retryAt time.Time) Result {
	return Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: StatePending, NextAttemptAt: retryAt, Release: true}
}

// An idling is how idle ended.
type idling uint8

const (
	woken idling = iota
	shuttingDown
	stopped
)

// idle waits for a wake-up, the poll interval, stop closing or ctx
// ending.
func (d *Dispatcher) idle(ctx context.Context, stop <-chan struct{}) idling {
	t := d.clock.NewTimer(d.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-d.wake:
	case <-t.C():
	case <-stop:
		return shuttingDown
	case <-ctx.Done():
		return stopped
	}
	return woken
}

// Drain delivers every delivery due now, and those that fall due
// meanwhile (an Ordered webhook's next, a retry due at once), with
// Config.Workers workers, until none is left and none is in flight; it
// returns how many attempts it made. With a fake Clock it makes tests
// deterministic: emit, Drain, check; advance the clock, Drain again for
// the retries. It may run beside Start's workers. After Shutdown has
// begun, or once the context given to Start has ended, it returns an
// error matching ErrClosed. If ctx ends, the attempts in flight are
// interrupted and the deliveries claimed are released, due at once.
//
// Drain applies MaxInFlightPerHook and MaxInFlightPerHost by waiting for
// a place, not by putting deliveries off, and does not apply
// RatePerHook. A delivery that waited half its Lease is released, due at
// once, and claimed again with a fresh lease, so that its lease cannot
// lapse while it is in flight.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	if err := d.ready(); err != nil {
		return 0, err
	}
	if err := d.open(); err != nil {
		return 0, fmt.Errorf("webhook: drain: %w", err)
	}
	p := newPool(d.cfg.Workers, d.prefetch())
	p.draining.Store(true)
	err := d.run(ctx, p)
	return int(p.attempts.Load()), err
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

// attempt makes one attempt, begun at at, of a claimed delivery and
// settles it, or hands its result to the worker's settler; false means the
// attempt was interrupted (w.ctx ended) and not settled.
func (d *Dispatcher) attempt(w *worker, c Claim, at time.Time) (made bool) {
	ctx := w.ctx
	del := &c.Delivery
	n := del.Attempts + 1
	o := d.send(ctx, del, c.Hook, c.payload, n, at)
	if o.err != nil && ctx.Err() != nil {
		// Interrupted by Shutdown, not failed: the claim is released and
		// the attempt made again later.
		d.log.Debug("webhook: attempt interrupted", "hook", del.HookID, "event", del.ID)
		return false
	}
	r, verdict := decide(&c, o, d.policy, d.cfg.MaxRetryAfter)
	if w.settler != nil {
		d.handOver(w, &c, r, verdict, o, at)
		return true
	}
	if serr := w.settle(d.store, r); serr != nil {
		d.log.Error("webhook: settling delivery", "hook", del.HookID, "event", del.ID, "err", serr)
	} else if c.Hook.Ordered && r.State != StatePending {
		// The webhook's next delivery is claimable now, not at the next
		// poll.
		d.Notify()
	}
	d.settled(w.settleCtx, &c, r, verdict, o, at)
	return true
}

// handOver hands the result r of an attempt of c over to w's settler,
// which calls settled once it is settled. (A function of its own: the
// closure's copies of r and o are then made only on this path.)
func (d *Dispatcher) handOver(w *worker, c *Claim, r Result, verdict Verdict, o outcome, at time.Time) {
	w.settler.add(r, c.Hook.Ordered, func() { d.settled(w.settleCtx, c, r, verdict, o, at) })
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
	if verdict == Delivered && c.Hook.FailingSince != nil && d.cfg.OnRecover != nil && d.firstRecovery(c.Hook, at) {
		d.cfg.OnRecover(rep)
	}
}
