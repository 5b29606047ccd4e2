package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fedihook/webhook"
)

// maxBatch is how many writes one transaction may group.
const maxBatch = 128

// After a transaction of at least gatherMin writes, the next one waits
// up to gatherWait for the pending writes to number gatherShare of the
// last transaction's: see gatherWrites.
const (
	gatherMin   = 8
	gatherShare = 0.9
	gatherWait  = 500 * time.Microsecond
)

// lockSQL changes nothing but takes the database's write lock, waiting
// for it up to busy_timeout. Run first in a transaction, it makes a
// deferred transaction immediate: one that read first would fail at once
// with SQLITE_BUSY, without waiting, if another connection had written
// since its read began.
const lockSQL = `UPDATE webhook_migrations SET version = version WHERE 0`

const (
	savepointSQL  = `SAVEPOINT webhook_write`
	releaseSQL    = `RELEASE webhook_write`
	rollbackToSQL = `ROLLBACK TO webhook_write`
)

// A writeReq is one write waiting for, or done in, a transaction.
type writeReq struct {
	ctx  context.Context
	op   string
	fn   func(r runner) error
	err  error
	done chan struct{}

	// An Enqueue or a Settle also says what it writes, so that those of
	// one transaction can be merged into one statement.
	deliveries []*webhook.Delivery
	results    []webhook.Result
	lost       []bool // Settle's: which results lost their lease

	// until, for EnqueueAndClaim, holds the lease expiry (unix ns) of
	// each delivery to insert claimed, 0 for the others. Once the write
	// ran, leased holds the pk of the webhook of each delivery inserted
	// claimed (0 for the others) and hooks the current records of those
	// webhooks, by pk.
	until  []int64
	leased []int64
	hooks  map[int64]*webhook.Webhook

	enqueues bool // the write leaves deliveries to claim: wake the listeners

	// check, for the Emission of webhooks from MatchHooksCached, names
	// the cache entry they came from; stale is set when the write found
	// it no longer current, and so enqueued nothing.
	check *hookCheck
	stale bool

	// once is set when fn must run at most once, as it runs the
	// application's code (Store.Tx); the Store's own writes may run again
	// in a new transaction after the first one was rolled back.
	once bool
}

// write runs fn in a write transaction, and returns once that has
// committed (nil) or failed.
//
// Writes are grouped: while one transaction runs, the writes of others
// queue, and the next transaction runs all that queued, each in its own
// savepoint. One commit, one fsync, then serves many Enqueues, Claims
// and Settles, and each still succeeds or fails alone, as if it ran by
// itself.
func (s *Store) write(ctx context.Context, op string, fn func(r runner) error) error {
	return s.do(&writeReq{ctx: ctx, op: op, fn: fn})
}

// do is write for a writeReq filled in but for err and done.
func (s *Store) do(req *writeReq) error {
	ctx := req.ctx
	if err := ctx.Err(); err != nil {
		return err
	}
	s.prepare(ctx)
	req.done = make(chan struct{})
	if s.add(req) {
		go s.writeLoop()
	}
	select {
	case <-req.done:
		return req.err
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.Index(s.pending, req); i >= 0 {
			s.pending = slices.Delete(s.pending, i, i+1)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		// It is running: its outcome, commit or not, is what counts.
		<-req.done
		return req.err
	}
}

// add queues req among the pending writes, and returns true when the
// caller must start a writeLoop to run it.
func (s *Store) add(req *writeReq) (start bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, req)
	if s.gather > 0 && len(s.pending) >= s.gather {
		s.gather = 0
		select {
		case s.gathered <- struct{}{}:
		default:
		}
	}
	start = !s.writing
	s.writing = true
	return start
}

