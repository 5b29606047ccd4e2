package sqlitestore

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/fedihook/webhook"
)

// hookVersionSQL reads the counter that the triggers on webhook_hooks bump
// whenever a webhook changes in what Emit or Claim use (see migration 5).
const hookVersionSQL = `SELECT v FROM webhook_hook_version`

// A hookCache keeps, in memory, the webhooks that Emit and Claim read:
// the active webhooks of a user for an event, and webhooks by pk. Its
// entries are those of one version of the webhooks, the stored counter's
// value when they were read; a different stored value, whichever process
// or transaction wrote it, empties the cache, which then refills as it is
// read. So a change committed anywhere is seen by the next read that
// starts after it, at the cost of one read of the counter.
type hookCache struct {
	mu      sync.Mutex
	version int64 // of the entries; 0 before the first read
	match   map[matchKey][]*webhook.Webhook
	byPK    map[int64]*webhook.Webhook
}

type matchKey struct {
	userID string
	event  webhook.Event
}

// maxCached bounds the entries of each map: past it the map is emptied
// rather than grown, so that a server with a great many users keeps the
// memory of its busiest ones only.
const maxCached = 100_000

// hookVersion reads the stored counter, in a read shared with the
// concurrent callers (see versionReader).
func (s *Store) hookVersion(ctx context.Context) (int64, error) {
	return s.versions.get(ctx, func(ctx context.Context) (int64, error) {
		var v int64
		if err := (runner{s: s}).queryRow(ctx, hookVersionSQL).Scan(&v); err != nil {
			return 0, err
		}
		return v, nil
	})
}

// at brings the cache to version v, and reports whether its entries may
// be used and stored: not when v is older than the cache's version (the
// reader started before a newer reader refilled it).
func (c *hookCache) at(v int64) bool {
	switch {
	case v < c.version:
		return false
	case v > c.version:
		c.version = v
		c.match = make(map[matchKey][]*webhook.Webhook)
		c.byPK = make(map[int64]*webhook.Webhook)
	}
	return true
}

// matchHooksChecked is MatchHooks through the cache, once the change
// counter it reads says the cache is current.
func (s *Store) matchHooksChecked(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	v, err := s.hookVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: match webhooks: %w", err)
	}
	key := matchKey{userID, e}
	c := &s.hooks
	c.mu.Lock()
	usable := c.at(v)
	if usable {
		if hooks, ok := c.match[key]; ok {
			c.mu.Unlock()
			return hooks, nil
		}
	}
	c.mu.Unlock()
	// Read after the counter: what is read is at least as new as v, and a
	// change after the counter read bumps it past v for the next reader.
	hooks, err := matchHooks(ctx, runner{s: s}, userID, e)
	if err != nil || !usable {
		return hooks, err
	}
	c.mu.Lock()
	if c.version == v {
		if len(c.match) >= maxCached {
			clear(c.match)
		}
		c.match[key] = hooks
	}
	c.mu.Unlock()
	return hooks, nil
}

// MatchHooksCached implements [webhook.CachedMatcher]: the webhooks of
// userID for e from memory, without reading the change counter first,
// when the cache holds some; otherwise, as MatchHooks. The Dispatcher
// passes them on in an Emission with Cached set, and the enqueue checks,
// in its transaction, that the counter has not moved since they were
// read (see [Store.EnqueueEvent]): so Emit costs no read of its own,
// and a webhook changed in another process is still seen by the next
// Emit.
func (s *Store) MatchHooksCached(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	s.prepare(ctx)
	c := &s.hooks
	c.mu.Lock()
	hooks := c.match[matchKey{userID, e}]
	c.mu.Unlock()
	if len(hooks) > 0 {
		return hooks, nil
	}
	// An empty match is not checked by an enqueue: read the counter.
	return s.matchHooksChecked(ctx, userID, e)
}

// A hookCheck names the cache entry an Emission's webhooks came from.
type hookCheck struct {
	key   matchKey
	hooks []*webhook.Webhook
}

// checkOf returns the check of em, whose Hooks came from
// MatchHooksCached: all of one user (the system's, "") and event.
func checkOf(em *webhook.Emission) *hookCheck {
	return &hookCheck{key: matchKey{em.Hooks[0].UserID, em.Type}, hooks: em.Hooks}
}

