package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
)

// An outBuffer collects what a command writes, safe for concurrent use,
// and lets a test wait for what it expects.
type outBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func newOutBuffer() *outBuffer { return &outBuffer{changed: make(chan struct{})} }

func (b *outBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

// snapshot returns what was written so far, and a channel closed at the
// next write.
func (b *outBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

func (b *outBuffer) String() string {
	s, _ := b.snapshot()
	return s
}

// A listenProc is "fedihook listen" running in a goroutine of the test.
type listenProc struct {
	url         string // http://127.0.0.1:PORT
	out, errOut *outBuffer
	cancel      context.CancelFunc // interrupts it
	exited      chan struct{}      // closed when run has returned
	code        int                // run's result, once exited is closed
}

// listenTimeout bounds every wait for listen; reaching it fails the test.
const listenTimeout = 10 * time.Second

// startListen runs "fedihook listen --addr 127.0.0.1:0 ARGS" and returns
// once it has printed the address it listens on. The test's cleanup
// interrupts it and waits for it.
func startListen(t *testing.T, args ...string) *listenProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &listenProc{out: newOutBuffer(), errOut: newOutBuffer(), cancel: cancel, exited: make(chan struct{})}
	args = append([]string{"listen", "--addr", "127.0.0.1:0"}, args...)
	go func() {
		defer close(p.exited)
		p.code = run(ctx, args, strings.NewReader(""), p.out, p.errOut)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.exited
	})
	p.url = p.waitFor(t, `(?m)^listening on (http://127\.0\.0\.1:[0-9]+)\n`)[1]
	return p
}

// waitFor waits until listen's stdout matches pattern and returns the
// submatches. It fails the test if listen exits first, or after
// listenTimeout.
func (p *listenProc) waitFor(t *testing.T, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.NewTimer(listenTimeout)
	defer deadline.Stop()
	for {
		s, changed := p.out.snapshot()
		if m := re.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-p.exited:
			if m := re.FindStringSubmatch(p.out.String()); m != nil {
				return m
			}
			t.Fatalf("listen exited with %d before printing %s\nstdout:\n%s\nstderr:\n%s", p.code, pattern, p.out, p.errOut)
		case <-deadline.C:
			t.Fatalf("listen did not print %s in %v\nstdout:\n%s\nstderr:\n%s", pattern, listenTimeout, p.out, p.errOut)
		}
	}
}

// wait waits for listen to exit and returns its exit code.
func (p *listenProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(listenTimeout):
		t.Fatalf("listen did not exit in %v\nstdout:\n%s", listenTimeout, p.out)
		return 0
	}
}

// requestLines returns the lines listen printed after its address.
func (p *listenProc) requestLines() []string {
	return lines(p.out.String())[1:]
}

// A line with a time, as listen starts each request line.
const lineTime = `^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} `

