package webhook

import (
	"sync"
	"sync/atomic"
	"time"
)

// A pool holds the claims waiting for a worker, and counts the workers
// busy with one. The claiming goroutine keeps it stocked a little beyond
// the workers, so that a worker that finishes an attempt takes its next
// delivery at once, without waking anyone, and the store is asked for
// claims in batches rather than one per attempt.
//
// A claim waits here at most as long as the attempts ahead of it, well
// within its lease, except while draining, when the workers ahead of it
// may be waiting for a place of a fairness limit: the pool remembers when
// each claim was taken, so that a worker can release one that waited so
// long its lease could lapse before its attempt ends (see
// Dispatcher.admit). The fairness gate is applied as a worker takes a
// claim, not as it is claimed: claims waiting here hold no place of their
// webhook.
type pool struct {
	capacity int // workers plus the claims kept waiting
	lowWater int // at or below this many waiting, ask for more
	minClaim int // while claims wait, claim no fewer than this many

	mu    sync.Mutex
	more  sync.Cond // a claim was put, or the pool closed
	ready []pooled  // waiting claims, ready[head:] in claim order
	head  int
	busy  int // claims taken and not yet done
	// reserved is the room promised to claims under way (reserve);
	// wanted records that a reserve found room only held by another, so
	// that freeing it asks for more.
	reserved int
	wanted   bool
	// caughtUp records that the latest claim found fewer deliveries
	// due than it had room for: nothing older is waiting in the store,
	// so an Emit's deliveries may be claimed as they are enqueued
	// (reserveEmitted) without passing over one.
	caughtUp bool
	// emitting is the room held by Emits claiming as they enqueue
	// (reserveEmitted). They do not count the room held by the claims
	// under way: those find little while caught up, and the pool may
	// hold more than its capacity for a moment if they do not.
	emitting int
	// leftTaken is set once leftovers has been called: claims put
	// after it are handed back to their caller instead.
	leftTaken bool
	// unsettled counts the results handed to a settler and not yet
	// settled: a drain is not over while one may still make another
	// delivery due.
	unsettled int
	closed    bool
	left      []Claim // claims no worker will take, to be released

	// low asks the claiming goroutine to claim again: the waiting claims
	// ran low, or a worker found none.
	low chan struct{}

	// started is set for a started Dispatcher's pool (not Drain's):
	// its workers stop at Shutdown, after draining.
	started bool
	// draining is set when the pool's workers deliver everything due
	// before stopping (Drain, and Shutdown): a claim over a fairness
	// limit waits for a place rather than being put off.
	draining atomic.Bool
	// ended counts the claims done: an attempt settled (or a claim
	// released) may have made another delivery claimable, such as an
	// Ordered webhook's next one.
	ended atomic.Uint64
	// attempts counts the attempts the workers made.
	attempts atomic.Int64
}

// A pooled claim is a claim waiting in the pool, and when it was claimed.
type pooled struct {
	c  Claim
	at time.Time
}

// prefetchPerWorker is how many claims the pool keeps waiting per worker
// when no fairness limit can put a claim off (see Dispatcher.prefetch).
// With a durable store a claim reaches the pool a commit or two after it
// is asked for, and a settled attempt frees its room only then: a stock
// of one claim per worker left the workers idle while the next batch was
// on its way. In `fedihook bench --contenders sqlite`, one per worker gave
// about 8,400 deliveries/s, four about 9,300 and six about 10,400 (eight
// no better than four). A claim waits here at most as long as the
// attempts ahead of it: with the default 5 s timeout, 30 s at worst,
// within the default 1-minute lease; one that waited too long is handed
// back rather than attempted late (see Dispatcher.admit).
const prefetchPerWorker = 6

// prefetch returns how many claims the Dispatcher's pool keeps waiting:
// prefetchPerWorker per worker when its fairness limits cannot refuse an
// attempt (each in-flight limit at least Workers, no rate limit), one per
// worker otherwise. A claim the gate refuses is handed back, put off, and
// a deep stock of them only multiplies that: in TestMultiInstance (pgstore,
// 10,000 deliveries to one host, three Dispatchers at the default limit
// of 16 a host), one claim per worker took 8.5-12 s, four 20-38 s, six
// more than 45 s.
func (d *Dispatcher) prefetch() int {
	c := &d.cfg
	if c.MaxInFlightPerHook >= c.Workers && c.MaxInFlightPerHost >= c.Workers && c.RatePerHook <= 0 {
		return prefetchPerWorker * c.Workers
	}
	return c.Workers
}

// newPool returns a pool for workers that keeps up to prefetch claims
// waiting.
func newPool(workers, prefetch int) *pool {
	p := &pool{capacity: workers + prefetch, lowWater: prefetch / 4, minClaim: prefetch / 2, low: make(chan struct{}, 1)}
	p.more.L = &p.mu
	return p
}

// room is how many claims the pool can take now.
func (p *pool) room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.roomLocked()
}

func (p *pool) roomLocked() int {
	return max(p.unheldLocked()-p.reserved, 0)
}

// unheldLocked is the capacity not held by workers, waiting claims or
// Emits claiming (it may be negative). p.mu is held.
func (p *pool) unheldLocked() int {
	return p.capacity - p.busy - (len(p.ready) - p.head) - p.emitting
}

