package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// httptServer starts a loopback receiver running h and counts the requests
// that reach it.
func httptServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// httptTransport returns an HTTPTransport built from cfg (nil: defaults)
// whose idle connections are closed when the test ends.
func httptTransport(t *testing.T, cfg *webhook.HTTPTransportConfig) *webhook.HTTPTransport {
	t.Helper()
	tr, err := webhook.NewHTTPTransport(cfg)
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// httptLoopbackTransport returns a transport that may reach 127.0.0.0/8,
// where the test receivers listen.
func httptLoopbackTransport(t *testing.T, cfg webhook.HTTPTransportConfig) *webhook.HTTPTransport {
	t.Helper()
	cfg.AllowNetworks = append(cfg.AllowNetworks, guardRule(t, "127.0.0.0/8"))
	return httptTransport(t, &cfg)
}

func httptRequest(url string) *webhook.Request {
	return &webhook.Request{
		URL: url,
		Header: http.Header{
			"Content-Type":          {"application/json"},
			"User-Agent":            {"Misskey-Hooks"},
			"X-Misskey-Host":        {"example.tld"},
			"X-Misskey-Hook-Id":     {"hook1"},
			"X-Misskey-Hook-Secret": {"s3cret"},
		},
		Body: []byte(`{"hookId":"hook1"}`),
	}
}

func httptNoContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

func TestHTTPTransportBlocksLoopbackByDefault(t *testing.T) {
	t.Parallel()
	srv, hits := httptServer(t, httptNoContent)
	tr := httptTransport(t, nil)

	resp, err := tr.Send(t.Context(), httptRequest(srv.URL+"/hook"))
	require.Nil(t, resp)
	require.ErrorIs(t, err, webhook.ErrBlockedAddress)
	var perm *webhook.PermanentError
	require.ErrorAs(t, err, &perm)
	host := strings.TrimPrefix(srv.URL, "http://")
	require.Equal(t, "webhook: POST "+srv.URL+": "+host+" is loopback (127.0.0.0/8): "+
		"address blocked by private-network guard; allow it with an allow-list entry such as 127.0.0.1/32", err.Error())
	require.Zero(t, hits.Load())
}

func TestHTTPTransportBlocksNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	srv, hits := httptServer(t, httptNoContent)
	tr := httptTransport(t, nil)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	_, err = tr.Send(t.Context(), httptRequest("http://localhost:"+u.Port()+"/hook"))
	require.ErrorIs(t, err, webhook.ErrBlockedAddress)
	require.Contains(t, err.Error(), "webhook: POST http://localhost:"+u.Port()+": ")
	require.Contains(t, err.Error(), "is loopback")
	require.Zero(t, hits.Load())
}

func TestHTTPTransportAllowNetworks(t *testing.T) {
	t.Parallel()
	srv, hits := httptServer(t, httptNoContent)
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	resp, err := tr.Send(t.Context(), httptRequest(srv.URL+"/hook"))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, int64(1), hits.Load())
}

func TestHTTPTransportAllowRuleWithPort(t *testing.T) {
	t.Parallel()
	allowed, allowedHits := httptServer(t, httptNoContent)
	other, otherHits := httptServer(t, httptNoContent)
	u, err := url.Parse(allowed.URL)
	require.NoError(t, err)
	tr := httptTransport(t, &webhook.HTTPTransportConfig{
		AllowNetworks: []webhook.AllowRule{guardRule(t, "127.0.0.1/32:"+u.Port())},
	})

	resp, err := tr.Send(t.Context(), httptRequest(allowed.URL))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	_, err = tr.Send(t.Context(), httptRequest(other.URL))
	require.ErrorIs(t, err, webhook.ErrBlockedAddress)

	require.Equal(t, int64(1), allowedHits.Load())
	require.Zero(t, otherHits.Load())
}

func TestHTTPTransportDisableGuard(t *testing.T) {
	t.Parallel()
	srv, hits := httptServer(t, httptNoContent)
	tr := httptTransport(t, &webhook.HTTPTransportConfig{DisableGuard: true})

	resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, int64(1), hits.Load())
}

func TestHTTPTransportDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target, targetHits := httptServer(t, httptNoContent)
	srv, _ := httptServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	resp, err := tr.Send(t.Context(), httptRequest(srv.URL+"/hook"))
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, target.URL+"/elsewhere", resp.Header.Get("Location"))
	require.Zero(t, targetHits.Load())
}

func TestHTTPTransportErrorStatusIsAResponse(t *testing.T) {
	t.Parallel()
	srv, _ := httptServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "try later")
	})
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "120", resp.Header.Get("Retry-After"))
	require.Equal(t, "try later", string(resp.Body))
}

func TestHTTPTransportCapsResponseBody(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789"), 1000)
	srv, _ := httptServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(big) })

	tests := []struct {
		name string
		max  int
		want int
	}{
		{"default", 0, webhook.DefaultMaxResponseBytes},
		{"100", 100, 100},
		{"larger than the body", 1 << 20, len(big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{MaxResponseBytes: tt.max})
			resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, big[:tt.want], resp.Body)
		})
	}
}

func TestHTTPTransportTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, hits := httptServer(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up and closed the connection
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	const timeout = 200 * time.Millisecond
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{Timeout: timeout})

	start := time.Now()
	resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
	elapsed := time.Since(start)
	require.Nil(t, resp)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "no response within 200ms")
	require.NotErrorIs(t, err, webhook.ErrBlockedAddress)
	var perm *webhook.PermanentError
	require.False(t, errors.As(err, &perm), "a timeout is worth a retry")
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, timeout+3*time.Second)
	require.Equal(t, int64(1), hits.Load())
}

func TestHTTPTransportHonoursContext(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv, _ := httptServer(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := tr.Send(ctx, httptRequest(srv.URL))
	require.ErrorIs(t, err, context.Canceled)
	require.NotContains(t, err.Error(), "no response within")
}

func TestHTTPTransportReusesConnections(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	// Longer than the kept 4 KiB, so that reuse needs the drain.
	body := bytes.Repeat([]byte("x"), webhook.DefaultMaxResponseBytes+1000)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	for range 3 {
		resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
		require.NoError(t, err)
		require.Len(t, resp.Body, webhook.DefaultMaxResponseBytes)
	}
	require.Equal(t, int64(1), conns.Load())

	tr.CloseIdleConnections()
	_, err := tr.Send(t.Context(), httptRequest(srv.URL))
	require.NoError(t, err)
	require.Equal(t, int64(2), conns.Load())
}

// httptRecorder wraps a listener and records every byte the server reads.
type httptRecorder struct {
	net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *httptRecorder) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &httptRecordedConn{Conn: c, l: l}, nil
}

func (l *httptRecorder) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

type httptRecordedConn struct {
	net.Conn
	l *httptRecorder
}