// writeLoop runs the pending writes, a batch a transaction, until none is
// left, and then ends. One runs while s.writing is set.
//
// The goroutine that commits a batch goes on to the next one itself
// (after a large one, once the callers it woke have queued their next
// writes: see gatherWrites), as under load some writes have always
// queued meanwhile. Handing the next batch to another goroutine instead
// (one of the waiting callers) left the database idle until the
// scheduler ran that goroutine, which on a busy machine took about a
// third as long as the transaction itself.
func (s *Store) writeLoop() {
	s.wsem <- struct{}{}
	defer func() { <-s.wsem }()
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.writing = false
			s.mu.Unlock()
			// Idle: the application may use the connection meanwhile.
			s.releaseWriter()
			return
		}
		s.mu.Unlock()
		n := s.runBatch()
		if n >= gatherMin {
			s.gatherWrites(int(float64(n) * gatherShare))
		} else {
			// Let the goroutines that the batch woke run first: one that
			// goes on to its next write at once joins the next batch
			// instead of the one after.
			runtime.Gosched()
		}
	}
}

// gatherWrites waits, up to gatherWait, until want writes are pending.
// The caller holds wsem; the transaction before it ran at least
// gatherMin writes.
//
// Under load most of the callers a commit wakes go on to their next
// write at once: an Emit returns and the next one comes, a worker's
// results are settled and its next ones follow. Run as soon as the one
// before has committed, the next transaction holds only the writes that
// queued during that commit, and the callers just woken wait for the one
// after it: the callers split into cohorts, each commit serves a part of
// them, and every commit costs the same fsync. Yielding once
// (runtime.Gosched, as after a small transaction) put the writer at the
// back of the scheduler's global queue, where it waited about 350 µs in
// fedihook bench, and the transactions still held about 26 writes; this
// waits for the callers themselves, and the bound keeps a caller that
// does not come back from holding up the others for long. A small
// transaction (fewer than gatherMin writes, as at a modest rate) never
// waits: its callers come back rarely, and each wait would only add
// latency.
func (s *Store) gatherWrites(want int) {
	s.mu.Lock()
	if len(s.pending) >= want {
		s.mu.Unlock()
		return
	}
	select {
	case <-s.gathered: // from a wait that timed out
	default:
	}
	s.gather = want
	s.mu.Unlock()
	t := time.NewTimer(s.gatherWait)
	select {
	case <-s.gathered:
	case <-t.C:
	}
	t.Stop()
	s.mu.Lock()
	s.gather = 0
	s.mu.Unlock()
}

// runBatch runs up to maxBatch pending writes in one transaction, and
// those of the Store's own that queue while it runs, up to maxBatch in
// all (see absorb), and returns how many it ran. The caller holds wsem.
func (s *Store) runBatch() int {
	s.mu.Lock()
	n := min(len(s.pending), maxBatch)
	batch := slices.Clone(s.pending[:n])
	s.pending = slices.Delete(s.pending, 0, n)
	s.mu.Unlock()
	if n == 0 {
		return 0
	}

	// The transaction stops early only when every write in it has been
	// given up by its caller.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		live  atomic.Int64
		stops []func() bool
	)
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	var watched []*writeReq
	watch := func(ws []*writeReq) {
		watched = append(watched, ws...)
		live.Add(int64(len(ws)))
		for _, r := range ws {
			stops = append(stops, context.AfterFunc(r.ctx, func() {
				if live.Add(-1) == 0 {
					cancel()
				}
			}))
		}
	}
	watch(batch)
	total := n
	more := func() []*writeReq {
		ws := s.absorb(maxBatch - total)
		watch(ws)
		// ctx ends a moment after the last caller gives up (AfterFunc
		// runs apart): ask the callers too, so that no write joins a
		// transaction nobody waits for any more.
		if ctx.Err() != nil || givenUpByAll(watched[:len(watched)-len(ws)]) {
			// Every caller of the transaction gave up, and it ends: the
			// writes taken go back, first in line, for the next one.
			s.mu.Lock()
			s.pending = append(ws, s.pending...)
			s.mu.Unlock()
			return nil
		}
		total += len(ws)
		return ws
	}

	batch, err := s.runTx(ctx, batch, more)
	if err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	if slices.ContainsFunc(batch, func(r *writeReq) bool { return r.err == nil && r.enqueues }) {
		s.wakeListeners()
	}
	for _, r := range batch {
		close(r.done)
	}
	return len(batch)
}

