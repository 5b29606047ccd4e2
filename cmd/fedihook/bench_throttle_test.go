package main

import (
	"context"
	"sync"
	"testing"
)

// TestThrottle has many emitters take and release places at once: the
// count never passes max, and every emitter finishes (no lost wake-up).
func TestThrottle(t *testing.T) {
	const max, emitters, rounds = 8, 16, 2000
	th := newThrottle(max)
	var wg sync.WaitGroup
	for range emitters {
		wg.Go(func() {
			for range rounds {
				if !th.acquire(context.Background(), 2) {
					t.Error("acquire gave up without a cancelled context")
					return
				}
				if n := th.n.Load(); n > max {
					t.Errorf("%d places taken, max %d", n, max)
				}
				th.release(1)
				th.release(1)
			}
		})
	}
	wg.Wait()
	if n := th.n.Load(); n != 0 {
		t.Fatalf("%d places still taken", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if !th.acquire(ctx, max) {
		t.Fatal("could not take every place of an empty throttle")
	}
	cancel()
	if th.acquire(ctx, 1) {
		t.Fatal("took a place past max")
	}
}
