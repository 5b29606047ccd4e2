package webhook

import (
	"context"
	"sync"
	"time"
)

// A settler settles the results of a started Dispatcher's workers in
// batches, for a store that is a [SettleClaimer], as River's completer
// does for its jobs: a worker hands its result over and goes on to its
// next delivery; one goroutine settles every result handed over since
// its previous call in one store call, and then runs what follows each
// (auto-disable, logs, the On* callbacks). While a call is under way the
// next batch gathers, so a result waits at most for one call before its
// own begins: the batches grow with the load and the store's latency.
// Before a call, the settler also waits a moment (settleGather) for a
// batch worth it, since a store's cost is mostly per call.
//
// When the pool has room, the call claims too (the claim rides along):
// the store settles and claims in one round trip and one commit, and the
// claim sees the results, so an ordered webhook's next delivery is
// claimed as soon as the previous one settles.
type settler struct {
	d     *Dispatcher
	store SettleClaimer
	pool  *pool
	ctx   context.Context // without its end: results are settled

	batch int           // results worth a call: gather waits for them
	wait  time.Duration // how long gather waits at most
	// gathering, in tests, receives how many results gather waits with.
	gathering chan int

	mu    sync.Mutex
	items []settling // handed over since the last call
	kick  chan struct{}
	stop  chan struct{} // closed to flush what is left and return
	done  chan struct{} // closed when the goroutine returned
}

// settling is a result handed over, with what follows its settling.
type settling struct {
	r       Result
	ordered bool   // of an ordered webhook
	after   func() // nil for a release
}

func newSettler(d *Dispatcher, sc SettleClaimer, p *pool, ctx context.Context) *settler {
	return &settler{d: d, store: sc, pool: p, ctx: context.WithoutCancel(ctx), batch: 2 * d.cfg.Workers, wait: settleGather,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// add hands r over; after, if not nil, is called once it is settled (or
// its batch failed, which the settler logs).
func (s *settler) add(r Result, ordered bool, after func()) {
	s.pool.handedOver()
	s.mu.Lock()
	s.items = append(s.items, settling{r: r, ordered: ordered, after: after})
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run settles batches until close, then what is left.
func (s *settler) run() {
	defer close(s.done)
	var batch []settling
	var rs []Result
	for {
		stopping := false
		select {
		case <-s.kick:
			stopping = s.gather()
		case <-s.stop:
			stopping = true
		}
		for {
			s.mu.Lock()
			batch, s.items = s.items, batch[:0]
			s.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			rs = s.flush(batch, rs[:0])
			clear(batch)
			if !stopping {
				break
			}
		}
		if stopping {
			return
		}
	}
}

// gather waits, once a result is handed over, up to s.wait for s.batch
// of them; it reports whether close was called meanwhile.
func (s *settler) gather() bool {
	n := s.pending()
	if n >= s.batch {
		return false
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	if s.gathering != nil {
		s.gathering <- n
	}
	for {
		select {
		case <-s.kick:
			if s.pending() >= s.batch {
				return false
			}
		case <-t.C:
			return false
		case <-s.stop:
			return true
		}
	}
}

// pending is how many results were handed over since the last call.
func (s *settler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// settleGather is how long a settler waits, once a result is handed over,
// for a batch of twice Config.Workers results to gather. The results wait
// after their attempts, so their receivers and the Emit-to-receipt
// latency never see it; a batch of a few dozen results costs the store
// about what a batch of a few costs (in PostgreSQL, 186 against 137 µs of
// the server's CPU per delivery in fedihook bench). It is real time,
// whatever the Dispatcher's Clock: a fake clock must not hold results.
const settleGather = 2 * time.Millisecond

// flush settles batch, claiming along when the pool has room, and runs
// what follows each result. rs is storage for the results; it is
// returned for reuse.
func (s *settler) flush(batch []settling, rs []Result) []Result {
	ordered := false
	for i := range batch {
		rs = append(rs, batch[i].r)
		ordered = ordered || batch[i].ordered
	}
	n := s.pool.reserve()
	now := s.d.clock.Now()
	claims, err := s.store.SettleAndClaim(s.ctx, rs, now, n, s.d.cfg.Lease)
	s.pool.putReserved(claims, n, now)
	if err != nil {
		s.d.log.Error("webhook: settling deliveries", "results", len(rs), "err", err)
	}
	if ordered && (n == 0 || len(claims) == n || err != nil) {
		// An ordered webhook's next delivery may be due now, and this
		// call did not look for it.
		s.d.Notify()
	}
	for i := range batch {
		if batch[i].after != nil {
			batch[i].after()
		}
	}
	s.pool.settled(len(batch))
	clear(rs)
	return rs
}

// close settles what was handed over and returns once it has.
func (s *settler) close() {
	close(s.stop)
	<-s.done
}