// absorb takes up to n of the pending writes that may join a transaction
// already under way: the Store's own (not the application's, which run
// once and last), whose callers still wait.
//
// A write that arrives while a transaction runs would otherwise wait for
// that transaction's commit and then for its own: about two commits for
// every Emit. Joining the one under way, before its commit, it waits for
// one, and that commit serves more writes.
func (s *Store) absorb(n int) []*writeReq {
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ws []*writeReq
	s.pending = slices.DeleteFunc(s.pending, func(w *writeReq) bool {
		if len(ws) == n || w.once || w.ctx.Err() != nil {
			return false
		}
		ws = append(ws, w)
		return true
	})
	return ws
}

// beginWrite begins a transaction on the Store's writing connection,
// taken from the pool for as long as writes keep coming. The caller holds
// wsem. Keeping to one connection keeps its page cache: SQLite empties a
// connection's cache whenever another connection has committed since its
// last transaction, and then reads the pages again.
func (s *Store) beginWrite(ctx context.Context) (*sql.Tx, error) {
	if s.wconn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.tune(ctx, c); err != nil {
			_ = c.Close()
			return nil, err
		}
		s.wconn = c
	}
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		// The connection may be broken: the next write takes another.
		s.releaseWriter()
	}
	return tx, err
}

// tune runs the Store's pragmas on c, the writing connection just taken,
// unless they already ran on its driver connection: when writes come one
// at a time, the writing connection is taken again for each. The caller
// holds wsem.
func (s *Store) tune(ctx context.Context, c *sql.Conn) error {
	if len(s.pragmas) == 0 {
		return nil
	}
	var dc any
	if err := c.Raw(func(d any) error { dc = d; return nil }); err != nil {
		return err
	}
	known := reflect.TypeOf(dc).Comparable()
	if known && s.tuned[dc] {
		return nil
	}
	for _, p := range s.pragmas {
		if _, err := c.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	if s.tuned == nil || len(s.tuned) >= maxTuned {
		// Closed connections stay in the map: forget them all now and
		// then (those still open are tuned again, to no harm).
		s.tuned = make(map[any]bool)
	}
	if known {
		s.tuned[dc] = true
	}
	return nil
}

// maxTuned bounds the driver connections that tune remembers.
const maxTuned = 64

// releaseWriter gives the writing connection back to the pool, for the
// application's own use while the Store is not writing. The caller holds
// wsem.
func (s *Store) releaseWriter() {
	if s.wconn != nil {
		_ = s.wconn.Close()
		s.wconn = nil
	}
}

// runTx runs batch in one transaction, with the writes that more
// returns until it returns none (all is batch and those), setting each
// write's err. An error returned means that the transaction did not
// commit; it is then the error of every write that had none.
//
// The writes run first without savepoints, which cost a copy of every
// page a savepoint's write touches: the Store's own writes one after
// another, the merged Enqueues and Settles each as one, and then each
// write of the application's (Store.Tx) in a savepoint of its own. Should
// one of the Store's writes fail, which is rare (a webhook deleted under
// an Enqueue, a taken ID), nothing of the application's has run yet: the
// transaction is rolled back and the batch runs again, each write in a
// savepoint, so that the failure is that write's alone. A write alone
// runs without a savepoint either way: it fails with the whole.
func (s *Store) runTx(ctx context.Context, batch []*writeReq, more func() []*writeReq) (all []*writeReq, err error) {
	all, redo, err := s.runTxOnce(ctx, batch, more, true)
	if !redo {
		return all, err
	}
	for _, w := range all {
		w.err, w.lost = nil, nil
	}
	_, _, err = s.runTxOnce(ctx, all, nil, false)
	return all, err
}

// runTxOnce is runTx, fast or not (see runTx); more is nil when not fast.
// all is batch and the writes more added. redo reports that the fast run
// failed and rolled back, and all must run again, not fast.
func (s *Store) runTxOnce(ctx context.Context, batch []*writeReq, more func() []*writeReq, fast bool) (all []*writeReq, redo bool, err error) {
	all = slices.Clip(batch)
	op := batch[0].op
	if len(batch) > 1 || more != nil {
		op = "write"
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return all, false, fmt.Errorf("sqlitestore: %s: begin: %w", op, err)
	}
	// A claim reads webhooks into the cache in the transaction: if it
	// does not commit, what it read may never have existed.
	committed := false
	defer func() {
		if !committed {
			s.hooks.reset()
		}
	}()
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	r := runner{s: s, tx: tx}
	if _, err := r.exec(ctx, lockSQL); err != nil {
		return all, false, fmt.Errorf("sqlitestore: %s: begin: %w", op, err)
	}
	ws := batch
	for {
		if len(ws) == 1 && len(all) == 1 {
			// Alone, the write needs no savepoint: it fails with the
			// whole, and so ends the transaction.
			w := ws[0]
			if w.err = w.ctx.Err(); w.err == nil {
				w.err = givenUp(ctx, w.op, w.fn(r))
			}
			if w.err != nil {
				return all, false, nil
			}
		} else {
			redo, err := s.runWrites(ctx, r, ws, fast)
			if err != nil {
				return all, false, fmt.Errorf("sqlitestore: %s: %w", op, err)
			}
			if redo {
				return all, true, nil
			}
		}
		// The application's writes run last, and once: after one, no
		// write may join (its failure would run that one again).
		if more == nil || slices.ContainsFunc(all, func(w *writeReq) bool { return w.once }) {
			break
		}
		if ws = more(); len(ws) == 0 {
			break
		}
		all = append(all, ws...)
	}
	if !slices.ContainsFunc(all, func(w *writeReq) bool { return w.err == nil }) {
		return all, false, nil
	}
	if givenUpByAll(all) {
		// Nobody waits for this transaction: it is rolled back, and each
		// write fails with its caller's error, as it would have had ctx
		// ended in time to stop it.
		for _, w := range all {
			if w.err == nil {
				w.err = fmt.Errorf("sqlitestore: %s: %w", w.op, w.ctx.Err())
			}
		}
		return all, false, nil
	}
	if err := listIfDue(ctx, r); err != nil {
		return all, false, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return all, false, fmt.Errorf("sqlitestore: %s: commit: %w", op, givenUp(ctx, "", err))
	}
	committed = true
	return all, false, nil
}

// givenUpByAll reports whether the caller of every write of ws has given
// it up.
func givenUpByAll(ws []*writeReq) bool {
	return !slices.ContainsFunc(ws, func(w *writeReq) bool { return w.ctx.Err() == nil })
}

// givenUp returns err, or, when it says that the transaction is over
// because ctx (the transaction's) ended meanwhile, and database/sql
// rolled it back, an error that says so: the context's error, with op
// when given.
func givenUp(ctx context.Context, op string, err error) error {
	if !errors.Is(err, sql.ErrTxDone) || ctx.Err() == nil {
		return err
	}
	if op == "" {
		return ctx.Err()
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, ctx.Err())
}

// runWrites runs ws, several writes or one that joined others, in the
// transaction of r (see runTx). redo reports that a write failed, fast,
// and the transaction must be rolled back; an error, that it is lost.
func (s *Store) runWrites(ctx context.Context, r runner, ws []*writeReq, fast bool) (redo bool, err error) {
	var merged []*writeReq
	ok, err := s.merge(ctx, r, ws, &merged, fast)
	if err != nil {
		return false, err
	}
	if !ok {
		return true, nil
	}
	if fast {
		for _, w := range ws {
			if w.once || slices.Contains(merged, w) {
				continue
			}
			if w.err = w.ctx.Err(); w.err != nil {
				continue
			}
			if w.err = w.fn(r); w.err != nil {
				return true, nil
			}
			merged = append(merged, w)
		}
	}
	for _, w := range ws {
		if slices.Contains(merged, w) {
			continue
		}
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if _, err := r.exec(ctx, savepointSQL); err != nil {
			return false, err
		}
		if w.err = w.fn(r); w.err != nil {
			// Undo this write alone. If SQLite rolled back the whole
			// transaction (it does on some errors), the savepoint is
			// gone and every write in the batch fails.
			if _, err := r.exec(ctx, rollbackToSQL); err != nil {
				return false, fmt.Errorf("aborted by another write's failure: %w", err)
			}
		}
		if _, err := r.exec(ctx, releaseSQL); err != nil {
			return false, err
		}
	}
	return false, nil
}

// merge runs the batch's Enqueues as one, and its Settles as one; it
// adds those it ran to merged. Not fast, each group runs in a savepoint:
// when a merged group fails, it is undone and left to run write by write,
// so that the failure is the failing write's alone. Fast, the groups run
// as they are, and ok is false when one failed: the transaction must be
// rolled back. An error means that the transaction is lost.
func (s *Store) merge(ctx context.Context, r runner, batch []*writeReq, merged *[]*writeReq, fast bool) (ok bool, err error) {
	var enqs, sets []*writeReq
	for _, w := range batch {
		if w.ctx.Err() != nil {
			continue
		}
		switch {
		case w.deliveries != nil:
			enqs = append(enqs, w)
		case w.results != nil:
			sets = append(sets, w)
		}
	}
	run := func(fn func() error) (bool, error) {
		if fast {
			return fn() == nil, nil
		}
		return s.savepoint(ctx, r, fn)
	}
	if len(enqs) > 1 {
		done, err := run(func() error { return s.enqueueAll(ctx, r, enqs) })
		if err != nil || (fast && !done) {
			return false, err
		}
		if done {
			*merged = append(*merged, enqs...)
		}
	}
	if len(sets) > 1 {
		var rs []webhook.Result
		for _, w := range sets {
			rs = append(rs, w.results...)
		}
		var lost []bool
		done, err := run(func() error {
			var err error
			lost, err = settle(ctx, r, rs)
			return err
		})
		if err != nil || (fast && !done) {
			return false, err
		}
		if done {
			for _, w := range sets {
				w.lost, lost = lost[:len(w.results)], lost[len(w.results):]
			}
			*merged = append(*merged, sets...)
		}
	}
	return true, nil
}

// savepoint runs fn in a savepoint, undone if fn fails: ok reports
// whether fn succeeded. An error means that the transaction is lost.
func (s *Store) savepoint(ctx context.Context, r runner, fn func() error) (ok bool, err error) {
	if _, err := r.exec(ctx, savepointSQL); err != nil {
		return false, err
	}
	ok = fn() == nil
	if !ok {
		if _, err := r.exec(ctx, rollbackToSQL); err != nil {
			return false, err
		}
	}
	if _, err := r.exec(ctx, releaseSQL); err != nil {
		return false, err
	}
	return ok, nil
}

// writeConn runs fn in a transaction begun with BEGIN IMMEDIATE on a
// connection of its own, outside the grouping of write: for Migrate,
// which runs before the table that lockSQL locks with exists.
func (s *Store) writeConn(ctx context.Context, op string, fn func(q *sql.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wsem }()
	s.releaseWriter() // a pool of one connection would have none left
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: %s: begin: %w", op, err)
	}
	if err := fn(conn); err != nil {
		rollback(conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(conn)
		return fmt.Errorf("sqlitestore: %s: commit: %w", op, err)
	}
	return nil
}

// rollback ends the transaction on conn, even when the caller's context
// is done. If that fails, conn is discarded rather than given back to the
// pool in the middle of a transaction.
func rollback(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
