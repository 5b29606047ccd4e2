package otelwebhook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// statsFunc adapts a function to a webhook.StatsReporter.
type statsFunc func(context.Context) (webhook.QueueStats, error)

func (f statsFunc) QueueStats(ctx context.Context) (webhook.QueueStats, error) { return f(ctx) }

func TestObserveQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var (
		stats webhook.QueueStats
		err   error
		calls int
	)
	unregister, regErr := h.inst.ObserveQueue(statsFunc(func(ctx context.Context) (webhook.QueueStats, error) {
		require.NotNil(t, ctx)
		calls++
		return stats, err
	}))
	require.NoError(t, regErr)

	stats = webhook.QueueStats{Pending: 7, OldestDue: webhooktest.Epoch.Add(-1500 * time.Millisecond)}
	c := h.collect(t)
	require.Equal(t, int64(7), gauge[int64](t, c, "webhook.queue.depth"))
	require.Equal(t, 1.5, gauge[float64](t, c, "webhook.queue.oldest_due_age"))
	require.Equal(t, "{delivery}", c["webhook.queue.depth"].Unit)
	require.Equal(t, "s", c["webhook.queue.oldest_due_age"].Unit)

	stats = webhook.QueueStats{Pending: 1, OldestDue: webhooktest.Epoch.Add(time.Hour)}
	c = h.collect(t)
	require.Equal(t, 0.0, gauge[float64](t, c, "webhook.queue.oldest_due_age"), "due in the future")

	err = errors.New("database is down")
	var rm metricdata.ResourceMetrics
	require.ErrorContains(t, h.reader.Collect(context.Background(), &rm), "otelwebhook: reading queue stats: database is down")
	require.Equal(t, 3, calls)

	require.NoError(t, unregister())
	err = nil
	c = h.collect(t)
	require.Equal(t, 3, calls, "not asked after unregister")
	for _, name := range []string{"webhook.queue.depth", "webhook.queue.oldest_due_age"} {
		if m, ok := c[name]; ok {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				require.Empty(t, d.DataPoints, name)
			case metricdata.Gauge[float64]:
				require.Empty(t, d.DataPoints, name)
			}
		}
	}
}

func TestObserveQueueNil(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	unregister, err := h.inst.ObserveQueue(nil)
	require.EqualError(t, err, "otelwebhook: ObserveQueue needs a webhook.StatsReporter, got nil")
	require.Nil(t, unregister)
}

// TestOnAttemptWithoutDelivery checks that a report without its Delivery
// (a host calling OnAttempt itself) is counted under an empty event type
// rather than panicking.
func TestOnAttemptWithoutDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.inst.OnAttempt(webhook.AttemptReport{Attempt: 1, State: webhook.StatePending})
	require.Equal(t, int64(1), h.collect(t).counter(t, "webhook.attempts")[attrs("", "retry")])
}
