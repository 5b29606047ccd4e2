package otelwebhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/otelwebhook"
	"github.com/fedihook/webhook/webhooktest"
)

// harness is an Instrumentation over the SDK's in-memory reader and span
// recorder, with a fake clock.
type harness struct {
	inst   *otelwebhook.Instrumentation
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	clock  *webhooktest.Clock
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		reader: sdkmetric.NewManualReader(),
		spans:  tracetest.NewSpanRecorder(),
		clock:  webhooktest.NewClock(webhooktest.Epoch),
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		require.NoError(t, mp.Shutdown(context.Background()))
		require.NoError(t, h.tp.Shutdown(context.Background()))
	})
	inst, err := otelwebhook.New(&otelwebhook.Config{MeterProvider: mp, TracerProvider: h.tp, Clock: h.clock})
	require.NoError(t, err)
	h.inst = inst
	return h
}

// collected is one collection of the metrics, by name.
type collected map[string]metricdata.Metrics

func (h *harness) collect(t *testing.T) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	out := make(collected)
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, otelwebhook.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs returns the identity of the attribute set of event type typ and
// outcome.
func attrs(typ webhook.Event, outcome string) attribute.Distinct {
	s := attribute.NewSet(attribute.String("webhook.event.type", string(typ)), attribute.String("webhook.outcome", outcome))
	return s.Equivalent()
}

// counter returns the sums of counter name by attribute set.
func (c collected) counter(t *testing.T, name string) map[attribute.Distinct]int64 {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	require.True(t, sum.IsMonotonic, name)
	out := make(map[attribute.Distinct]int64)
	for _, dp := range sum.DataPoints {
		out[dp.Attributes.Equivalent()] += dp.Value
	}
	return out
}

// histogramCounts returns the counts of histogram name by attribute set.
func (c collected) histogramCounts(t *testing.T, name string) map[attribute.Distinct]uint64 {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	require.Equal(t, "s", m.Unit)
	hist, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	out := make(map[attribute.Distinct]uint64)
	for _, dp := range hist.DataPoints {
		out[dp.Attributes.Equivalent()] += dp.Count
	}
	return out
}

// gauge returns the single value of gauge name, which has no attributes.
func gauge[N int64 | float64](t *testing.T, c collected, name string) N {
	t.Helper()
	m, ok := c[name]
	require.True(t, ok, "no metric %s", name)
	g, ok := m.Data.(metricdata.Gauge[N])
	require.True(t, ok, "%s is a %T", name, m.Data)
	require.Len(t, g.DataPoints, 1, name)
	require.Zero(t, g.DataPoints[0].Attributes.Len(), name)
	return g.DataPoints[0].Value
}

// metricAttributeKeys returns every attribute key of every data point.
func (c collected) metricAttributeKeys() map[attribute.Key]bool {
	keys := make(map[attribute.Key]bool)
	add := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			keys[kv.Key] = true
		}
	}
	for _, m := range c {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				add(dp.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				add(dp.Attributes)
			}
		case metricdata.Gauge[int64]:
			for _, dp := range d.DataPoints {
				add(dp.Attributes)
			}
		case metricdata.Gauge[float64]:
			for _, dp := range d.DataPoints {
				add(dp.Attributes)
			}
		}
	}
	return keys
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value)
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

const (
	hookSecret = "s3cr3t-h00k-value"
	pathToken  = "p4th-t0ken"
	queryToken = "qu3ry-t0ken"
)

