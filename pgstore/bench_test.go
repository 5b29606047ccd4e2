package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
	"github.com/fedihook/webhook/storetest"
)

// BenchmarkEnqueueClaimSettle measures the queue's throughput: producers
// emit (MatchHooks, then one Enqueue of the user's 4 deliveries) while
// consumers claim batches and settle each batch in one call, as a
// Dispatcher's workers do, all on one pool. One op is one delivery, from
// Enqueue to Settle; the deliveries/s metric is the end-to-end rate, and
// deliveries/claim how full the claims were. The server's fsync latency
// bounds it: every Enqueue, Claim and (merged) Settle is a durable commit.
//
//	FEDIHOOK_PG_DSN=... go test -run '^$' -bench EnqueueClaimSettle -benchtime 100000x
func BenchmarkEnqueueClaimSettle(b *testing.B) {
	for _, bc := range []struct{ producers, consumers, claim int }{
		{1, 1, 64},
		{4, 4, 64},
		{8, 8, 128},
	} {
		b.Run(fmt.Sprintf("producers=%d/consumers=%d/claim=%d", bc.producers, bc.consumers, bc.claim), func(b *testing.B) {
			benchEnqueueClaimSettle(b, bc.producers, bc.consumers, bc.claim)
		})
	}
}

func benchEnqueueClaimSettle(b *testing.B, producers, consumers, claimMax int) {
	ctx := context.Background()
	const users, hooksPerUser = 50, 4
	pool := newPool(b, func(c *pgxpool.Config) { c.MaxConns = int32(producers + consumers + 2) })
	s, err := pgstore.New(pool, &pgstore.Config{Schema: newSchema(b)})
	require.NoError(b, err)
	require.NoError(b, s.Migrate(ctx))
	for u := range users {
		for h := range hooksPerUser {
			w := testHook(fmt.Sprintf("h%03d-%d", u, h), fmt.Sprintf("user%03d", u))
			require.NoError(b, s.CreateHook(ctx, w, 0))
		}
	}
	body := []byte(`{"note":{"id":"9xyz","createdAt":"2025-03-04T05:06:07.891Z","text":"hello, world","userId":"user000","visibility":"public","reactionAcceptance":null,"reactionEmojis":{},"reactions":{},"reactionCount":0,"renoteCount":0,"repliesCount":0}}`)

	emits := (b.N + hooksPerUser - 1) / hooksPerUser
	total := emits * hooksPerUser
	var (
		nextEmit atomic.Int64
		nClaims  atomic.Int64
		settled  atomic.Int64
		wake     = make(chan struct{}, 1)
		done     = make(chan struct{})
		wg       sync.WaitGroup
		errs     = make(chan error, producers+consumers)
	)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range producers {
		wg.Go(func() {
			for {
				i := nextEmit.Add(1) - 1
				if i >= int64(emits) {
					return
				}
				userID := fmt.Sprintf("user%03d", i%users)
				hooks, err := s.MatchHooks(ctx, userID, webhook.EventNote)
				if err != nil {
					errs <- err
					return
				}
				ds := make([]*webhook.Delivery, len(hooks))
				for j, w := range hooks {
					ds[j] = &webhook.Delivery{
						ID: uuid.New(), HookID: w.ID, UserID: userID, Type: webhook.EventNote,
						Server: "https://example.tld", CreatedAt: t0, Body: body,
						State: webhook.StatePending, NextAttemptAt: t0,
					}
				}
				if err := s.Enqueue(ctx, ds); err != nil {
					errs <- err
					return
				}
				signal()
			}
		})
	}
	for range consumers {
		wg.Go(func() {
			for {
				cs, err := s.Claim(ctx, t0.Add(time.Second), claimMax, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if len(cs) == 0 {
					select {
					case <-done:
						return
					case <-wake:
						continue
					}
				}
				nClaims.Add(1)
				signal() // there may be more: let another consumer look
				rs := make([]webhook.Result, len(cs))
				for i, c := range cs {
					rs[i] = delivered(c, t0.Add(time.Second))
				}
				if err := s.Settle(ctx, rs); err != nil {
					errs <- err
					return
				}
				if settled.Add(int64(len(cs))) == int64(total) {
					close(done)
				}
			}
		})
	}
	select {
	case <-done:
	case err := <-errs:
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(total)/float64(nClaims.Load()), "deliveries/claim")
}

// BenchmarkOrdered: one Ordered webhook's deliveries per second through a
// started Dispatcher, each claimed once the one before is settled (in
// the same round trip, with SettleAndClaim).
//
//	FEDIHOOK_PG_DSN=... go test -run '^$' -bench Ordered -benchtime 1000x
func BenchmarkOrdered(b *testing.B) {
	storetest.BenchOrdered(b, newStore(b))
}
