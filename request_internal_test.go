package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stretchr/testify/require"
)

// forgetter is a Transport that says whether it forgets its requests.
type forgetter bool

func (forgetter) Send(context.Context, *Request) (*Response, error) {
	return &Response{StatusCode: 204}, nil
}
func (f forgetter) ForgetsRequests() bool { return bool(f) }

// TestRequestReuseFollowsTheContract checks that the Dispatcher reuses
// request storage with exactly the Transports that say they forget their
// requests, whatever their type.
func TestRequestReuseFollowsTheContract(t *testing.T) {
	t.Parallel()
	httpT, err := NewHTTPTransport(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		tr   Transport
		want bool
	}{
		{"the default", nil, true},
		{"an HTTPTransport", httpT, true},
		{"a Transport that forgets", forgetter(true), true},
		{"a Transport that keeps", forgetter(false), false},
		{"a TransportFunc", TransportFunc(forgetter(true).Send), false},
	} {
		d, err := New(nil, &Config{Host: "example.tld", Transport: tc.tr})
		require.NoError(t, err, tc.name)
		o := d.newOutgoing()
		require.Equal(t, tc.want, o.pooled, tc.name)
		o.release()
		require.NoError(t, d.Shutdown(context.Background()))
	}
}

// sharer is a Transport that says it shares its requests.
type sharer struct{ forgetter }

func (sharer) SharesRequests() bool { return true }

// TestSharedRequests checks the requests the Dispatcher builds for a
// RequestSharer: marked Shared, a body of their own, and the header map
// of the webhook's unsigned attempts built once per webhook and secret,
// never modified; signed attempts get maps of their own.
func TestSharedRequests(t *testing.T) {
	t.Parallel()
	mapOf := func(h http.Header) uintptr { return reflect.ValueOf(h).Pointer() }
	now := time.Unix(1700000000, 0)
	del := func(hookID string) *Delivery {
		return &Delivery{ID: uuid.New(), HookID: hookID, UserID: "9alice", Type: EventNote, Server: "https://example.tld",
			CreatedAt: now, Body: []byte(`{"note":{"text":"hi"}}`), NextAttemptAt: now}
	}
	for _, tc := range []struct {
		name   string
		tr     Transport
		shared bool
	}{
		{"a sharer that forgets", sharer{true}, true},
		{"a sharer that keeps", sharer{false}, true},
		{"an HTTPTransport", nil, true},
		{"a forgetter", forgetter(true), false},
	} {
		d, err := New(nil, &Config{Host: "example.tld", Transport: tc.tr})
		require.NoError(t, err, tc.name)
		w := &Webhook{ID: "hook1", URL: "https://r.example/in", Secret: "one"}
		send := func(w *Webhook, del *Delivery) Request {
			o, err := d.request(del, w, nil, now)
			require.NoError(t, err, tc.name)
			r := o.req
			r.Header = r.Header.Clone() // the map o may reuse
			if tc.shared {
				r.Header = o.req.Header
			}
			r.Body = bytes.Clone(r.Body)
			o.release()
			return r
		}
		a, b := del("hook1"), del("hook1")
		ra, rb := send(w, a), send(w, b)
		require.Equal(t, tc.shared, ra.Shared, tc.name)
		require.Equal(t, string(AppendPayload(nil, a)), string(ra.Body), tc.name)
		require.Equal(t, string(AppendPayload(nil, b)), string(rb.Body), tc.name)
		want := http.Header{"Content-Type": {"application/json"}, "User-Agent": {DefaultUserAgent},
			"X-Misskey-Host": {"example.tld"}, "X-Misskey-Hook-Id": {"hook1"}, "X-Misskey-Hook-Secret": {"one"}}
		require.Equal(t, want, ra.Header, tc.name)
		require.Equal(t, want, rb.Header, tc.name)
		if !tc.shared {
			require.NoError(t, d.Shutdown(context.Background()))
			continue
		}
		require.Equal(t, mapOf(ra.Header), mapOf(rb.Header), "%s: one map for the webhook's attempts", tc.name)

		// A new secret: a new map; the old one, which net/http may still
		// be writing, is left as it was.
		w2 := *w
		w2.Secret = "two"
		rc := send(&w2, del("hook1"))
		require.NotEqual(t, mapOf(ra.Header), mapOf(rc.Header), tc.name)
		require.Equal(t, []string{"two"}, rc.Header["X-Misskey-Hook-Secret"], tc.name)
		require.Equal(t, want, ra.Header, tc.name)

		// Another webhook: its own map.
		rd := send(&Webhook{ID: "hook2", URL: w.URL, Secret: "one"}, del("hook2"))
		require.Equal(t, []string{"hook2"}, rd.Header["X-Misskey-Hook-Id"], tc.name)
		require.Equal(t, want, ra.Header, tc.name)

		// Signed: a map of the attempt's own, the shared one unchanged.
		signed := w2
		signed.SigningSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		se := del("hook1")
		re := send(&signed, se)
		require.NotEqual(t, mapOf(rc.Header), mapOf(re.Header), tc.name)
		require.Equal(t, []string{se.ID.String()}, re.Header[HeaderWebhookID], tc.name)
		require.Len(t, re.Header[HeaderWebhookSignature], 1, tc.name)
		require.Equal(t, []string{"two"}, re.Header["X-Misskey-Hook-Secret"], tc.name)
		require.NotContains(t, rc.Header, HeaderWebhookSignature, tc.name)
		require.Len(t, rc.Header, 5, tc.name)
		require.NoError(t, d.Shutdown(context.Background()))
	}
}

// TestPayloadSizeHint checks that the buffer a shared request's payload
// is built in fits it without growing, but for strings that need
// escaping, and exceeds it by at most the digits createdAt may lack.
func TestPayloadSizeHint(t *testing.T) {
	t.Parallel()
	for _, d := range []*Delivery{
		{ID: uuid.New(), HookID: "hook1", UserID: "9alice", Type: EventNote, Server: "https://example.tld",
			CreatedAt: time.Unix(1700000000, 0), Body: []byte(`{"a":1}`)},
		{ID: uuid.New(), HookID: "h", Type: EventAbuseReport, Server: "https://example.tld",
			CreatedAt: time.UnixMilli(-1 << 62), Body: []byte(`{}`)},
		{ID: uuid.New(), HookID: "h", Type: EventNote, Server: "x", CreatedAt: time.UnixMilli(0), Body: []byte(`{}`)},
	} {
		n := len(AppendPayload(nil, d))
		require.LessOrEqual(t, n, payloadSizeHint(d), "%+v", d)
		require.GreaterOrEqual(t, n, payloadSizeHint(d)-19, "%+v", d)
	}
}
