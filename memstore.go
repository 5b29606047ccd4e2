package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults of [MemoryStoreConfig].
const (
	// DefaultMemoryHistory is how many finished (delivered or failed)
	// deliveries a MemoryStore keeps, with their attempts.
	DefaultMemoryHistory = 10000
	// DefaultMemoryCapacity is how many pending deliveries a MemoryStore
	// holds before Enqueue refuses more with ErrQueueFull.
	DefaultMemoryCapacity = 1 << 20
)

// MemoryStoreConfig configures a MemoryStore. The zero value gives the
// documented defaults.
type MemoryStoreConfig struct {
	// History is how many finished deliveries are kept, newest first;
	// older ones are forgotten. Defaults to DefaultMemoryHistory; -1
	// keeps none.
	History int
	// Capacity is how many pending deliveries the store holds. When an
	// Enqueue would pass it, the whole Enqueue is refused with
	// ErrQueueFull: nothing is dropped silently, and no Emit is half
	// enqueued. Defaults to DefaultMemoryCapacity.
	Capacity int
}

// A MemoryStore is a [Store] held in memory: fast, and lost when the
// process exits. It is the Dispatcher's default. Pending deliveries are
// kept until settled, up to MemoryStoreConfig.Capacity; of the finished
// ones, only the most recent (MemoryStoreConfig.History) are kept. It is
// also a [History], a [Redeliverer] and a [StatsReporter]; listing
// deliveries scans them all. Its zero value is not usable; call
// [NewMemoryStore].
type MemoryStore struct {
	history  int
	capacity int
	pending  int

	mu     sync.Mutex
	hooks  map[string]*memHook
	users  map[string]*memUser
	items  map[uuid.UUID]*memItem
	ready  itemHeap // pending, unleased, by due time
	leased itemHeap // pending, leased, by lease expiry
	// finished is a FIFO of the finished deliveries kept for History;
	// a slot is nil once its delivery was redelivered or its webhook
	// deleted. fbase is the absolute index of finished[0].
	finished  []*memItem
	fbase     int
	nfinished int
	seq       uint64
	leaseSeq  int64
}

var (
	_ Store         = (*MemoryStore)(nil)
	_ History       = (*MemoryStore)(nil)
	_ Redeliverer   = (*MemoryStore)(nil)
	_ StatsReporter = (*MemoryStore)(nil)
	_ EventEnqueuer = (*MemoryStore)(nil)
	_ VolatileStore = (*MemoryStore)(nil)
	_ payloadKeeper = (*MemoryStore)(nil)
)

// keepsPayloads implements payloadKeeper.
func (s *MemoryStore) keepsPayloads() bool { return true }

// Volatile implements [VolatileStore]: a MemoryStore's deliveries are lost
// when the process exits.
func (s *MemoryStore) Volatile() bool { return true }

type memHook struct {
	w            *Webhook // immutable snapshot, without status
	sentAt       time.Time
	status       int // 0: no attempt yet
	failingSince time.Time
	// queue holds an Ordered webhook's pending deliveries in enqueue
	// order; only its head is in a heap.
	queue     []*memItem
	deleted   bool
	createSeq uint64
}

// memUser indexes one user's webhooks for MatchHooks; rebuilt whenever
// they change, read without copying.
type memUser struct {
	hooks   []*memHook
	byEvent map[Event][]*Webhook
}

// memItem is one delivery, kept compact: a million queued ones are a
// workload the store is sized for. Times are Unix nanoseconds (createdAt
// milliseconds); what only attempts produce lives in x.
type memItem struct {
	id         uuid.UUID
	hook       *memHook // gives HookID and UserID
	typ        Event
	server     string
	body       []byte // shared by the deliveries of one Emit
	createdAt  int64
	nextAt     int64
	seq        uint64
	lease      int64
	leaseUntil int64
	index      int32 // in ready or leased, -1 in neither
	attempts   int32
	state      State
	// bodyAt is, when body holds the delivery's whole payload (see
	// payloadKeeper), where the event body begins in it; 0 when body is
	// the event body alone.
	bodyAt int32
	x      *memExtra
	fin    int // absolute index in MemoryStore.finished, once finished
}

