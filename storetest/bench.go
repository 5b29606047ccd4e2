package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// BenchOrdered measures one Ordered webhook's deliveries per second
// through a started Dispatcher over s, with a receiver that answers at
// once: each delivery may go only once the one before it is settled, so
// the figure is the store's settle-to-next-claim turnaround. The b.N
// events are emitted before the timer starts; it stops when the last is
// settled. It reports deliveries/s. s must hold no pending delivery.
//
//	func BenchmarkOrdered(b *testing.B) { storetest.BenchOrdered(b, newStore(b)) }
func BenchOrdered(b *testing.B, s webhook.Store) {
	ctx := context.Background()
	var settled atomic.Int64
	all := make(chan struct{})
	instant := webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) {
		return &webhook.Response{StatusCode: 204}, nil
	})
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: instant,
		OnAttempt: func(r webhook.AttemptReport) {
			if r.State == webhook.StateDelivered && settled.Add(1) == int64(b.N) {
				close(all)
			}
		}})
	require.NoError(b, err)
	w := newHook("ordered-bench")
	w.Ordered = true
	_, err = d.CreateHook(ctx, w)
	require.NoError(b, err)
	for i := range b.N {
		require.NoError(b, d.Emit(ctx, w.UserID, webhook.EventNote, map[string]int{"n": i}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	require.NoError(b, d.Start(ctx))
	<-all
	elapsed := time.Since(start)
	b.StopTimer()
	require.NoError(b, d.Shutdown(ctx))
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