func (c *httptRecordedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.buf.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

func TestHTTPTransportSendsRequestAsGiven(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the whole request has been read when the client gets its answer
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := &httptRecorder{Listener: srv.Listener}
	srv.Listener = rec
	srv.Start()
	t.Cleanup(srv.Close)
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	body := []byte(`{"server":"https://example.tld:8443","hookId":"hook1","type":"note","body":{"note":{"text":"é ✓"}}}`)
	tests := []struct {
		name     string
		header   http.Header
		wantHost string
	}{
		{
			name: "secret",
			header: http.Header{
				"Content-Type":          {"application/json"},
				"User-Agent":            {"Misskey-Hooks"},
				"X-Misskey-Host":        {"example.tld:8443"},
				"X-Misskey-Hook-Id":     {"9zzzzzzz0000abcd"},
				"X-Misskey-Hook-Secret": {`s3cr3t with "quotes", spaces & ünïcode`},
			},
			wantHost: hostPort,
		},
		{
			name: "empty secret and Host override",
			header: http.Header{
				"Host":                  {"receiver.example"},
				"Content-Type":          {"application/json"},
				"User-Agent":            {"Misskey-Hooks"},
				"X-Misskey-Host":        {"example.tld"},
				"X-Misskey-Hook-Id":     {"hook2"},
				"X-Misskey-Hook-Secret": {""},
			},
			wantHost: "receiver.example",
		},
	}
	for _, tt := range tests { // sequential: one recorder
		for _, shared := range []bool{false, true} {
			header := tt.header.Clone()
			resp, err := tr.Send(t.Context(), &webhook.Request{URL: srv.URL + "/hooks/in?x=1", Header: header, Body: body, Shared: shared})
			require.NoError(t, err, tt.name)
			require.Equal(t, http.StatusNoContent, resp.StatusCode, tt.name)
			require.Equal(t, tt.header, header, "%s: Send modifies no header (shared %v)", tt.name, shared)

			head, gotBody, found := strings.Cut(rec.take(), "\r\n\r\n")
			require.True(t, found, tt.name)
			require.Equal(t, string(body), gotBody, tt.name)
			lines := strings.Split(head, "\r\n")
			require.Equal(t, "POST /hooks/in?x=1 HTTP/1.1", lines[0], tt.name)
			want := []string{
				"Host: " + tt.wantHost,
				"Content-Length: " + strconv.Itoa(len(body)),
			}
			for k, vs := range tt.header {
				if k != "Host" {
					for _, v := range vs {
						want = append(want, k+": "+v)
					}
				}
			}
			require.ElementsMatch(t, want, lines[1:], "%s, shared %v", tt.name, shared)
		}
	}
}

func TestHTTPTransportErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	srv, _ := httptServer(t, httptNoContent)
	srv.Close() // now nothing listens there: connection refused
	req := httptRequest(srv.URL + "/api/webhooks/PATHTOKEN?token=QUERYTOKEN")
	req.Header.Set("X-Misskey-Hook-Secret", "HEADERSECRET")

	for _, tr := range []*webhook.HTTPTransport{
		httptTransport(t, nil), // blocked by the guard
		httptLoopbackTransport(t, webhook.HTTPTransportConfig{}), // refused by the host
	} {
		_, err := tr.Send(t.Context(), req)
		require.Error(t, err)
		msg := err.Error()
		require.True(t, strings.HasPrefix(msg, "webhook: POST "+srv.URL+": "), msg)
		for _, secret := range []string{"PATHTOKEN", "QUERYTOKEN", "HEADERSECRET", "/api"} {
			require.NotContains(t, msg, secret)
		}
	}
}

func TestHTTPTransportInvalidRequest(t *testing.T) {
	t.Parallel()
	tr := httptTransport(t, nil)
	tests := []struct {
		name string
		req  *webhook.Request
		want string
	}{
		{"nil", nil, "nil Request"},
		{"unparsable", &webhook.Request{URL: "http://example.tld:x/?token=SECRET"}, "does not parse"},
		{"relative", &webhook.Request{URL: "/hook"}, "absolute http or https"},
		{"ftp", &webhook.Request{URL: "ftp://example.tld/"}, "absolute http or https"},
		{"user info", &webhook.Request{URL: "https://user:SECRET@example.tld/"}, "user info"},
	}
	for _, tt := range tests {
		_, err := tr.Send(t.Context(), tt.req)
		require.ErrorIs(t, err, webhook.ErrInvalid, tt.name)
		var perm *webhook.PermanentError
		require.ErrorAs(t, err, &perm, tt.name)
		require.Contains(t, err.Error(), tt.want, tt.name)
		require.NotContains(t, err.Error(), "SECRET", tt.name)
		require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
	}
}

func TestNewHTTPTransportConfig(t *testing.T) {
	t.Parallel()
	_, err := webhook.NewHTTPTransport(nil)
	require.NoError(t, err)
	_, err = webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{})
	require.NoError(t, err)

	tests := []struct {
		name string
		cfg  webhook.HTTPTransportConfig
		want string
	}{
		{"timeout", webhook.HTTPTransportConfig{Timeout: -time.Second}, "webhook: HTTPTransportConfig.Timeout must be > 0, got -1s"},
		{"max response bytes", webhook.HTTPTransportConfig{MaxResponseBytes: -1}, "webhook: HTTPTransportConfig.MaxResponseBytes must be > 0, got -1"},
		{"idle conns", webhook.HTTPTransportConfig{MaxIdleConnsPerHost: -2}, "webhook: HTTPTransportConfig.MaxIdleConnsPerHost must be > 0, got -2"},
		{
			"zero allow rule",
			webhook.HTTPTransportConfig{AllowNetworks: []webhook.AllowRule{guardRule(t, "10.0.0.0/8"), {}}},
			"webhook: HTTPTransportConfig.AllowNetworks[1] is the zero AllowRule; build rules with ParseAllowRule",
		},
	}
	for _, tt := range tests {
		tr, err := webhook.NewHTTPTransport(&tt.cfg)
		require.Nil(t, tr, tt.name)
		require.ErrorIs(t, err, webhook.ErrInvalid, tt.name)
		require.EqualError(t, err, tt.want)
	}
}

