package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
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
