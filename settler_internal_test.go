package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// batchingStore is a MemoryStore that settles and claims in one call, and
// records the calls; the first call waits for release, when set.
type batchingStore struct {
	*MemoryStore
	mu      sync.Mutex
	calls   [][]Result // the results of each call, copied
	maxes   []int
	entered chan struct{} // receives when a call begins, when not nil
	release chan struct{} // the first call waits for it, when not nil
	first   atomic.Bool
}

func (s *batchingStore) SettleAndClaim(ctx context.Context, rs []Result, now time.Time, max int, lease time.Duration) ([]Claim, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.release != nil && s.first.CompareAndSwap(false, true) {
		<-s.release
	}
	s.mu.Lock()
	s.calls = append(s.calls, append([]Result(nil), rs...))
	s.maxes = append(s.maxes, max)
	s.mu.Unlock()
	err := s.Settle(ctx, rs)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		return nil, err
	}
	cs, cerr := s.Claim(ctx, now, max, lease)
	if cerr != nil {
		return nil, cerr
	}
	return cs, err
}

func newBatchingStore(t *testing.T) *batchingStore {
	ms, err := NewMemoryStore(nil)
	require.NoError(t, err)
	return &batchingStore{MemoryStore: ms}
}

// TestSettlerBatches: results handed over while a call is under way are
// settled together in the next one, in the order handed over, and what
// follows each runs only once its call has returned; close settles what
// is left.
func TestSettlerBatches(t *testing.T) {
	ctx := context.Background()
	s := newBatchingStore(t)
	s.entered, s.release = make(chan struct{}, 10), make(chan struct{})
	d, err := New(s, &Config{Host: "example.tld", Workers: 2})
	require.NoError(t, err)
	w, err := d.CreateHook(ctx, &Webhook{UserID: "u", Name: "h", On: []Event{EventNote}, URL: "https://r.example/", Active: true})
	require.NoError(t, err)
	var ds []*Delivery
	for i := range 5 {
		del := &Delivery{ID: uuid.New(), HookID: w.ID, UserID: "u", Type: EventNote, Server: "https://example.tld",
			CreatedAt: time.Now(), Body: []byte(fmt.Sprintf(`{"i":%d}`, i)), State: StatePending, NextAttemptAt: time.Now()}
		ds = append(ds, del)
	}
	require.NoError(t, s.Enqueue(ctx, ds))
	cs, err := s.Claim(ctx, time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 5)

	p := newPool(2, 2)
	st := newSettler(d, s, p, ctx)
	go st.run()
	var after []int
	var amu sync.Mutex
	add := func(i int) {
		st.add(Result{ID: cs[i].Delivery.ID, HookID: w.ID, Lease: cs[i].Lease, State: StateDelivered,
			Attempt: Attempt{At: time.Now(), Status: 204}}, false, func() {
			amu.Lock()
			after = append(after, i)
			amu.Unlock()
		})
	}
	add(0)
	<-s.entered // the first call is under way, and waits
	add(1)
	add(2)
	add(3)
	amu.Lock()
	require.Empty(t, after, "nothing follows before its call returned")
	amu.Unlock()
	close(s.release)
	<-s.entered // the second call
	add(4)
	st.close()

	s.mu.Lock()
	defer s.mu.Unlock()
	var sizes []int
	var order []uuid.UUID
	for _, c := range s.calls {
		sizes = append(sizes, len(c))
		for _, r := range c {
			order = append(order, r.ID)
		}
	}
	require.Equal(t, []int{1, 3, 1}, sizes, "the three handed over during the first call went together")
	require.Equal(t, claimIDs(cs), order)
	require.Equal(t, []int{0, 1, 2, 3, 4}, after)
	require.Equal(t, []int{4, 4, 4}, s.maxes, "each call claims the pool's room")
	for _, c := range cs {
		got, err := s.GetDelivery(ctx, c.Delivery.ID)
		require.NoError(t, err)
		require.Equal(t, StateDelivered, got.State)
	}
}

func claimIDs(cs []Claim) []uuid.UUID {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.Delivery.ID
	}
	return ids
}

