package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// newerFirst orders deliveries newest first: by CreatedAt, then ID, both
// descending.
func newerFirst(a, b *Delivery) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID.String(), a.ID.String())
}

// ListDeliveries implements [History]. It scans every delivery held.
func (s *MemoryStore) ListDeliveries(ctx context.Context, q DeliveryQuery) (*DeliveryPage, error) {
	limit, err := CheckQuery(q)
	if err != nil {
		return nil, err
	}
	var after *Delivery
	if q.Cursor != "" {
		created, id, err := DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		after = &Delivery{CreatedAt: created, ID: id}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var ds []*Delivery
	for _, it := range s.items {
		if it.hook.w.ID != q.HookID || it.hook.deleted || (q.State != 0 && it.state != q.State) {
			continue
		}
		d := it.delivery()
		if after != nil && newerFirst(after, &d) >= 0 {
			continue
		}
		ds = append(ds, &d)
	}
	s.mu.Unlock()
	slices.SortFunc(ds, newerFirst)
	page := &DeliveryPage{Deliveries: ds}
	if len(ds) > limit {
		page.Deliveries = ds[:limit]
		last := ds[limit-1]
		page.Next = EncodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

// ListAttempts implements [History].
func (s *MemoryStore) ListAttempts(ctx context.Context, id uuid.UUID) ([]Attempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.item(id)
	if err != nil {
		return nil, err
	}
	var out []Attempt
	if it.x != nil {
		out = slices.Clone(it.x.history)
	}
	if out == nil {
		out = []Attempt{}
	}
	return out, nil
}

// Redeliver implements [Redeliverer].
func (s *MemoryStore) Redeliver(ctx context.Context, id uuid.UUID, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.item(id)
	if err != nil {
		return err
	}
	return s.redeliver(it, now)
}

func (s *MemoryStore) redeliver(it *memItem, now time.Time) error {
	if it.lease != 0 && it.leaseUntil > now.UnixNano() {
		return fmt.Errorf("webhook: delivery %s is in flight: %w", it.id, ErrLeaseLost)
	}
	wasPending := it.state == StatePending
	if !wasPending {
		if s.pending+1 > s.capacity {
			return fmt.Errorf("webhook: redeliver: %w", ErrQueueFull)
		}
		s.unfinish(it)
		s.pending++
	}
	if it.lease != 0 { // an expired lease nobody reclaimed yet
		s.leased.remove(int(it.index))
		it.lease = 0
	} else if it.index >= 0 {
		s.ready.remove(int(it.index))
	}
	it.state, it.attempts, it.nextAt = StatePending, 0, now.UnixNano()
	s.seq++
	it.seq = s.seq
	switch {
	case !wasPending:
		s.push(it) // an Ordered webhook's queue takes it at the end
	case !it.hook.w.Ordered || it.hook.queue[0] == it:
		s.ready.push(it)
	} // else it keeps its place in the queue
	return nil
}

// RecoverFailed implements [Redeliverer].
func (s *MemoryStore) RecoverFailed(ctx context.Context, hookID string, since, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, invalidf("RecoverFailed: limit must be >= 1, got %d", limit)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var failed []*memItem
	for _, it := range s.finished {
		if it != nil && it.hook.w.ID == hookID && it.state == StateFailed && !it.lastAttemptAt().Before(since) {
			failed = append(failed, it)
		}
	}
	slices.SortFunc(failed, func(a, b *memItem) int { return a.lastAttemptAt().Compare(b.lastAttemptAt()) })
	n := 0
	for _, it := range failed[:min(limit, len(failed))] {
		if err := s.redeliver(it, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// QueueStats implements [StatsReporter].
func (s *MemoryStore) QueueStats(ctx context.Context) (QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return QueueStats{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := QueueStats{Pending: int64(s.pending)}
	if s.ready.Len() > 0 {
		st.OldestDue = s.ready.top().nextAttemptAt()
	}
	for _, e := range s.leased.e {
		it := e.it
		if st.OldestDue.IsZero() || it.nextAttemptAt().Before(st.OldestDue) {
			st.OldestDue = it.nextAttemptAt()
		}
	}
	return st, nil
}