func TestListenVerifiesSend(t *testing.T) {
	t.Parallel()
	key, key2, wrong := webhook.NewSigningSecret(), webhook.NewSigningSecret(), webhook.NewSigningSecret()
	tests := []struct {
		name   string
		listen []string // listen's flags
		send   []string // send's flags besides --url and --event
		reason string   // "" when accepted
		warn   bool     // listen warns it checks nothing
	}{
		{
			name:   "secret and signature",
			listen: []string{"--secret", "s3cret", "--signing-secret", key},
			send:   []string{"--secret", "s3cret", "--signing-secret", key},
		},
		{
			name:   "signature",
			listen: []string{"--signing-secret", key},
			send:   []string{"--signing-secret", key},
		},
		{
			name:   "signature by the second of two secrets",
			listen: []string{"--signing-secret", key2, "--signing-secret", key},
			send:   []string{"--signing-secret", key},
		},
		{
			name:   "secret",
			listen: []string{"--secret", "s3cret"},
			send:   []string{"--secret", "s3cret"},
		},
		{
			name:   "unauthenticated",
			listen: nil,
			send:   []string{"--secret", "anything", "--signing-secret", wrong},
			warn:   true,
		},
		{
			name:   "wrong signing secret",
			listen: []string{"--secret", "s3cret", "--signing-secret", key},
			send:   []string{"--secret", "s3cret", "--signing-secret", wrong},
			reason: "bad signature",
		},
		{
			name:   "unsigned",
			listen: []string{"--signing-secret", key},
			send:   []string{"--secret", "s3cret"},
			reason: "missing header webhook-id",
		},
		{
			name:   "wrong secret",
			listen: []string{"--secret", "s3cret", "--signing-secret", key},
			send:   []string{"--secret", "wrong", "--signing-secret", key},
			reason: "bad secret",
		},
		{
			name:   "no secret",
			listen: []string{"--secret", "s3cret"},
			send:   nil,
			reason: "bad secret",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startListen(t, tt.listen...)
			args := append([]string{"--url", l.url + "/hooks/misskey", "--event", "mention", "--hook-id", "hook-1",
				"--attempts", "4", "--backoff-base", "1ms", "--allow-network", "127.0.0.0/8"}, tt.send...)
			code, out, errOut := sendCmd(t, "", args...)
			require.Empty(t, errOut)

			sent := lines(out)
			require.Len(t, sent, 2, "one attempt, and the outcome:\n%s", out)
			m := regexp.MustCompile(`\(eventId ([0-9a-f-]{36})\)$`).FindStringSubmatch(sent[1])
			require.NotNil(t, m, sent[1])
			eventID := regexp.QuoteMeta(m[1])
			// send has its answer: listen printed its line before answering.
			got := l.requestLines()
			require.Len(t, got, 1, "listen saw one request:\n%s", l.out)
			prefix := lineTime + `mention hookId=hook-1 eventId=` + eventID + ` `

			if tt.reason == "" {
				require.Equal(t, exitOK, code, out)
				require.Regexp(t, `^attempt 1: 204 No Content in `+dur+`$`, sent[0])
				require.Regexp(t, prefix+`ok: @dummy1: "@dummy2 `+regexp.QuoteMeta(misskey.DummyText)+`"$`, got[0])
			} else {
				require.Equal(t, exitFail, code, out)
				require.Regexp(t, `^attempt 1: 401 Unauthorized in `+dur+`$`, sent[0])
				require.Regexp(t, `^gave up: 401 Unauthorized is final, not retried \(eventId `, sent[1])
				require.Regexp(t, prefix+`rejected: `+regexp.QuoteMeta(tt.reason)+` \(401\)$`, got[0])
			}
			if tt.warn {
				require.Contains(t, l.errOut.String(), "warning: no --secret or --signing-secret")
			} else {
				require.Empty(t, l.errOut.String())
			}
			l.cancel()
			require.Equal(t, exitOK, l.wait(t))
		})
	}
}