// reserve returns the room there is now, none once closed, and holds it
// for claims under way, until putReserved.
func (p *pool) reserve() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0
	}
	n := p.roomLocked()
	if n < p.minClaim && p.head < len(p.ready) {
		// The workers have claims waiting: let the room grow into a
		// batch worth a call (take asks again at the low water mark).
		return 0
	}
	if n == 0 && p.reserved > 0 {
		p.wanted = true
	}
	p.reserved += n
	return n
}

// putReserved puts the claims of a reservation of n, claimed at at, and
// frees it.
func (p *pool) putReserved(cs []Claim, n int, at time.Time) {
	p.mu.Lock()
	p.reserved -= n
	if n > 0 {
		p.caughtUp = len(cs) < n
	}
	p.freedLocked(len(cs), n)
	p.putLocked(cs, at)
	p.mu.Unlock()
	p.wake(len(cs))
}

// freedLocked offers again the room of a reservation of n that brought
// got claims, when a reserve found it held. p.mu is held.
func (p *pool) freedLocked(got, n int) {
	if p.wanted && got < n {
		p.wanted = false
		p.askMore()
	}
}

// reserveEmitted holds up to k of the room there is now for the
// deliveries of an Emit, claimed as they are enqueued: none once closed,
// or unless the latest claim caught up with what is due.
func (p *pool) reserveEmitted(k int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.caughtUp {
		return 0
	}
	n := min(max(p.unheldLocked(), 0), k)
	p.emitting += n
	return n
}

// putEmitted puts the claims of a reservation of reserveEmitted's, and
// frees it. It returns the claims it could not keep, for the caller to
// release: the pool closed and its leftovers were already taken.
func (p *pool) putEmitted(cs []Claim, n int, at time.Time) []Claim {
	p.mu.Lock()
	p.emitting -= n
	p.freedLocked(len(cs), n)
	if p.leftTaken {
		p.mu.Unlock()
		return cs
	}
	p.putLocked(cs, at)
	p.mu.Unlock()
	p.wake(len(cs))
	return nil
}

// put adds claims, claimed at at, and wakes as many idle workers; once
// the pool is closed, it keeps them for leftovers.
func (p *pool) put(cs []Claim, at time.Time) {
	if len(cs) == 0 {
		return
	}
	p.mu.Lock()
	p.putLocked(cs, at)
	p.mu.Unlock()
	p.wake(len(cs))
}

func (p *pool) putLocked(cs []Claim, at time.Time) {
	if p.closed { // claimed while Shutdown began: to be released
		p.left = append(p.left, cs...)
		return
	}
	for _, c := range cs {
		p.ready = append(p.ready, pooled{c: c, at: at})
	}
}

// wake wakes idle workers for n claims put.
func (p *pool) wake(n int) {
	switch {
	case n == 1:
		p.more.Signal()
	case n > 1:
		p.more.Broadcast()
	}
}

// take returns the next waiting claim and when it was claimed, counted
// busy until done is called, waiting for one if need be; false means the
// pool closed.
func (p *pool) take() (Claim, time.Time, bool) {
	p.mu.Lock()
	for p.head == len(p.ready) && !p.closed {
		p.askMore()
		p.more.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return Claim{}, time.Time{}, false
	}
	c := p.ready[p.head]
	p.ready[p.head] = pooled{}
	p.head++
	if p.head == len(p.ready) {
		p.ready, p.head = p.ready[:0], 0
	}
	p.busy++
	if len(p.ready)-p.head <= p.lowWater {
		p.askMore()
	}
	p.mu.Unlock()
	return c.c, c.at, true
}

// askMore wakes the claiming goroutine if it is not already woken.
func (p *pool) askMore() {
	select {
	case p.low <- struct{}{}:
	default:
	}
}

// done ends a claim taken with take.
func (p *pool) done() {
	p.mu.Lock()
	p.ended.Add(1) // before busy drops: see Dispatcher.drained
	p.busy--
	p.mu.Unlock()
}

// idle reports whether no claim is waiting or taken, and no result is
// waiting to be settled.
func (p *pool) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy == 0 && p.head == len(p.ready) && p.unsettled == 0
}

// handedOver counts a result handed to the settler.
func (p *pool) handedOver() {
	p.mu.Lock()
	p.unsettled++
	p.mu.Unlock()
}

// settled counts n results the settler has settled, and asks the
// claiming goroutine to look again: they may have made deliveries due.
func (p *pool) settled(n int) {
	p.mu.Lock()
	p.ended.Add(uint64(n)) // before unsettled drops: see Dispatcher.drained
	p.unsettled -= n
	p.askMore()
	p.mu.Unlock()
}

// close stops the workers from taking more claims and wakes the idle ones
// to return; the claims still waiting are kept for leftovers. Calling it
// again does nothing.
func (p *pool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		for _, w := range p.ready[p.head:] {
			p.left = append(p.left, w.c)
		}
		p.ready, p.head = nil, 0
	}
	p.mu.Unlock()
	p.more.Broadcast()
}

// giveBack ends a claim taken with take that will not be attempted after
// all, keeping it for leftovers.
func (p *pool) giveBack(c Claim) {
	p.mu.Lock()
	p.busy--
	p.left = append(p.left, c)
	p.mu.Unlock()
}

// leftovers returns the claims no worker took, once the pool is closed and
// the workers have returned.
func (p *pool) leftovers() []Claim {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leftTaken = true
	return p.left
}
