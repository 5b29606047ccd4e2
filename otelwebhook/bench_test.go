package otelwebhook_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/otelwebhook"
)

// benchInstrumentation returns an Instrumentation over the SDK, sampling
// every span, as a host exporting everything would.
func benchInstrumentation(b *testing.B) *otelwebhook.Instrumentation {
	b.Helper()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	in, err := otelwebhook.New(&otelwebhook.Config{MeterProvider: mp, TracerProvider: tp})
	require.NoError(b, err)
	return in
}

// BenchmarkTransport measures what the Transport adds to an attempt: a
// span and a histogram measurement around a Transport that answers at
// once.
func BenchmarkTransport(b *testing.B) {
	resp := &webhook.Response{StatusCode: 204}
	next := webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) { return resp, nil })
	req := &webhook.Request{
		URL: "https://receiver.example:8443/inbox", HookID: "hook1",
		Type: webhook.EventNote, EventID: uuid.New(), Attempt: 1,
	}
	for _, bc := range []struct {
		name string
		in   func(b *testing.B) *otelwebhook.Instrumentation
	}{
		{"noop", func(b *testing.B) *otelwebhook.Instrumentation {
			in, err := otelwebhook.New(nil)
			require.NoError(b, err)
			return in
		}},
		{"sdk", benchInstrumentation},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := bc.in(b).Transport(next)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Send(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOnAttempt measures the counters of one finished attempt.
func BenchmarkOnAttempt(b *testing.B) {
	in := benchInstrumentation(b)
	r := webhook.AttemptReport{
		Delivery: &webhook.Delivery{HookID: "hook1", Type: webhook.EventNote},
		Attempt:  1, Status: 204, State: webhook.StateDelivered,
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in.OnAttempt(r)
		}
	})
}
