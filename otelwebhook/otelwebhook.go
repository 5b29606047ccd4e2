package otelwebhook

import (
	"fmt"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fedihook/webhook"
)

// ScopeName is the name of the Meter and Tracer the instruments and spans
// belong to.
const ScopeName = "github.com/fedihook/webhook/otelwebhook"

// Metric names.
const (
	metricAttempts    = "webhook.attempts"
	metricDeliveries  = "webhook.deliveries"
	metricDuration    = "webhook.attempt.duration"
	metricDisabled    = "webhook.disabled"
	metricQueueDepth  = "webhook.queue.depth"
	metricQueueOldest = "webhook.queue.oldest_due_age"
	spanName          = "webhook.deliver"
)

// Attribute keys of our own; the others are OpenTelemetry's semantic
// conventions.
const (
	keyHookID    = attribute.Key("webhook.hook.id")
	keyEventType = attribute.Key("webhook.event.type")
	keyEventID   = attribute.Key("webhook.event.id")
	keyAttempt   = attribute.Key("webhook.attempt")
	keyOutcome   = attribute.Key("webhook.outcome")
)

// Outcomes, the values of webhook.outcome.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeFailed    = "failed"
	outcomeGaveUp    = "gave_up"
)

// durationBuckets are the bucket boundaries of webhook.attempt.duration,
// in seconds: those the semantic conventions advise for HTTP client
// durations, and a few more for receivers given a long timeout.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15, 30, 60}

// Config configures an [Instrumentation]. Its zero value, like a nil
// *Config, uses the otel globals and the system clock.
type Config struct {
	// MeterProvider provides the Meter of the metrics. Defaults to
	// otel.GetMeterProvider(), the global one (a no-op until the host
	// sets one).
	MeterProvider metric.MeterProvider
	// TracerProvider provides the Tracer of the spans. Defaults to
	// otel.GetTracerProvider(), the global one (a no-op until the host
	// sets one).
	TracerProvider trace.TracerProvider
	// Clock tells the time of attempt durations and of the queue's
	// oldest-due age; give it the Dispatcher's Clock. Defaults to
	// [webhook.SystemClock].
	Clock webhook.Clock
}

// An Instrumentation records the metrics and spans of one Dispatcher (or
// of several that share a store). Make one with [New]. Its methods are
// safe for concurrent use.
type Instrumentation struct {
	meter  metric.Meter
	tracer trace.Tracer
	clock  webhook.Clock

	attempts   metric.Int64Counter
	deliveries metric.Int64Counter
	duration   metric.Float64Histogram
	disabled   metric.Int64Counter
	depth      metric.Int64ObservableGauge
	oldest     metric.Float64ObservableGauge

	// sets caches the attribute options of metrics by event type and
	// outcome, for Misskey's events only: others are not cached, so the
	// cache stays small whatever a store holds.
	sets sync.Map // setKey → metric.MeasurementOption
}

type setKey struct {
	typ     webhook.Event
	outcome string
}

// New returns an Instrumentation that creates its instruments with
// cfg.MeterProvider and its spans with cfg.TracerProvider. A nil cfg
// means the defaults.
func New(cfg *Config) (*Instrumentation, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.MeterProvider == nil {
		c.MeterProvider = otel.GetMeterProvider()
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.Clock == nil {
		c.Clock = webhook.SystemClock{}
	}
	in := &Instrumentation{
		meter:  c.MeterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)),
		tracer: c.TracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		clock:  c.Clock,
	}
	var err error
	if in.attempts, err = in.meter.Int64Counter(metricAttempts,
		metric.WithDescription("Webhook delivery attempts made, by outcome and event type."),
		metric.WithUnit("{attempt}")); err != nil {
		return nil, instrumentError(metricAttempts, err)
	}
	if in.deliveries, err = in.meter.Int64Counter(metricDeliveries,
		metric.WithDescription("Webhook deliveries finished, by final outcome and event type."),
		metric.WithUnit("{delivery}")); err != nil {
		return nil, instrumentError(metricDeliveries, err)
	}
	if in.duration, err = in.meter.Float64Histogram(metricDuration,
		metric.WithDescription("Duration of webhook delivery attempts, by outcome and event type."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, instrumentError(metricDuration, err)
	}
	if in.disabled, err = in.meter.Int64Counter(metricDisabled,
		metric.WithDescription("Webhooks set inactive by the Dispatcher."),
		metric.WithUnit("{webhook}")); err != nil {
		return nil, instrumentError(metricDisabled, err)
	}
	if in.depth, err = in.meter.Int64ObservableGauge(metricQueueDepth,
		metric.WithDescription("Webhook deliveries pending in the store, in flight included."),
		metric.WithUnit("{delivery}")); err != nil {
		return nil, instrumentError(metricQueueDepth, err)
	}
	if in.oldest, err = in.meter.Float64ObservableGauge(metricQueueOldest,
		metric.WithDescription("How long the earliest due pending webhook delivery has been due."),
		metric.WithUnit("s")); err != nil {
		return nil, instrumentError(metricQueueOldest, err)
	}
	return in, nil
}

func instrumentError(name string, err error) error {
	return fmt.Errorf("otelwebhook: creating instrument %s: %w", name, err)
}

// attrs returns the measurement option of the attributes event type e
// and outcome.
func (in *Instrumentation) attrs(e webhook.Event, outcome string) metric.MeasurementOption {
	k := setKey{e, outcome}
	if o, ok := in.sets.Load(k); ok {
		return o.(metric.MeasurementOption)
	}
	o := metric.WithAttributeSet(attribute.NewSet(keyEventType.String(string(e)), keyOutcome.String(outcome)))
	if e.Valid() {
		in.sets.Store(k, o)
	}
	return o
}