// memExtra is what a delivery gains once attempted: its attempts, the
// latest last. Most deliveries are attempted once; that attempt lives in
// inline, allocated with the rest.
type memExtra struct {
	history []Attempt
	inline  [1]Attempt
}

// last returns the latest attempt.
func (x *memExtra) last() *Attempt { return &x.history[len(x.history)-1] }

// addAttempt records a.
func (it *memItem) addAttempt(a Attempt) {
	if it.x == nil {
		it.x = &memExtra{}
		it.x.history = it.x.inline[:0]
	}
	it.x.history = append(it.x.history, a)
}

func newMemItem(d *Delivery, h *memHook) memItem {
	return memItem{id: d.ID, hook: h, typ: d.Type, server: d.Server, body: d.Body,
		createdAt: d.CreatedAt.UnixMilli(), nextAt: d.NextAttemptAt.UnixNano(), index: -1, state: StatePending}
}

// eventBody returns the event body.
func (it *memItem) eventBody() []byte {
	if it.bodyAt > 0 {
		return it.body[it.bodyAt : len(it.body)-1 : len(it.body)-1]
	}
	return it.body
}

// payload returns the delivery's payload, or nil when the store does not
// hold it.
func (it *memItem) payload() []byte {
	if it.bodyAt > 0 {
		return it.body
	}
	return nil
}

func (it *memItem) nextAttemptAt() time.Time { return time.Unix(0, it.nextAt) }

func (it *memItem) lastAttemptAt() time.Time {
	if it.x == nil {
		return time.Time{}
	}
	return it.x.last().At
}

// delivery returns the public form of it.
func (it *memItem) delivery() Delivery {
	d := Delivery{ID: it.id, HookID: it.hook.w.ID, UserID: it.hook.w.UserID, Type: it.typ, Server: it.server,
		CreatedAt: time.UnixMilli(it.createdAt), Body: it.eventBody(), State: it.state, Attempts: int(it.attempts),
		NextAttemptAt: it.nextAttemptAt()}
	if it.x != nil {
		a := it.x.last()
		d.LastStatus, d.LastError, d.LastAttemptAt = a.Status, a.Error, a.At
	}
	return d
}

// NewMemoryStore returns an empty MemoryStore. A nil cfg means defaults.
func NewMemoryStore(cfg *MemoryStoreConfig) (*MemoryStore, error) {
	c := MemoryStoreConfig{}
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.History == 0:
		c.History = DefaultMemoryHistory
	case c.History == -1:
		c.History = 0
	case c.History < 0:
		return nil, invalidf("MemoryStoreConfig.History must be >= -1, got %d", c.History)
	}
	if c.Capacity < 0 {
		return nil, invalidf("MemoryStoreConfig.Capacity must be >= 1, got %d", c.Capacity)
	}
	return &MemoryStore{
		history:  c.History,
		capacity: cmp.Or(c.Capacity, DefaultMemoryCapacity),
		hooks:    make(map[string]*memHook),
		users:    make(map[string]*memUser),
		items:    make(map[uuid.UUID]*memItem),
		leased:   itemHeap{byLease: true},
	}, nil
}

func notFound(kind, id string) error {
	return fmt.Errorf("webhook: %s %q: %w", kind, truncate(id, MaxIDLength), ErrNotFound)
}

func (h *memHook) snapshot() *Webhook {
	w := h.w.Clone()
	if h.status != 0 {
		t, s := h.sentAt, h.status
		w.LatestSentAt, w.LatestStatus = &t, &s
	}
	if !h.failingSince.IsZero() {
		f := h.failingSince
		w.FailingSince = &f
	}
	return w
}

