package otelwebhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fedihook/webhook"
)

func TestErrorType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "_OTHER"},
		{errors.New("something"), "_OTHER"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("webhook: POST https://h: no response within 5s: %w", context.DeadlineExceeded), "timeout"},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, "timeout"},
		{context.Canceled, "canceled"},
		{fmt.Errorf("webhook: POST https://h: %w", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}), "dns"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "connection"},
		{fmt.Errorf("webhook: POST https://h: %w", io.EOF), "connection"},
		{io.ErrUnexpectedEOF, "connection"},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "tls"},
		{x509.HostnameError{Host: "h"}, "tls"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "tls"},
		{tls.AlertError(42), "tls"},
		{webhook.Permanent(fmt.Errorf("webhook: POST https://h: %w", webhook.ErrBlockedAddress)), "blocked_address"},
		{webhook.Permanent(errors.New("bad request URL")), "permanent"},
	} {
		require.Equal(t, tc.want, errorType(tc.err), "%v", tc.err)
	}
}

func TestAppendServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want []attribute.KeyValue
	}{
		{"https://example.com/hook?token=t", []attribute.KeyValue{
			attribute.String("server.address", "example.com"), attribute.Int("server.port", 443)}},
		{"http://example.com:8080/", []attribute.KeyValue{
			attribute.String("server.address", "example.com"), attribute.Int("server.port", 8080)}},
		{"http://example.com/", []attribute.KeyValue{
			attribute.String("server.address", "example.com"), attribute.Int("server.port", 80)}},
		{"https://[2001:db8::1]:8443/x", []attribute.KeyValue{
			attribute.String("server.address", "2001:db8::1"), attribute.Int("server.port", 8443)}},
		{"https://user:p4ss@example.com/x#frag", []attribute.KeyValue{
			attribute.String("server.address", "example.com"), attribute.Int("server.port", 443)}},
		{"ftp://example.com/x", []attribute.KeyValue{attribute.String("server.address", "example.com")}},
		{"/relative/only", nil},
		{"https://bad host/%zz", nil},
	} {
		require.Equal(t, tc.want, appendServer(nil, tc.url), tc.url)
	}
}

// TestAttrsCache checks that only Misskey's event types are cached, so
// that the cache is bounded whatever the deliveries hold.
func TestAttrsCache(t *testing.T) {
	t.Parallel()
	in, err := New(nil)
	require.NoError(t, err)
	in.attrs(webhook.EventNote, outcomeDelivered)
	in.attrs(webhook.EventNote, outcomeDelivered)
	in.attrs("made-up", outcomeRetry)
	n := 0
	in.sets.Range(func(k, v any) bool {
		require.Equal(t, setKey{webhook.EventNote, outcomeDelivered}, k)
		n++
		return true
	})
	require.Equal(t, 1, n)
}
