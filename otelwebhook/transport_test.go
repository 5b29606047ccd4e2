package otelwebhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/otelwebhook"
	"github.com/fedihook/webhook/webhooktest"
)

func newRequest(url string) *webhook.Request {
	return &webhook.Request{
		URL:    url,
		Header: http.Header{"X-Misskey-Hook-Secret": {hookSecret}},
		Body:   []byte(`{}`),
		HookID: "hook1", Type: webhook.EventNote, EventID: uuid.New(), Attempt: 3,
	}
}

// TestTransportPassesThrough checks that the wrapped Transport gets the
// request and a context holding the attempt's span, a child of the
// caller's, and that its response and error come back unchanged.
func TestTransportPassesThrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	req := newRequest("https://r.test/x")
	resp := &webhook.Response{StatusCode: 202, Body: []byte("ok")}
	sendErr := errors.New("some error")
	var inner trace.SpanContext
	tr := h.inst.Transport(webhook.TransportFunc(func(ctx context.Context, got *webhook.Request) (*webhook.Response, error) {
		require.Same(t, req, got)
		inner = trace.SpanContextFromContext(ctx)
		if got.Attempt == 4 {
			return nil, sendErr
		}
		return resp, nil
	}))

	parentCtx, parent := h.tp.Tracer("test").Start(context.Background(), "parent")
	got, err := tr.Send(parentCtx, req)
	parent.End()
	require.NoError(t, err)
	require.Same(t, resp, got)

	ended := h.spans.Ended()
	require.Len(t, ended, 2)
	deliver := ended[0]
	require.Equal(t, "webhook.deliver", deliver.Name())
	require.Equal(t, inner, deliver.SpanContext(), "the wrapped Transport runs in the attempt's span")
	require.Equal(t, parent.SpanContext().SpanID(), deliver.Parent().SpanID())
	require.Equal(t, parent.SpanContext().TraceID(), deliver.SpanContext().TraceID())
	require.Equal(t, codes.Unset, deliver.Status().Code, "202 is delivered")
	a := spanAttrs(deliver)
	require.Equal(t, int64(202), a["http.response.status_code"].AsInt64())
	require.Equal(t, "hook1", a["webhook.hook.id"].AsString())
	require.Equal(t, req.EventID.String(), a["webhook.event.id"].AsString())
	require.Equal(t, int64(3), a["webhook.attempt"].AsInt64())

	req.Attempt = 4
	got, err = tr.Send(context.Background(), req)
	require.Same(t, sendErr, err)
	require.Nil(t, got)
	ended = h.spans.Ended()
	require.Len(t, ended, 3)
	require.False(t, ended[2].Parent().IsValid(), "a root span without a parent")
	require.Equal(t, codes.Error, ended[2].Status().Code)
	require.Equal(t, "no response: _OTHER", ended[2].Status().Description)

	c := h.collect(t)
	require.Equal(t, map[attribute.Distinct]uint64{
		attrs(webhook.EventNote, "delivered"): 1,
		attrs(webhook.EventNote, "retry"):     1,
	}, c.histogramCounts(t, "webhook.attempt.duration"))
}

// TestTransportInterrupted checks that an attempt cut short by the end of
// the Dispatcher's context has its span but no duration, as the
// Dispatcher does not count it.
func TestTransportInterrupted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	tr := h.inst.Transport(webhook.TransportFunc(func(ctx context.Context, _ *webhook.Request) (*webhook.Response, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	_, err := tr.Send(ctx, newRequest("https://r.test/x"))
	require.ErrorIs(t, err, context.Canceled)
	ended := h.spans.Ended()
	require.Len(t, ended, 1)
	require.Equal(t, codes.Error, ended[0].Status().Code)
	require.Equal(t, "canceled", spanAttrs(ended[0])["error.type"].AsString())
	c := h.collect(t)
	if m, ok := c["webhook.attempt.duration"]; ok {
		require.Empty(t, m.Data.(metricdata.Histogram[float64]).DataPoints, "no duration recorded")
	}
}

// TestTransportNoResponse checks a Transport that returns neither a
// response nor an error: the Dispatcher treats that as a failure to
// retry, and so do the span and the histogram.
func TestTransportNoResponse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tr := h.inst.Transport(webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) {
		return nil, nil
	}))
	resp, err := tr.Send(context.Background(), newRequest("https://r.test/x"))
	require.NoError(t, err)
	require.Nil(t, resp)
	ended := h.spans.Ended()
	require.Len(t, ended, 1)
	require.Equal(t, codes.Error, ended[0].Status().Code)
	require.Equal(t, map[attribute.Distinct]uint64{attrs(webhook.EventNote, "retry"): 1},
		h.collect(t).histogramCounts(t, "webhook.attempt.duration"))
}

func TestTransportNilPanics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	require.PanicsWithValue(t, "otelwebhook: Instrumentation.Transport needs a Transport to wrap, got nil", func() {
		h.inst.Transport(nil)
	})
}