// CreateHook implements [HookStore].
func (s *MemoryStore) CreateHook(ctx context.Context, w *Webhook, limit int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hooks[w.ID]; ok {
		return fmt.Errorf("webhook: webhook %q exists: %w", truncate(w.ID, MaxIDLength), ErrConflict)
	}
	u := s.users[w.UserID]
	if limit > 0 && u != nil && len(u.hooks) >= limit {
		return fmt.Errorf("webhook: user %q has %d webhooks: %w", truncate(w.UserID, MaxIDLength), len(u.hooks), ErrTooManyWebhooks)
	}
	c := w.Clone()
	c.LatestSentAt, c.LatestStatus, c.FailingSince = nil, nil, nil
	s.seq++
	h := &memHook{w: c, createSeq: s.seq}
	if w.LatestStatus != nil && w.LatestSentAt != nil {
		h.sentAt, h.status = *w.LatestSentAt, *w.LatestStatus
	}
	if w.FailingSince != nil {
		h.failingSince = *w.FailingSince
	}
	s.hooks[w.ID] = h
	if u == nil {
		u = &memUser{}
		s.users[w.UserID] = u
	}
	u.hooks = append(u.hooks, h)
	u.reindex()
	return nil
}

func (u *memUser) reindex() {
	slices.SortFunc(u.hooks, func(a, b *memHook) int { return cmp.Compare(a.w.ID, b.w.ID) })
	u.byEvent = make(map[Event][]*Webhook)
	for _, h := range u.hooks {
		if !h.w.Active {
			continue
		}
		for _, e := range h.w.On {
			u.byEvent[e] = append(u.byEvent[e], h.w)
		}
	}
}

// GetHook implements [HookStore].
func (s *MemoryStore) GetHook(ctx context.Context, id string) (*Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[id]
	if !ok {
		return nil, notFound("webhook", id)
	}
	return h.snapshot(), nil
}

// ListHooks implements [HookStore].
func (s *MemoryStore) ListHooks(ctx context.Context, userID string) ([]*Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return []*Webhook{}, nil
	}
	out := make([]*Webhook, len(u.hooks))
	for i, h := range u.hooks {
		out[i] = h.snapshot()
	}
	return out, nil
}

// UpdateHook implements [HookStore].
func (s *MemoryStore) UpdateHook(ctx context.Context, w *Webhook) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[w.ID]
	if !ok {
		return notFound("webhook", w.ID)
	}
	c := h.w.Clone()
	c.Name, c.On, c.URL, c.Secret, c.Active = w.Name, slices.Clone(w.On), w.URL, w.Secret, w.Active
	c.SigningSecret, c.PreviousSigningSecrets = w.SigningSecret, slices.Clone(w.PreviousSigningSecrets)
	h.w = c
	s.users[c.UserID].reindex()
	return nil
}

// DisableHook implements [HookStore].
func (s *MemoryStore) DisableHook(ctx context.Context, id, url string, failingBefore time.Time) (*Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[id]
	if !ok || !h.w.Active || h.w.URL != url {
		return nil, nil
	}
	if !failingBefore.IsZero() && (h.failingSince.IsZero() || h.failingSince.After(failingBefore)) {
		return nil, nil
	}
	before := h.snapshot()
	c := h.w.Clone()
	c.Active = false
	h.w = c
	s.users[c.UserID].reindex()
	return before, nil
}

// DeleteHook implements [HookStore]. The webhook's deliveries are dropped.
func (s *MemoryStore) DeleteHook(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[id]
	if !ok {
		return notFound("webhook", id)
	}
	h.deleted = true
	delete(s.hooks, id)
	u := s.users[h.w.UserID]
	u.hooks = slices.DeleteFunc(u.hooks, func(x *memHook) bool { return x == h })
	if len(u.hooks) == 0 {
		delete(s.users, h.w.UserID)
	} else {
		u.reindex()
	}
	// Queued deliveries of h are dropped lazily, when they reach the
	// head of a heap; those waiting in an Ordered queue behind its head,
	// and the finished ones, now.
	if len(h.queue) > 1 {
		for _, it := range h.queue[1:] {
			delete(s.items, it.id)
		}
		s.pending -= len(h.queue) - 1
		h.queue = h.queue[:1]
	}
	for i, it := range s.finished {
		if it != nil && it.hook == h {
			delete(s.items, it.id)
			s.finished[i] = nil
			s.nfinished--
		}
	}
	return nil
}