// checkHooks marks stale the writes of ws whose check fails: the
// webhooks they name are no longer the cache's entry at the stored
// counter, which it reads in the write transaction r (so that no change
// can commit before the enqueue does) when some write has a check, and
// returns (else 0). A counter newer than the cache's empties the cache.
func (s *Store) checkHooks(ctx context.Context, r runner, ws []*writeReq) (int64, error) {
	for _, w := range ws {
		w.stale = false
	}
	if !slices.ContainsFunc(ws, func(w *writeReq) bool { return w.check != nil }) {
		return 0, nil
	}
	var v int64
	if err := r.queryRow(ctx, hookVersionSQL).Scan(&v); err != nil {
		return 0, err
	}
	c := &s.hooks
	c.mu.Lock()
	defer c.mu.Unlock()
	current := c.at(v)
	for _, w := range ws {
		if w.check != nil {
			w.stale = !current || !sameEntry(c.match[w.check.key], w.check.hooks)
			if w.stale {
				w.leased, w.hooks, w.enqueues = nil, nil, false
			}
		}
	}
	return v, nil
}

// sameEntry reports whether hooks is the cache entry got itself, not an
// equal copy of an older one: the cache replaces an entry's slice and
// never edits it in place, so one with the same first element and length
// is the same entry.
func sameEntry(got, hooks []*webhook.Webhook) bool {
	return len(got) > 0 && len(got) == len(hooks) && &got[0] == &hooks[0]
}

// reset empties the cache: a transaction that read into it did not
// commit, so the counter it read may be given to other contents.
func (c *hookCache) reset() {
	c.mu.Lock()
	c.version, c.match, c.byPK = 0, nil, nil
	c.mu.Unlock()
}

// hooksByPKTx fills into with the webhooks of pks that exist, through the
// cache, in the Store's write transaction r: the counter and the webhooks
// are read there (on the writing connection, whose cache is warm), as of
// the claim just made. Should the transaction not commit, runTx resets the
// cache.
func (s *Store) hooksByPKTx(ctx context.Context, r runner, into map[int64]*webhook.Webhook, pks []int64) error {
	var v int64
	if err := r.queryRow(ctx, hookVersionSQL).Scan(&v); err != nil {
		return err
	}
	return s.hooksByPKAt(ctx, r, v, into, pks)
}

// hooksByPKAt fills into with the webhooks of pks, through the cache at
// version v, reading the missing ones with r.
func (s *Store) hooksByPKAt(ctx context.Context, r runner, v int64, into map[int64]*webhook.Webhook, pks []int64) error {
	c := &s.hooks
	var missing []any
	c.mu.Lock()
	usable := c.at(v)
	for _, pk := range pks {
		if w, ok := c.byPK[pk]; ok && usable {
			into[pk] = w
		} else {
			missing = append(missing, pk)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	read := make(map[int64]*webhook.Webhook, len(missing))
	for start := 0; start < len(missing); start += maxRows {
		chunk := missing[start:min(start+maxRows, len(missing))]
		b := bucket(len(chunk))
		if err := hooksByPK(ctx, r, read, b, pad(chunk, b, 1)); err != nil {
			return err
		}
	}
	c.mu.Lock()
	store := usable && c.version == v
	if store && len(c.byPK)+len(read) > maxCached {
		clear(c.byPK)
	}
	for pk, w := range read {
		into[pk] = w
		if store {
			c.byPK[pk] = w
		}
	}
	c.mu.Unlock()
	return nil
}

// A versionReader shares reads of the change counter among the readers
// that want one at the same moment, as the Store's writes share commits:
// a read serves every caller that arrived before it began, so that under
// load the counter is read once per wave of Emits, not once per Emit.
type versionReader struct {
	mu      sync.Mutex
	running bool         // a read is under way
	next    *versionRead // the read the callers arriving now wait for
}

type versionRead struct {
	done chan struct{} // closed once v and err are set
	lead chan struct{} // gets one token: the caller that takes it reads
	v    int64
	err  error
}

// get returns the counter as read by a read that began after get was
// called.
func (vr *versionReader) get(ctx context.Context, read func(context.Context) (int64, error)) (int64, error) {
	vr.mu.Lock()
	r := vr.next
	if r == nil {
		r = &versionRead{done: make(chan struct{}), lead: make(chan struct{}, 1)}
		vr.next = r
		if !vr.running {
			r.lead <- struct{}{}
		}
	}
	vr.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-r.lead:
	}
	// Let the goroutines that are runnable now go first: those woken
	// together (the Emits whose commit just returned) call in at once,
	// and so share this read instead of each waiting for the next.
	runtime.Gosched()
	vr.mu.Lock()
	vr.running = true
	vr.next = nil // later callers wait for the read after this one
	vr.mu.Unlock()
	// The read serves others too: the leader's end must not end it.
	r.v, r.err = read(context.WithoutCancel(ctx))
	close(r.done)
	vr.mu.Lock()
	vr.running = false
	if vr.next != nil {
		vr.next.lead <- struct{}{}
	}
	vr.mu.Unlock()
	return r.v, r.err
}