// TestTransportForwardsRequestPromises checks that the wrapper keeps the
// Dispatcher's request reuse and shared requests for a Transport that
// forgets and shares its requests, and claims neither for one that may
// keep or modify them.
func TestTransportForwardsRequestPromises(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	httpT, err := webhook.NewHTTPTransport(nil)
	require.NoError(t, err)
	t.Cleanup(httpT.CloseIdleConnections)
	for _, tc := range []struct {
		name string
		next webhook.Transport
		want bool
	}{
		{"HTTPTransport", httpT, true},
		{"a TransportFunc", webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) {
			return nil, errors.New("unused")
		}), false},
		{"a wrapped HTTPTransport", h.inst.Transport(httpT), true},
	} {
		wrapped := h.inst.Transport(tc.next)
		f, ok := wrapped.(webhook.RequestForgetter)
		require.True(t, ok, tc.name)
		require.Equal(t, tc.want, f.ForgetsRequests(), tc.name+": forgets")
		s, ok := wrapped.(webhook.RequestSharer)
		require.True(t, ok, tc.name)
		require.Equal(t, tc.want, s.SharesRequests(), tc.name+": shares")
	}
}

// TestHTTPTransport wraps a real HTTPTransport: a receiver's answer, a
// refused connection, and an address the private-network guard blocks.
func TestHTTPTransport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	open, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{DisableGuard: true})
	require.NoError(t, err)
	defer open.CloseIdleConnections()
	guarded, err := webhook.NewHTTPTransport(nil)
	require.NoError(t, err)
	defer guarded.CloseIdleConnections()

	resp, err := h.inst.Transport(open).Send(context.Background(), newRequest(srv.URL+"/inbox/"+pathToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	_, err = h.inst.Transport(open).Send(context.Background(), newRequest(closedURL+"/inbox/"+pathToken))
	require.Error(t, err)
	_, err = h.inst.Transport(guarded).Send(context.Background(), newRequest(srv.URL+"/inbox/"+pathToken))
	require.ErrorIs(t, err, webhook.ErrBlockedAddress)

	ended := h.spans.Ended()
	require.Len(t, ended, 3)
	for i, want := range []struct {
		status    int64
		errorType string
	}{{429, "429"}, {0, "connection"}, {0, "blocked_address"}} {
		a := spanAttrs(ended[i])
		require.Equal(t, "127.0.0.1", a["server.address"].AsString())
		require.Equal(t, want.status, a["http.response.status_code"].AsInt64())
		require.Equal(t, want.errorType, a["error.type"].AsString())
		require.Equal(t, codes.Error, ended[i].Status().Code)
		for _, kv := range ended[i].Attributes() {
			require.NotContains(t, kv.Value.String(), pathToken)
		}
	}
	require.Equal(t, map[attribute.Distinct]uint64{
		attrs(webhook.EventNote, "retry"):  2,
		attrs(webhook.EventNote, "failed"): 1,
	}, h.collect(t).histogramCounts(t, "webhook.attempt.duration"))
}

// TestTestHook checks that a Dispatcher's test send is traced and
// measured, as attempt 0, without counting an attempt.
func TestTestHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	tr := webhooktest.NewTransport()
	d, err := webhook.New(nil, &webhook.Config{
		Host: "example.tld", Transport: h.inst.Transport(tr), Clock: h.clock, OnAttempt: h.inst.OnAttempt,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(context.Background())) })
	hook := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	res, err := d.TestHook(ctx, hook.ID, webhook.EventNote, nil)
	require.NoError(t, err)
	require.NoError(t, res.Err)

	ended := h.spans.Ended()
	require.Len(t, ended, 1)
	a := spanAttrs(ended[0])
	require.Equal(t, int64(0), a["webhook.attempt"].AsInt64())
	require.Equal(t, hook.ID, a["webhook.hook.id"].AsString())
	require.Equal(t, res.EventID.String(), a["webhook.event.id"].AsString())
	c := h.collect(t)
	require.Equal(t, map[attribute.Distinct]uint64{attrs(webhook.EventNote, "delivered"): 1},
		c.histogramCounts(t, "webhook.attempt.duration"))
	require.NotContains(t, c, "webhook.attempts", "a test send is no attempt of a delivery")
}

// TestNilConfig checks that New(nil) uses the otel globals, no-ops until
// a host sets them, and that everything works on them.
func TestNilConfig(t *testing.T) {
	t.Parallel()
	in, err := otelwebhook.New(nil)
	require.NoError(t, err)
	resp, err := in.Transport(webhooktest.NewTransport()).Send(context.Background(), newRequest("https://r.test/x"))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	in.OnAttempt(webhook.AttemptReport{Attempt: 1, State: webhook.StateDelivered})
	in.OnDisable(&webhook.Webhook{ID: "h"}, webhook.ErrDisabled)
	store, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	unregister, err := in.ObserveQueue(store)
	require.NoError(t, err)
	require.NoError(t, unregister())
}