// MatchHooks implements [Outbox]. The slice returned is shared: neither it
// nor its webhooks may be modified.
func (s *MemoryStore) MatchHooks(ctx context.Context, userID string, e Event) ([]*Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return nil, nil
	}
	return u.byEvent[e], nil
}

// Enqueue implements [Outbox]. Deliveries of webhooks that do not exist
// are refused with ErrNotFound, and then none is enqueued.
func (s *MemoryStore) Enqueue(ctx context.Context, ds []*Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	items := make([]memItem, len(ds))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomFor(len(ds)); err != nil {
		return err
	}
	for i, d := range ds {
		h, err := s.newItemOf(d.ID, d.HookID)
		if err != nil {
			return err
		}
		items[i] = newMemItem(d, h)
	}
	s.insert(items)
	return nil
}

// EnqueueEvent implements [EventEnqueuer]: the items of em's deliveries
// are built in place, all sharing its body.
func (s *MemoryStore) EnqueueEvent(ctx context.Context, em *Emission) error {
	_, err := s.enqueueEvent(ctx, em, time.Time{}, 0, 0)
	return err
}

// EnqueueAndClaim implements [EnqueueClaimer].
func (s *MemoryStore) EnqueueAndClaim(ctx context.Context, em *Emission, now time.Time, max int, lease time.Duration) ([]Claim, error) {
	return s.enqueueEvent(ctx, em, now, max, lease)
}

// enqueueEvent enqueues em, claiming its first max deliveries of webhooks
// not Ordered, leased at now.
func (s *MemoryStore) enqueueEvent(ctx context.Context, em *Emission, now time.Time, max int, lease time.Duration) ([]Claim, error) {
	if len(em.IDs) != len(em.Hooks) {
		return nil, invalidf("Emission has %d IDs for %d Hooks", len(em.IDs), len(em.Hooks))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items := make([]memItem, len(em.Hooks))
	created, due := em.CreatedAt.UnixMilli(), em.NextAttemptAt.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomFor(len(items)); err != nil {
		return nil, err
	}
	for i, w := range em.Hooks {
		h, err := s.newItemOf(em.IDs[i], w.ID)
		if err != nil {
			return nil, err
		}
		items[i] = memItem{id: em.IDs[i], hook: h, typ: em.Type, server: em.Server, body: em.Body,
			createdAt: created, nextAt: due, index: -1, state: StatePending}
	}
	if at, ok := bodyIn(em.payload, em.Body); ok && len(items) == 1 {
		items[0].body, items[0].bodyAt = em.payload, int32(at)
	}
	if max <= 0 {
		s.insert(items)
		return nil, nil
	}
	var out []Claim
	until := now.Add(lease).UnixNano()
	for i := range items {
		it := &items[i]
		s.seq++
		it.seq = s.seq
		s.items[it.id] = it
		if len(out) == max || it.hook.w.Ordered {
			s.push(it)
			continue
		}
		s.leaseSeq++
		it.lease, it.leaseUntil = s.leaseSeq, until
		s.leased.push(it)
		out = append(out, s.claimOf(it))
	}
	s.pending += len(items)
	return out, nil
}

// bodyIn reports where body lies in payload, the payload of its event's
// delivery: ok only when body ends one byte (the closing brace) before
// payload does, in the same array, at an offset an int32 holds.
func bodyIn(payload, body []byte) (at int, ok bool) {
	at = len(payload) - 1 - len(body)
	if len(payload) == 0 || len(body) == 0 || at <= 0 || at > math.MaxInt32 ||
		&payload[at] != &body[0] {
		return 0, false
	}
	return at, true
}

// roomFor refuses n more pending deliveries past the capacity. s.mu is
// held.
func (s *MemoryStore) roomFor(n int) error {
	if s.pending+n > s.capacity {
		return fmt.Errorf("webhook: %d pending deliveries, %d more would pass MemoryStoreConfig.Capacity (%d): %w",
			s.pending, n, s.capacity, ErrQueueFull)
	}
	return nil
}

// newItemOf returns the webhook a new delivery id of hookID belongs to,
// or why it cannot be enqueued. s.mu is held.
func (s *MemoryStore) newItemOf(id uuid.UUID, hookID string) (*memHook, error) {
	h, ok := s.hooks[hookID]
	if !ok {
		return nil, notFound("webhook", hookID)
	}
	if _, dup := s.items[id]; dup {
		return nil, fmt.Errorf("webhook: delivery %s exists: %w", id, ErrConflict)
	}
	return h, nil
}

// insert makes new items pending.
func (s *MemoryStore) insert(items []memItem) {
	for i := range items {
		it := &items[i]
		s.seq++
		it.seq = s.seq
		s.items[it.id] = it
		s.push(it)
	}
	s.pending += len(items)
}

// push makes a newly pending item claimable: into the ready heap, or, for
// an Ordered webhook, at the end of its queue, and into the heap only as
// the queue's head.
func (s *MemoryStore) push(it *memItem) {
	h := it.hook
	if !h.w.Ordered {
		s.ready.push(it)
		return
	}
	h.queue = append(h.queue, it)
	if len(h.queue) == 1 {
		s.ready.push(it)
	}
}

// pop takes a finished item off its Ordered webhook's queue, making the
// next one claimable.
func (s *MemoryStore) pop(it *memItem) {
	h := it.hook
	if !h.w.Ordered || len(h.queue) == 0 || h.queue[0] != it {
		return
	}
	h.queue[0] = nil
	h.queue = h.queue[1:]
	if len(h.queue) > 0 {
		s.ready.push(h.queue[0])
	}
}

// Claim implements [Queue].
func (s *MemoryStore) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Expired leases go back to the ready heap first.
	for s.leased.Len() > 0 && s.leased.top().leaseUntil <= now.UnixNano() {
		it := s.leased.pop()
		it.lease = 0
		s.ready.push(it)
	}
	var out []Claim
	for len(out) < max && s.ready.Len() > 0 {
		it := s.ready.top()
		if it.hook.deleted {
			s.ready.pop()
			delete(s.items, it.id)
			s.pending--
			continue
		}
		if it.nextAt > now.UnixNano() {
			break
		}
		s.ready.pop()
		s.leaseSeq++
		it.lease, it.leaseUntil = s.leaseSeq, now.Add(lease).UnixNano()
		s.leased.push(it)
		if out == nil {
			out = make([]Claim, 0, min(max, s.ready.Len()+1))
		}
		out = append(out, s.claimOf(it))
	}
	return out, nil
}

