package otelwebhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/otelwebhook"
	"github.com/fedihook/webhook/webhooktest"
)

// This example instruments a Dispatcher whose receiver answers 503 to
// the first attempt: the metrics are read with the SDK's manual reader
// and the spans with its span recorder, where a host would export them.
func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)

	inst, err := otelwebhook.New(&otelwebhook.Config{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	store, err := webhook.NewMemoryStore(nil)
	if err != nil {
		log.Fatal(err)
	}
	receiver := webhooktest.NewTransport() // a webhook.NewHTTPTransport in production
	d, err := webhook.New(store, &webhook.Config{
		Host:      "example.tld",
		Transport: inst.Transport(receiver),
		// Retry at once, for the example.
		RetryPolicy: webhook.RetryPolicyFunc(func(int) (time.Duration, bool) { return 0, true }),
		OnAttempt:   inst.OnAttempt,
		OnDisable:   inst.OnDisable,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Shutdown(ctx)
	unregister, err := inst.ObserveQueue(store)
	if err != nil {
		log.Fatal(err)
	}
	defer unregister()

	hook, err := d.CreateHook(ctx, &webhook.Webhook{
		UserID: "alice", Name: "notes", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.example/inbox", Secret: "secret", Active: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	receiver.Script(hook.URL, webhooktest.Reply{Status: http.StatusServiceUnavailable})
	if err := d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"text": "hello"}); err != nil {
		log.Fatal(err)
	}
	printMetrics(ctx, reader)
	if _, err := d.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	printMetrics(ctx, reader)
	for _, s := range spans.Ended() {
		fmt.Println("span", s.Name(), s.Status().Code, s.Status().Description)
	}
	// Output:
	// webhook.queue.depth 1
	// webhook.attempt.duration{webhook.event.type=note,webhook.outcome=delivered} count 1
	// webhook.attempt.duration{webhook.event.type=note,webhook.outcome=retry} count 1
	// webhook.attempts{webhook.event.type=note,webhook.outcome=delivered} 1
	// webhook.attempts{webhook.event.type=note,webhook.outcome=retry} 1
	// webhook.deliveries{webhook.event.type=note,webhook.outcome=delivered} 1
	// webhook.queue.depth 0
	// span webhook.deliver Error HTTP 503
	// span webhook.deliver Unset
}

// printMetrics prints the counters' and gauges' values and the
// histograms' counts, one data point a line, in a stable order.
func printMetrics(ctx context.Context, reader *sdkmetric.ManualReader) {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value))
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} count %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Count))
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					lines = append(lines, fmt.Sprintf("%s %d", m.Name, dp.Value))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}
