package main

import (
	"context"
	"sync"
	"sync/atomic"
)

// A throttle keeps the deliveries emitted and not yet ended at most max,
// in saturation. Emitters that would pass max wait until the queue is
// down to half of it, and are then let go together: a wake-up per
// delivery would cost the emitting side a goroutine switch per delivery,
// which a host's request handlers, which never wait, do not pay.
type throttle struct {
	n       atomic.Int64
	max     int64
	waiting atomic.Bool

	mu     sync.Mutex
	resume chan struct{} // closed to let the waiters go
}

func newThrottle(max int) *throttle { return &throttle{max: int64(max)} }

// acquire takes k places, waiting while there are none; false means ctx
// ended first.
func (t *throttle) acquire(ctx context.Context, k int64) bool {
	for {
		if t.n.Add(k) <= t.max {
			return true
		}
		t.n.Add(-k)
		t.mu.Lock()
		// waiting is set before n is read again, so that a release that
		// lowers n after this read sees it and wakes us.
		t.waiting.Store(true)
		if t.n.Load()+k <= t.max {
			t.mu.Unlock()
			continue
		}
		if t.resume == nil {
			t.resume = make(chan struct{})
		}
		ch := t.resume
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives k places back.
func (t *throttle) release(k int64) {
	if t.n.Add(-k) > t.max/2 || !t.waiting.Load() {
		return
	}
	t.mu.Lock()
	if t.resume != nil {
		close(t.resume)
		t.resume = nil
	}
	t.waiting.Store(false)
	t.mu.Unlock()
}