// claimOf returns the claim of it, just leased. s.mu is held.
func (s *MemoryStore) claimOf(it *memItem) Claim {
	w := it.hook.w
	if !it.hook.failingSince.IsZero() { // rare: copy only then
		w = it.hook.snapshot()
	}
	return Claim{Delivery: it.delivery(), Hook: w, Lease: it.lease, payload: it.payload()}
}

// Settle implements [Queue].
func (s *MemoryStore) Settle(ctx context.Context, rs []Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var lost []error
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		it, ok := s.items[r.ID]
		if !ok || it.hook.deleted {
			continue
		}
		if it.lease == 0 || it.lease != r.Lease {
			lost = append(lost, fmt.Errorf("webhook: delivery %s: %w", r.ID, ErrLeaseLost))
			continue
		}
		s.leased.remove(int(it.index))
		it.lease = 0
		if r.Release {
			it.nextAt = r.NextAttemptAt.UnixNano()
			s.ready.push(it)
			continue
		}
		a := r.Attempt
		a.Response = bytes.Clone(a.Response[:min(len(a.Response), MaxResponseRecord)])
		a.Retry = r.State == StatePending
		it.addAttempt(a)
		it.attempts++
		it.state = r.State
		h := it.hook
		h.sentAt = a.At
		h.status = cmp.Or(a.Status, 1)
		switch {
		case r.State == StateDelivered:
			h.failingSince = time.Time{}
		case h.failingSince.IsZero():
			h.failingSince = a.At
		}
		if r.State == StatePending {
			it.nextAt = r.NextAttemptAt.UnixNano()
			s.seq++
			it.seq = s.seq
			s.ready.push(it)
			continue
		}
		s.finish(it)
	}
	return errors.Join(lost...)
}

