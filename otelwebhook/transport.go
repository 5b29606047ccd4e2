package otelwebhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fedihook/webhook"
)

// Transport returns a Transport that sends through next, recording each
// attempt as a span and in the webhook.attempt.duration histogram. It
// changes neither the request nor the answer. It panics if next is nil:
// to trace the default transport, wrap one made by
// [webhook.NewHTTPTransport] (and close its idle connections after the
// Dispatcher's Shutdown, which closes only a transport it made itself).
func (in *Instrumentation) Transport(next webhook.Transport) webhook.Transport {
	if next == nil {
		panic("otelwebhook: Instrumentation.Transport needs a Transport to wrap, got nil")
	}
	return &transport{next: next, in: in}
}

var (
	_ webhook.RequestForgetter = (*transport)(nil)
	_ webhook.RequestSharer    = (*transport)(nil)
)

type transport struct {
	next webhook.Transport
	in   *Instrumentation
}

// Send implements [webhook.Transport].
func (t *transport) Send(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
	if req == nil {
		return t.next.Send(ctx, req)
	}
	attrs := make([]attribute.KeyValue, 0, 9)
	attrs = append(attrs,
		keyHookID.String(req.HookID),
		keyEventType.String(string(req.Type)),
		keyEventID.String(req.EventID.String()),
		keyAttempt.Int(req.Attempt),
		semconv.HTTPRequestMethodPost,
	)
	attrs = appendServer(attrs, req.URL)
	ctx, span := t.in.tracer.Start(ctx, spanName,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	start := t.in.clock.Now()
	resp, err := t.next.Send(ctx, req)
	elapsed := t.in.clock.Now().Sub(start)

	var verdict webhook.Verdict
	if err != nil || resp == nil {
		verdict = webhook.Classify(0, orNoResponse(err))
		et := errorType(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, "no response: "+et)
	} else {
		verdict = webhook.Classify(resp.StatusCode, nil)
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		if verdict != webhook.Delivered {
			code := strconv.Itoa(resp.StatusCode)
			span.SetAttributes(semconv.ErrorTypeKey.String(code))
			span.SetStatus(codes.Error, "HTTP "+code)
		}
	}
	if err != nil && ctx.Err() != nil {
		// Interrupted: the Dispatcher does not count the attempt.
		return resp, err
	}
	outcome := outcomeRetry
	switch verdict {
	case webhook.Delivered:
		outcome = outcomeDelivered
	case webhook.GiveUp:
		outcome = outcomeFailed
	}
	t.in.duration.Record(ctx, elapsed.Seconds(), t.in.attrs(req.Type, outcome))
	return resp, err
}

// ForgetsRequests implements [webhook.RequestForgetter] as the wrapped
// Transport does: the span keeps only copies of the request's strings.
func (t *transport) ForgetsRequests() bool {
	f, ok := t.next.(webhook.RequestForgetter)
	return ok && f.ForgetsRequests()
}

// SharesRequests implements [webhook.RequestSharer] as the wrapped
// Transport does: the span reads the request's strings and modifies
// nothing.
func (t *transport) SharesRequests() bool {
	s, ok := t.next.(webhook.RequestSharer)
	return ok && s.SharesRequests()
}

// orNoResponse returns err, or for a Transport that returned neither a
// response nor an error, an error as the Dispatcher sees in that case.
func orNoResponse(err error) error {
	if err == nil {
		return errNoResponse
	}
	return err
}

var errNoResponse = errors.New("otelwebhook: Transport returned neither a response nor an error")

// appendServer appends server.address and server.port of raw, a webhook
// URL, to attrs: its host and port, nothing else.
func appendServer(attrs []attribute.KeyValue, raw string) []attribute.KeyValue {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return attrs
	}
	attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		switch u.Scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		default:
			return attrs
		}
	}
	return append(attrs, semconv.ServerPort(port))
}

// errorType names the class of an attempt's error, from a small fixed
// set: never the message, which may quote the URL.
func errorType(err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		opErr   *net.OpError
		netErr  net.Error
		permErr *webhook.PermanentError
	)
	switch {
	case err == nil:
		return semconv.ErrorTypeOther.Value.AsString()
	case errors.Is(err, webhook.ErrBlockedAddress):
		return "blocked_address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.As(err, &invErr), errors.As(err, &recErr), errors.As(err, &alert):
		return "tls"
	case errors.As(err, &opErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection"
	case errors.As(err, &permErr):
		return "permanent"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
