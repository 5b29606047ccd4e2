package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/storetest"
)

// BenchmarkMatchHooks100k matches one user's webhooks for an event among
// 100,000 webhooks of 33,334 users.
func BenchmarkMatchHooks100k(b *testing.B) {
	ctx := context.Background()
	s, _ := newStore(b, nil)
	const users, perUser = 33_334, 3
	events := webhook.UserEvents()
	// Created by 16 goroutines, so that the Store groups the inserts.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(1, uint64(g)))
			for u := g; u < users; u += 16 {
				for h := range perUser {
					on := []webhook.Event{webhook.EventNote}
					for _, e := range events {
						if e != webhook.EventNote && rnd.IntN(3) == 0 {
							on = append(on, e)
						}
					}
					w := &webhook.Webhook{ID: fmt.Sprintf("h%d-%d", u, h), UserID: fmt.Sprintf("user%d", u), Name: "h",
						On: on, URL: "https://receiver.example/x", Secret: "s", Active: h != 2 || u%2 == 0}
					if err := s.CreateHook(ctx, w, 0); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		hooks, err := s.MatchHooks(ctx, fmt.Sprintf("user%d", (i*7919)%users), webhook.EventNote)
		if err != nil || len(hooks) < 2 {
			b.Fatalf("MatchHooks: %d hooks, %v", len(hooks), err)
		}
	}
}

// BenchmarkEnqueueClaimSettle pushes b.N deliveries through the store with
// durable commits (synchronous=FULL), as a Dispatcher would: 4 goroutines
// emit events that fan out to 3 webhooks each (one ~1 KB body shared),
// while 4 workers claim up to 32 due deliveries at a time and settle them,
// all at once ("batch") or one Settle call per delivery from a goroutine
// each, as the Dispatcher does ("single"). Concurrent writes share
// transactions; deliveries/s counts from the first Enqueue to the last
// Settle.
func BenchmarkEnqueueClaimSettle(b *testing.B) {
	for _, mode := range []string{"batch", "single"} {
		b.Run(mode, func(b *testing.B) { benchEnqueueClaimSettle(b, mode == "single") })
	}
}

func benchEnqueueClaimSettle(b *testing.B, single bool) {
	ctx := context.Background()
	s, _ := newStore(b, nil)
	const users, fanout, emitters, workers, batch = 100, 3, 4, 4, 32
	hooks := make([][]*webhook.Webhook, users)
	for u := range users {
		for range fanout {
			hooks[u] = append(hooks[u], createHook(b, s, fmt.Sprintf("user%d", u), webhook.EventNote))
		}
	}
	body := []byte(`{"note":{"text":"` + strings.Repeat("x", 1000) + `"}}`)
	emits := (b.N + fanout - 1) / fanout
	n := emits * fanout

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var (
		next     atomic.Int64
		settled  atomic.Int64
		emitting sync.WaitGroup
		working  sync.WaitGroup
		wake     = make(chan struct{}, 1)
		emitted  = make(chan struct{})
		failed   = make(chan error, emitters+workers)
	)
	for range emitters {
		emitting.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(emits) {
					return
				}
				hs := hooks[i%users]
				body := append([]byte(nil), body...)
				ds := make([]*webhook.Delivery, len(hs))
				for j, h := range hs {
					ds[j] = &webhook.Delivery{ID: uuid.New(), HookID: h.ID, UserID: h.UserID, Type: webhook.EventNote,
						Server: "https://example.tld", CreatedAt: t0, Body: body, State: webhook.StatePending, NextAttemptAt: t0}
				}
				if err := s.Enqueue(ctx, ds); err != nil {
					failed <- err
					return
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		})
	}
	for range workers {
		working.Go(func() {
			for {
				var last bool // no Enqueue is left to come
				select {
				case <-emitted:
					last = true
				default:
				}
				cs, err := s.Claim(ctx, t0, batch, time.Minute)
				if err != nil {
					failed <- err
					return
				}
				if len(cs) == 0 {
					if last {
						return
					}
					select {
					case <-wake:
					case <-emitted:
					}
					continue
				}
				rs := make([]webhook.Result, len(cs))
				for i, c := range cs {
					rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
						State: webhook.StateDelivered, Attempt: webhook.Attempt{At: t0, Status: 204}}
				}
				if !single {
					err = s.Settle(ctx, rs)
				} else {
					var wg sync.WaitGroup
					errs := make([]error, len(rs))
					for i := range rs {
						wg.Go(func() { errs[i] = s.Settle(ctx, rs[i:i+1]) })
					}
					wg.Wait()
					err = errors.Join(errs...)
				}
				if err != nil {
					failed <- err
					return
				}
				settled.Add(int64(len(cs)))
			}
		})
	}
	emitting.Wait()
	close(emitted)
	working.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(failed)
	for err := range failed {
		b.Fatal(err)
	}
	if settled.Load() != int64(n) {
		b.Fatalf("settled %d of %d", settled.Load(), n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkDispatcher pushes b.N deliveries through a started Dispatcher
// over the store, with durable commits, as `fedihook bench` does but
// without HTTP (a Transport that answers 204 at once): 32 goroutines emit
// notes of ~1 KiB to one webhook each of 100 users, 32 workers deliver.
// On Linux it reports the write system calls and the bytes written to
// storage per delivery (the WAL's frames, two calls each, and the
// checkpoints), and the fsyncs are the commits.
func BenchmarkDispatcher(b *testing.B) {
	ctx := context.Background()
	s, _ := newStore(b, nil)
	var (
		delivered atomic.Int64
		room      = make(chan struct{}, 1024) // at most 1024 undelivered, as the bench's saturation
		all       = make(chan struct{})
	)
	tr := webhook.TransportFunc(func(_ context.Context, _ *webhook.Request) (*webhook.Response, error) {
		<-room
		if delivered.Add(1) == int64(b.N) {
			close(all)
		}
		return &webhook.Response{StatusCode: 204}, nil
	})
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: tr, Workers: 32})
	require.NoError(b, err)
	const users = 100
	for u := range users {
		_, err := d.CreateHook(ctx, &webhook.Webhook{UserID: fmt.Sprintf("user%d", u), Name: "bench",
			On: []webhook.Event{webhook.EventNote}, URL: "https://receiver.test/hook", Secret: "s", Active: true})
		require.NoError(b, err)
	}
	body := map[string]any{"note": map[string]any{"id": "9k2m4q8z7x", "text": strings.Repeat("x", 1000)}}
	require.NoError(b, d.Start(ctx))
	defer func() { require.NoError(b, d.Shutdown(ctx)) }()

	io0 := procIO()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errs  = make(chan error, 32)
		total = int64(b.N)
	)
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				room <- struct{}{}
				if err := d.Emit(ctx, fmt.Sprintf("user%d", i%users), webhook.EventNote, body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	<-all
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
	if io1 := procIO(); io0 != nil && io1 != nil {
		b.ReportMetric(float64(io1["syscw"]-io0["syscw"])/float64(total), "writes/op")
		b.ReportMetric(float64(io1["write_bytes"]-io0["write_bytes"])/float64(total), "disk-B/op")
	}
}

// procIO reads /proc/self/io, nil where there is none.
func procIO() map[string]int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return nil
	}
	m := make(map[string]int64)
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			m[k] = n
		}
	}
	return m
}

// BenchmarkOrdered: one Ordered webhook's deliveries per second through a
// started Dispatcher, each claimed once the one before is settled.
//
//	go test -run '^$' -bench Ordered -benchtime 1000x
func BenchmarkOrdered(b *testing.B) {
	s, _ := newStore(b, nil)
	storetest.BenchOrdered(b, s)
}