// post sends a request to listen with a client of its own, and returns the
// status and body of the answer.
func post(t *testing.T, method, u string, header http.Header, body string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestListenRejectsBadRequests(t *testing.T) {
	t.Parallel()
	l := startListen(t, "--secret", "s3cret")
	good := http.Header{"X-Misskey-Hook-Secret": {"s3cret"}}
	big := `{"body": "` + strings.Repeat("x", int(verify.DefaultMaxBodyBytes)) + `"}`
	tests := []struct {
		method string
		header http.Header
		body   string
		status int
		line   string // the request line after its time
	}{
		{
			method: http.MethodGet, status: http.StatusMethodNotAllowed,
			line: `- hookId=- eventId=- rejected: method not allowed (405)`,
		},
		{
			method: http.MethodPost, header: good, body: "not json", status: http.StatusBadRequest,
			line: `- hookId=- eventId=- rejected: malformed payload: not JSON (400)`,
		},
		{
			method: http.MethodPost, header: good, body: big, status: http.StatusRequestEntityTooLarge,
			line: `- hookId=- eventId=- rejected: payload too large (413)`,
		},
		{
			// The claimed IDs come from the headers when the body has none,
			// quoted when they hold a space.
			method: http.MethodPost, body: `{}`, status: http.StatusUnauthorized,
			header: http.Header{"X-Misskey-Hook-Id": {"hook 1"}, "Webhook-Id": {"evt-1"}},
			line:   `- hookId="hook 1" eventId=evt-1 rejected: missing header X-Misskey-Hook-Secret (401)`,
		},
		{
			method: http.MethodPost, header: good, status: http.StatusBadRequest,
			body: `{"type": "note", "hookId": "h1", "eventId": "e1"}`,
			line: `note hookId=h1 eventId=e1 rejected: malformed payload: missing "server" (400)`,
		},
	}
	for i, tt := range tests {
		status, body := post(t, tt.method, l.url+"/", tt.header, tt.body)
		require.Equal(t, tt.status, status, body)
		got := l.requestLines()
		require.Len(t, got, i+1)
		require.Regexp(t, lineTime+regexp.QuoteMeta(tt.line)+`$`, got[i])
	}
}

func TestListenMaxRequests(t *testing.T) {
	t.Parallel()
	l := startListen(t, "--max-requests", "2")
	for range 2 {
		code, out, errOut := sendCmd(t, "", "--url", l.url, "--event", "follow", "--allow-network", "127.0.0.0/8")
		require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	require.Equal(t, exitOK, l.wait(t), "listen ends by itself")
	got := l.requestLines()
	require.Len(t, got, 2)
	for _, line := range got {
		require.Regexp(t, lineTime+`follow hookId=[0-9a-z]{16} eventId=[0-9a-f-]{36} ok: user @dummy1$`, line)
	}
}

func TestListenHandlerAfterMaxRequests(t *testing.T) {
	t.Parallel()
	mw, err := verify.New(&verify.Config{Unauthenticated: true})
	require.NoError(t, err)
	var out bytes.Buffer
	h := &listenHandler{verify: mw, out: &out, max: 1, done: make(chan struct{}), now: time.Now}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	select {
	case <-h.done:
	default:
		t.Fatal("done is not closed after the last request")
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusServiceUnavailable, w.Code, "a request after the last")
	require.Len(t, lines(out.String()), 1, "only the requests answered are printed")
}

// TestListenStopsOnCancel checks that an interrupted listen closes its
// keep-alive connections and leaves no goroutine. It is not parallel: it
// counts goroutines, which other tests would start.
func TestListenStopsOnCancel(t *testing.T) {
	before := goleak.IgnoreCurrent()
	l := startListen(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(l.url)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close()) // the connection stays open, idle
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	l.cancel()
	require.Equal(t, exitOK, l.wait(t))
	require.Equal(t, 1, strings.Count(l.errOut.String(), "\n"), "nothing but the warning:\n%s", l.errOut)
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, before)

	_, err = net.Dial("tcp", strings.TrimPrefix(l.url, "http://"))
	require.Error(t, err, "listen still listens")
}

func TestListenAddressInUse(t *testing.T) {
	t.Parallel()
	l := startListen(t)
	u, err := url.Parse(l.url)
	require.NoError(t, err)
	code, out, errOut := runCmd(t.Context(), "", "listen", "--addr", u.Host)
	require.Equal(t, exitFail, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Empty(t, out)
	require.Contains(t, errOut, "address already in use")
}

func TestParseListen(t *testing.T) {
	t.Parallel()
	o, err := parseListen(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, &listenOptions{addr: defaultListenAddr}, o)

	key, key2 := webhook.NewSigningSecret(), webhook.NewSigningSecret()
	o, err = parseListen([]string{"--secret", "s", "--signing-secret", key, "--signing-secret", key2, "--max-requests", "3"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, &listenOptions{addr: defaultListenAddr, secret: "s", signingSecrets: []string{key, key2}, maxRequests: 3}, o)

	for _, args := range [][]string{
		{"--addr", "localhost:0"},
		{"--addr", "LocalHost:8080"},
		{"--addr", "127.1.2.3:80"},
		{"--addr", "[::1]:0"},
		{"--addr", "[::ffff:127.0.0.1]:0"},
		{"--public", "--addr", "0.0.0.0:8080"},
		{"--public", "--addr", ":8080"},
		{"--public", "--addr", "example.tld:80"},
	} {
		_, err := parseListen(args, io.Discard)
		require.NoError(t, err, args)
	}
}

func TestListenUsageErrors(t *testing.T) {
	t.Parallel()
	key := webhook.NewSigningSecret()
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{name: "addr without port", args: []string{"--addr", "127.0.0.1"}, want: "bad --addr: address 127.0.0.1: missing port"},
		{name: "addr port too big", args: []string{"--addr", "127.0.0.1:65536"}, want: `bad --addr: port "65536" is not a number`},
		{name: "addr port name", args: []string{"--addr", "127.0.0.1:http"}, want: `bad --addr: port "http"`},
		{name: "addr every interface", args: []string{"--addr", ":8080"}, want: "bad --addr: an empty host serves on every interface; add --public"},
		{name: "addr unspecified", args: []string{"--addr", "0.0.0.0:8080"}, want: `bad --addr: "0.0.0.0" is not a loopback address`},
		{name: "addr private", args: []string{"--addr", "10.0.0.5:8080"}, want: "add --public to allow it"},
		{name: "addr name", args: []string{"--addr", "example.tld:80"}, want: `bad --addr: "example.tld" is not a loopback address`},
		{name: "signing secret prefix", args: []string{"--signing-secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, want: `bad --signing-secret: webhook: signing secret must start with "whsec_"`},
		{name: "signing secret base64", args: []string{"--signing-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"}, want: "bad --signing-secret: webhook: signing secret is not standard padded base64"},
		{name: "signing secret short", args: []string{"--signing-secret", "whsec_c2hvcnQ="}, want: "bad --signing-secret: webhook: signing secret must hold 24 to 64 bytes, got 5"},
		{name: "second signing secret", args: []string{"--signing-secret", key, "--signing-secret", "whsec_"}, want: "bad --signing-secret (number 2): "},
		{name: "secret with newline", args: []string{"--secret", "a\nb"}, want: "bad --secret"},
		{name: "max requests negative", args: []string{"--max-requests", "-1"}, want: "bad --max-requests: must be >= 0"},
		{name: "max requests not a number", args: []string{"--max-requests", "all"}, want: "for --max-requests: "},
		{name: "unknown flag", args: []string{"--port", "8080"}, want: "flag provided but not defined: -port"},
		{name: "unexpected argument", args: []string{"127.0.0.1:8080"}, want: `unexpected argument "127.0.0.1:8080"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t.Context(), "", append([]string{"listen"}, tt.args...)...)
			require.Equal(t, exitUsage, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Empty(t, out)
			require.True(t, strings.HasPrefix(errOut, "fedihook listen: "), errOut)
			require.Contains(t, errOut, tt.want)
			require.Contains(t, errOut, "Run 'fedihook listen -h' for usage.")
			require.NotContains(t, errOut, "MfKQ9r8G", "a secret is quoted")
		})
	}
}

// dummyPayload returns an accepted payload of event e with body, or with
// the event's dummy body when body is nil.
func dummyPayload(t *testing.T, e webhook.Event, body any) *webhook.Payload {
	t.Helper()
	if body == nil {
		var err error
		body, err = misskey.DummyBody(string(e))
		require.NoError(t, err)
	}
	b, err := webhook.EncodeBody(body)
	require.NoError(t, err)
	return &webhook.Payload{Server: "https://example.tld", HookID: "h1", EventID: "e1", Type: e, Body: b}
}

func TestBodySummary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", listenTextRunes+1)
	tests := []struct {
		event webhook.Event
		body  any // nil for the dummy body
		want  string
	}{
		{event: webhook.EventNote, want: `@dummy1: "` + misskey.DummyText + `"`},
		{event: webhook.EventReply, want: `@dummy1: "` + misskey.DummyText + `"`},
		{event: webhook.EventRenote, want: `@dummy2: renote of note dummy-note-1`},
		{event: webhook.EventMention, want: `@dummy1: "@dummy2 ` + misskey.DummyText + `"`},
		{event: webhook.EventFollow, want: "user @dummy1"},
		{event: webhook.EventFollowed, want: "user @dummy2"},
		{event: webhook.EventUnfollow, want: "user @dummy3"},
		{event: webhook.EventReaction, want: "@dummy2 reacted ❤ to note dummy-note-1"},
		{event: webhook.EventUserCreated, want: "user @dummy1"},
		{event: webhook.EventAbuseReport, want: "body keys id, targetUserId, targetUser, targetUserHost, reporterId, reporter, reporterHost, assigneeId, …"},
		{event: webhook.EventInactiveModeratorsWarning, want: "body keys remainingTime"},
		{event: webhook.EventInactiveModeratorsInvitationOnlyChanged, want: "empty body"},
		{
			event: webhook.EventNote,
			body:  json.RawMessage(`{"note": {"text": "` + long + `", "user": {"username": "bob", "host": "remote.tld"}}}`),
			want:  `@bob@remote.tld: "` + long[:2*listenTextRunes] + `…"`,
		},
		{
			event: webhook.EventMention,
			body:  json.RawMessage(`{"note": {"text": "two\nlines \"quoted\""}}`),
			want:  `"two\nlines \"quoted\""`,
		},
		{event: webhook.EventNote, body: json.RawMessage(`{"note": {"id": "n1", "user": {"username": "bob"}}}`), want: "@bob: no text"},
		{event: webhook.EventNote, body: json.RawMessage(`{"custom": 1, "a b": [2]}`), want: `body keys custom, "a b"`},
		{event: webhook.EventFollow, body: json.RawMessage(`{"user": {"id": "u1"}}`), want: "body keys user"},
		{event: webhook.EventNote, body: json.RawMessage(`{"note": "not an object"}`), want: "body keys note"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, bodySummary(dummyPayload(t, tt.event, tt.body)), "%s %s", tt.event, tt.body)
	}
}

func TestRequestLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 15, 4, 5, 678e6, time.UTC)
	p := dummyPayload(t, webhook.EventFollow, nil)
	require.Equal(t, "15:04:05.678 follow hookId=h1 eventId=e1 ok: user @dummy1",
		requestLine(at, http.Header{}, nil, p, http.StatusNoContent, ""))

	h := http.Header{"X-Misskey-Hook-Id": {"from-header"}, "Webhook-Id": {"evt\x00"}}
	tests := []struct {
		body, reason string
		status       int
		want         string
	}{
		{
			body: `{"type": "note", "hookId": "h2", "eventId": "e2"}`, reason: "bad signature\n", status: 401,
			want: "15:04:05.678 note hookId=h2 eventId=e2 rejected: bad signature (401)",
		},
		{
			// A field of the wrong type is skipped, the others kept.
			body: `{"type": 1, "hookId": "h2"}`, reason: "bad secret\n", status: 401,
			want: `15:04:05.678 - hookId=h2 eventId="evt\x00" rejected: bad secret (401)`,
		},
		{
			body: `{"type": "` + strings.Repeat("x", 100) + `"}`, status: 400, reason: "malformed payload: \"type\"\n",
			want: `15:04:05.678 ` + strings.Repeat("x", listenFieldBytes) + `… hookId=from-header eventId="evt\x00" rejected: malformed payload: "type" (400)`,
		},
		{
			body: `garbage`, status: 413,
			want: `15:04:05.678 - hookId=from-header eventId="evt\x00" rejected: Request Entity Too Large (413)`,
		},
		{
			body: `{}`, status: 401, reason: "line\r\nbreak",
			want: `15:04:05.678 - hookId=from-header eventId="evt\x00" rejected: "line\r\nbreak" (401)`,
		},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, requestLine(at, h, []byte(tt.body), nil, tt.status, tt.reason), tt.body)
	}
}
