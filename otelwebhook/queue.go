package otelwebhook

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"

	"github.com/fedihook/webhook"
)

// ObserveQueue reports s's queue (a store, such as a *webhook.MemoryStore)
// as the gauges webhook.queue.depth and webhook.queue.oldest_due_age,
// asking s for its QueueStats at each collection, with the collection's
// context. An error from s fails that collection's gauges: the reader's
// Collect returns it (a periodic reader hands it to otel's error
// handler). Observe one store per MeterProvider: the gauges carry no
// attribute to tell two apart. Call unregister to stop.
func (in *Instrumentation) ObserveQueue(s webhook.StatsReporter) (unregister func() error, err error) {
	if s == nil {
		return nil, fmt.Errorf("otelwebhook: ObserveQueue needs a webhook.StatsReporter, got nil")
	}
	reg, err := in.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		st, err := s.QueueStats(ctx)
		if err != nil {
			return fmt.Errorf("otelwebhook: reading queue stats: %w", err)
		}
		age := 0.0
		if !st.OldestDue.IsZero() {
			age = max(0, in.clock.Now().Sub(st.OldestDue).Seconds())
		}
		o.ObserveInt64(in.depth, st.Pending)
		o.ObserveFloat64(in.oldest, age)
		return nil
	}, in.depth, in.oldest)
	if err != nil {
		return nil, fmt.Errorf("otelwebhook: registering the queue gauges: %w", err)
	}
	return reg.Unregister, nil
}