// TestDispatcher drives a real Dispatcher over a MemoryStore through the
// Instrumentation: one webhook answers 503 then 204, one 410 (it gives up
// and is disabled), one fails to connect then answers 204.
func TestDispatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	tr := webhooktest.NewTransport()
	d, err := webhook.New(store, &webhook.Config{
		Host:      "example.tld",
		Transport: h.inst.Transport(tr),
		Clock:     h.clock,
		RetryPolicy: webhook.RetryPolicyFunc(func(n int) (time.Duration, bool) {
			return time.Minute, n < 4
		}),
		OnAttempt: h.inst.OnAttempt,
		OnDisable: h.inst.OnDisable,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(context.Background())) })
	unregister, err := h.inst.ObserveQueue(store)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, unregister()) })

	create := func(id, url string, e webhook.Event) *webhook.Webhook {
		w, err := d.CreateHook(ctx, &webhook.Webhook{
			ID: id, UserID: "alice", Name: id, On: []webhook.Event{e},
			URL: url, Secret: hookSecret, Active: true,
		})
		require.NoError(t, err)
		return w
	}
	retried := create("hookretried", "https://a.receiver.test:8443/inbox/"+pathToken+"?key="+queryToken, webhook.EventNote)
	gone := create("hookgone", "https://b.receiver.test/gone/"+pathToken, webhook.EventNote)
	refused := create("hookrefused", "http://c.receiver.test/"+pathToken, webhook.EventFollow)
	tr.Script(retried.URL, webhooktest.Reply{Status: http.StatusServiceUnavailable})
	tr.Script(gone.URL, webhooktest.Reply{Status: http.StatusGone})
	tr.Script(refused.URL, webhooktest.Reply{Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}})

	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"text": "hello"}))
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventFollow, map[string]any{"id": "bob"}))
	h.clock.Advance(30 * time.Second)

	c := h.collect(t)
	require.Equal(t, int64(3), gauge[int64](t, c, "webhook.queue.depth"), "before draining")
	require.Equal(t, 30.0, gauge[float64](t, c, "webhook.queue.oldest_due_age"), "due 30 s ago")

	// First round: 503, 410, no connection.
	require.Equal(t, 3, webhooktest.Flush(t, d))
	c = h.collect(t)
	require.Equal(t, int64(2), gauge[int64](t, c, "webhook.queue.depth"), "two retries pending")
	require.Equal(t, 0.0, gauge[float64](t, c, "webhook.queue.oldest_due_age"), "nothing due yet")
	h.clock.Advance(90 * time.Second)
	c = h.collect(t)
	require.Equal(t, 30.0, gauge[float64](t, c, "webhook.queue.oldest_due_age"), "the retries fell due 30 s ago")

	// Second round: both retries answered 204.
	require.Equal(t, 2, webhooktest.Flush(t, d))
	c = h.collect(t)
	require.Equal(t, int64(0), gauge[int64](t, c, "webhook.queue.depth"), "after draining")
	require.Equal(t, 0.0, gauge[float64](t, c, "webhook.queue.oldest_due_age"), "empty")

	note, follow := webhook.EventNote, webhook.EventFollow
	require.Equal(t, map[attribute.Distinct]int64{
		attrs(note, "retry"):       1,
		attrs(note, "delivered"):   1,
		attrs(note, "failed"):      1,
		attrs(follow, "retry"):     1,
		attrs(follow, "delivered"): 1,
	}, c.counter(t, "webhook.attempts"))
	require.Equal(t, map[attribute.Distinct]int64{
		attrs(note, "delivered"):   1,
		attrs(note, "gave_up"):     1,
		attrs(follow, "delivered"): 1,
	}, c.counter(t, "webhook.deliveries"))
	require.Equal(t, map[attribute.Distinct]int64{
		attribute.EmptySet().Equivalent(): 1,
	}, c.counter(t, "webhook.disabled"))
	require.Equal(t, map[attribute.Distinct]uint64{
		attrs(note, "retry"):       1,
		attrs(note, "delivered"):   1,
		attrs(note, "failed"):      1,
		attrs(follow, "retry"):     1,
		attrs(follow, "delivered"): 1,
	}, c.histogramCounts(t, "webhook.attempt.duration"))
	require.Equal(t, map[attribute.Key]bool{"webhook.event.type": true, "webhook.outcome": true},
		c.metricAttributeKeys(), "no metric carries a webhook's ID")

	// Spans: one per attempt, in each webhook's order.
	ended := h.spans.Ended()
	require.Len(t, ended, 5)
	byHook := make(map[string][]sdktrace.ReadOnlySpan)
	for _, s := range ended {
		require.Equal(t, "webhook.deliver", s.Name())
		require.Equal(t, trace.SpanKindClient, s.SpanKind())
		require.Equal(t, otelwebhook.ScopeName, s.InstrumentationScope().Name)
		a := spanAttrs(s)
		require.Equal(t, "POST", a["http.request.method"].AsString())
		id := a["webhook.hook.id"].AsString()
		byHook[id] = append(byHook[id], s)
		for _, kv := range s.Attributes() {
			v := kv.Value.String()
			for _, leak := range []string{hookSecret, pathToken, queryToken, "/inbox", "/gone"} {
				require.NotContains(t, v, leak, "attribute %s", kv.Key)
			}
		}
		require.NotContains(t, s.Status().Description, pathToken)
		require.Empty(t, s.Events(), "no error message is recorded")
	}
	sent := make(map[string][]webhooktest.Received)
	for _, r := range tr.Requests() {
		sent[r.Payload.HookID] = append(sent[r.Payload.HookID], r)
	}
	type want struct {
		attempt    int64
		status     int64 // 0: no attribute
		errorType  string
		code       codes.Code
		desc       string
		eventType  string
		address    string
		port       int64
		requestIdx int
	}
	for hook, wants := range map[string][]want{
		retried.ID: {
			{attempt: 1, status: 503, errorType: "503", code: codes.Error, desc: "HTTP 503", eventType: "note", address: "a.receiver.test", port: 8443},
			{attempt: 2, status: 204, code: codes.Unset, eventType: "note", address: "a.receiver.test", port: 8443, requestIdx: 1},
		},
		gone.ID: {
			{attempt: 1, status: 410, errorType: "410", code: codes.Error, desc: "HTTP 410", eventType: "note", address: "b.receiver.test", port: 443},
		},
		refused.ID: {
			{attempt: 1, errorType: "connection", code: codes.Error, desc: "no response: connection", eventType: "follow", address: "c.receiver.test", port: 80},
			{attempt: 2, status: 204, code: codes.Unset, eventType: "follow", address: "c.receiver.test", port: 80, requestIdx: 1},
		},
	} {
		spans := byHook[hook]
		require.Len(t, spans, len(wants), hook)
		for i, w := range wants {
			s, a := spans[i], spanAttrs(spans[i])
			require.Equal(t, w.attempt, a["webhook.attempt"].AsInt64(), hook)
			require.Equal(t, w.eventType, a["webhook.event.type"].AsString(), hook)
			require.Equal(t, sent[hook][w.requestIdx].Payload.EventID, a["webhook.event.id"].AsString(), hook)
			require.Equal(t, w.address, a["server.address"].AsString(), hook)
			require.Equal(t, w.port, a["server.port"].AsInt64(), hook)
			status, ok := a["http.response.status_code"]
			require.Equal(t, w.status != 0, ok, hook)
			require.Equal(t, w.status, status.AsInt64(), hook)
			require.Equal(t, w.errorType, a["error.type"].AsString(), hook)
			require.Equal(t, w.code, s.Status().Code, hook)
			require.Equal(t, w.desc, s.Status().Description, hook)
		}
	}
}