func TestHTTPTransportConcurrentSends(t *testing.T) {
	t.Parallel()
	srv, hits := httptServer(t, httptNoContent)
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})

	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, err := tr.Send(t.Context(), httptRequest(srv.URL))
			if err == nil && resp.StatusCode != http.StatusNoContent {
				err = errors.New("status " + strconv.Itoa(resp.StatusCode))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(n), hits.Load())
}

// TestHTTPTransportEarlyResponseReleasesBody: a receiver that answers
// before reading a large request leaves net/http writing the body after
// the response; Send must not return before it has stopped, so that the
// caller may reuse the bytes. The race detector sees any read of the body
// after Send has returned, as the body is overwritten then.
func TestHTTPTransportEarlyResponseReleasesBody(t *testing.T) {
	t.Parallel()
	srv, _ := httptServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge) // without reading a byte
	})
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})
	for range 5 {
		req := httptRequest(srv.URL)
		req.Body = bytes.Repeat([]byte("a"), 8<<20)
		resp, err := tr.Send(context.Background(), req)
		if err == nil {
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		}
		for i := range req.Body {
			req.Body[i] = 'b'
		}
	}
}

// TestHTTPTransportForgetsTheHeader: when the connection fails (or the
// receiver answers) before the request is written, net/http's RoundTrip
// returns while its writer goroutine may still be reading the request's
// header; the Dispatcher reuses that header map as soon as Send returns
// (HTTPTransport is a RequestForgetter). Send handed net/http the
// caller's map: a race (caught by -race) that a receiver could turn into
// a crash of the process (a concurrent map access).
func TestHTTPTransportForgetsTheHeader(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Wait()
	})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				// Answer at once, before the request (net/http logs an
				// "Unsolicited response" and fails the request).
				_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
				_, _ = c.Read(make([]byte, 4096))
			})
		}
	})
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})
	req := httptRequest("http://" + ln.Addr().String() + "/")
	for range 30 {
		_, _ = tr.Send(ctx, req)
		// As the Dispatcher does with a pooled request.
		clear(req.Header)
		req.Header["X-Misskey-Hook-Secret"] = []string{"next"}
		req.Header["X-Misskey-Hook-Id"] = []string{"hook1"}
	}
}

// TestHTTPTransportSharedRequests: Shared requests, as the Dispatcher
// sends them to one webhook, share one header map and may share a body;
// net/http gets them uncopied and may still be writing one request's
// when the next is sent, some to a receiver that answers before reading.
// The race detector sees any write to them, and the receiver checks that
// each request arrived whole.
func TestHTTPTransportSharedRequests(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("a"), 64<<10)
	srv, _ := httptServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("early") {
			w.WriteHeader(http.StatusRequestEntityTooLarge) // without reading a byte
			return
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, body) || r.Header.Get("X-Misskey-Hook-Secret") != "s3cret" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	tr := httptLoopbackTransport(t, webhook.HTTPTransportConfig{})
	header := httptRequest(srv.URL).Header
	want := header.Clone()

	var wg sync.WaitGroup
	statuses := make(chan int, 8*20)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				url := srv.URL
				if (g+i)%3 == 0 {
					url += "?early"
				}
				resp, err := tr.Send(t.Context(), &webhook.Request{URL: url, Header: header, Body: body, Shared: true})
				if err == nil {
					statuses <- resp.StatusCode
				}
			}
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		require.Contains(t, []int{http.StatusNoContent, http.StatusRequestEntityTooLarge}, s)
		if s == http.StatusNoContent {
			ok++
		}
	}
	require.Positive(t, ok)
	require.Equal(t, want, header, "the shared header is left as it was")
}