// TestDispatcherSettlesInBatches: a started Dispatcher over a
// SettleClaimer settles every result through it, every delivery is
// delivered, and OnAttempt sees each attempt settled in the store.
func TestDispatcherSettlesInBatches(t *testing.T) {
	ctx := context.Background()
	s := newBatchingStore(t)
	const n = 200
	var done sync.WaitGroup
	done.Add(n)
	var unsettled atomic.Int64
	d, err := New(s, &Config{Host: "example.tld", Workers: 8,
		Transport: TransportFunc(func(ctx context.Context, req *Request) (*Response, error) {
			return &Response{StatusCode: 204}, nil
		}),
		OnAttempt: func(r AttemptReport) {
			got, err := s.GetDelivery(context.Background(), r.Delivery.ID)
			if err != nil || got.State != StateDelivered {
				unsettled.Add(1)
			}
			done.Done()
		},
	})
	require.NoError(t, err)
	_, err = d.CreateHook(ctx, &Webhook{UserID: "u", Name: "h", On: []Event{EventNote}, URL: "https://r.example/", Active: true})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	for i := range n {
		require.NoError(t, d.Emit(ctx, "u", EventNote, []byte(fmt.Sprintf(`{"i":%d}`, i))))
	}
	done.Wait()
	require.NoError(t, d.Shutdown(ctx))
	require.Zero(t, unsettled.Load(), "OnAttempt runs after the settle")
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, c := range s.calls {
		for _, r := range c {
			if !r.Release { // releases: over MaxInFlightPerHook
				total++
			}
		}
	}
	require.Equal(t, n, total, "every attempt's result went through SettleAndClaim")
	st, err := s.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// TestSettlerGathers: a settler waits for a batch worth a call before
// calling the store, and no longer than its wait: results handed over one
// by one go together once there are enough, and a lone result is still
// settled when the wait ends.
func TestSettlerGathers(t *testing.T) {
	ctx := context.Background()
	s := newBatchingStore(t)
	d, err := New(s, &Config{Host: "example.tld", Workers: 2})
	require.NoError(t, err)
	w, err := d.CreateHook(ctx, &Webhook{UserID: "u", Name: "h", On: []Event{EventNote}, URL: "https://r.example/", Active: true})
	require.NoError(t, err)
	var ds []*Delivery
	for range 4 {
		ds = append(ds, &Delivery{ID: uuid.New(), HookID: w.ID, UserID: "u", Type: EventNote, Server: "https://example.tld",
			CreatedAt: time.Now(), Body: []byte(`{}`), State: StatePending, NextAttemptAt: time.Now()})
	}
	require.NoError(t, s.Enqueue(ctx, ds))
	cs, err := s.Claim(ctx, time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 4)

	st := newSettler(d, s, newPool(2, 2), ctx)
	st.batch, st.wait = 3, time.Hour // only a batch of 3 makes a call
	st.gathering = make(chan int, 1)
	go st.run()
	settled := make(chan int, 4)
	add := func(i int) {
		st.add(Result{ID: cs[i].Delivery.ID, HookID: w.ID, Lease: cs[i].Lease, State: StateDelivered,
			Attempt: Attempt{At: time.Now(), Status: 204}}, false, func() { settled <- i })
	}
	add(0)
	select {
	case n := <-st.gathering:
		require.Equal(t, 1, n)
	case i := <-settled:
		t.Fatalf("result %d settled alone", i)
	}
	add(1)
	add(2)
	require.ElementsMatch(t, []int{0, 1, 2}, []int{<-settled, <-settled, <-settled})
	st.close()

	// A lone result waits no longer than the wait.
	st = newSettler(d, s, newPool(2, 2), ctx)
	st.batch, st.wait = 100, time.Millisecond
	go st.run()
	add(3)
	require.Equal(t, 3, <-settled, "settled once the wait ended, before close")
	st.close()

	s.mu.Lock()
	defer s.mu.Unlock()
	var sizes []int
	for _, c := range s.calls {
		sizes = append(sizes, len(c))
	}
	require.Equal(t, []int{3, 1}, sizes)
}