// finish keeps it among the finished deliveries, forgetting the oldest
// beyond the history size.
func (s *MemoryStore) finish(it *memItem) {
	s.pending--
	s.pop(it)
	if s.history == 0 {
		delete(s.items, it.id)
		return
	}
	it.fin = s.fbase + len(s.finished)
	s.finished = append(s.finished, it)
	s.nfinished++
	for s.nfinished > s.history {
		old := s.finished[0]
		s.finished[0] = nil
		s.finished = s.finished[1:]
		s.fbase++
		if old != nil {
			delete(s.items, old.id)
			s.nfinished--
		}
	}
}

// unfinish takes a finished item out of the history FIFO.
func (s *MemoryStore) unfinish(it *memItem) {
	if i := it.fin - s.fbase; i >= 0 && i < len(s.finished) && s.finished[i] == it {
		s.finished[i] = nil
		s.nfinished--
	}
}

// GetDelivery implements [Queue].
func (s *MemoryStore) GetDelivery(ctx context.Context, id uuid.UUID) (*Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.item(id)
	if err != nil {
		return nil, err
	}
	d := it.delivery()
	return &d, nil
}

// item returns the delivery id, unless it does not exist or its webhook
// was deleted. s.mu is held.
func (s *MemoryStore) item(id uuid.UUID) (*memItem, error) {
	it, ok := s.items[id]
	if !ok || it.hook.deleted {
		return nil, notFound("delivery", id.String())
	}
	return it, nil
}

// itemHeap is a min-heap of items; each item is in at most one heap at a
// time and records its index there. An entry holds its item's key, so
// that ordering the heap reads only the heap's own array.
type itemHeap struct {
	e       []heapEntry
	byLease bool // ordered by lease expiry, else by due time and seq
}

// A heapEntry is an item and its key as of when it was pushed: a pushed
// item's due time, seq and lease expiry do not change until it leaves
// the heap.
type heapEntry struct {
	at  int64  // nextAt, or leaseUntil for the leased heap
	seq uint64 // ties of the ready heap, in enqueue order
	it  *memItem
}

func (a *heapEntry) less(b *heapEntry) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (h *itemHeap) Len() int { return len(h.e) }

// top returns the least item; the heap must not be empty.
func (h *itemHeap) top() *memItem { return h.e[0].it }

// push adds it.
func (h *itemHeap) push(it *memItem) {
	e := heapEntry{at: it.nextAt, seq: it.seq, it: it}
	if h.byLease {
		e = heapEntry{at: it.leaseUntil, it: it}
	}
	h.e = append(h.e, e)
	h.up(len(h.e) - 1)
}

// pop removes and returns the least item; the heap must not be empty.
func (h *itemHeap) pop() *memItem { return h.remove(0) }

// remove removes and returns the item at index i.
func (h *itemHeap) remove(i int) *memItem {
	it := h.e[i].it
	n := len(h.e) - 1
	if i != n {
		h.e[i] = h.e[n]
		h.e[i].it.index = int32(i)
	}
	h.e[n] = heapEntry{}
	h.e = h.e[:n]
	if i < n && !h.down(i) {
		h.up(i)
	}
	it.index = -1
	return it
}

// up moves the entry at i towards the root until its parent is not
// greater.
func (h *itemHeap) up(i int) {
	e := h.e[i]
	for i > 0 {
		p := (i - 1) / 2
		if !e.less(&h.e[p]) {
			break
		}
		h.e[i] = h.e[p]
		h.e[i].it.index = int32(i)
		i = p
	}
	h.e[i] = e
	e.it.index = int32(i)
}

// down moves the entry at i towards the leaves until no child is less,
// and reports whether it moved.
func (h *itemHeap) down(i int) bool {
	n := len(h.e)
	e := h.e[i]
	start := i
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.e[r].less(&h.e[c]) {
			c = r
		}
		if !h.e[c].less(&e) {
			break
		}
		h.e[i] = h.e[c]
		h.e[i].it.index = int32(i)
		i = c
	}
	h.e[i] = e
	e.it.index = int32(i)
	return i > start
}
