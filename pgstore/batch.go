package pgstore

import (
	"context"
	"runtime"
	"sync"
)

// A batcher merges concurrent calls into batches, without a goroutine of
// its own: the first caller leads, running a batch of its own call and of
// every call queued meanwhile; when it is done, it hands the lead to the
// oldest call queued while it ran, whose goroutine runs the next batch.
// So each caller waits for at most two batches, and while one batch is
// in flight the next one gathers.
type batcher[T any] struct {
	mu      sync.Mutex
	queue   []*batchCall[T]
	leading bool
}

// A batchCall is one call's share of a batch.
type batchCall[T any] struct {
	in  []T
	err error
	// turn receives false when the call has been run (err is set), or
	// true when its goroutine must lead the next batch.
	turn chan bool
}

// do runs in, in a batch with other calls, through run, and returns its
// error. run must set the error of every call it is given.
func (b *batcher[T]) do(ctx context.Context, in []T, run func(context.Context, []*batchCall[T])) error {
	c := &batchCall[T]{in: in, turn: make(chan bool, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead && !<-c.turn {
		return c.err
	}
	// The callers a batch released as it ended are runnable, and most
	// call again at once (an Emit after an Emit): let them queue first,
	// so that they join this batch rather than wait for the next one.
	// Without it, batches alternate between the first of them alone and
	// all the others.
	runtime.Gosched()

	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	run(ctx, batch) // batch holds c
	for _, o := range batch {
		if o != c {
			o.turn <- false
		}
	}
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].turn <- true
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return c.err
}
