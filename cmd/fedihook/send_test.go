package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskey/misskeytest"
	"github.com/fedihook/webhook/verify"
)

// A received is one request a receiver got.
type received struct {
	method string
	header http.Header
	body   []byte
}

// A receiver is a webhook receiver on loopback that answers the n-th
// request with statuses[n] (the last one again when they run out; 204
// when there are none) and records every request.
type receiver struct {
	srv      *httptest.Server
	statuses []int
	// onRequest, if set, runs for every request before it is answered.
	onRequest func()

	mu   sync.Mutex
	reqs []received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, received{method: req.Method, header: req.Header.Clone(), body: body})
	r.mu.Unlock()
	if r.onRequest != nil {
		r.onRequest()
	}
	status := http.StatusNoContent
	if len(r.statuses) > 0 {
		status = r.statuses[min(n, len(r.statuses)-1)]
	}
	w.WriteHeader(status)
}

// requests returns the requests received so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// port returns the receiver's port.
func (r *receiver) port(t *testing.T) int {
	u, err := url.Parse(r.srv.URL)
	require.NoError(t, err)
	p, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return p
}

// send runs "fedihook send" with args.
func sendCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmd(t.Context(), stdin, append([]string{"send"}, args...)...)
}

// topKeys returns the keys of the JSON object b, in order.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// payload decodes a request's body, checking the parts every delivery
// shares: eventId a UUIDv4, createdAt set.
func payload(t *testing.T, r received) webhook.Payload {
	t.Helper()
	var p webhook.Payload
	require.NoError(t, json.Unmarshal(r.body, &p))
	id, err := uuid.Parse(p.EventID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(4), id.Version())
	require.Equal(t, uuid.RFC4122, id.Variant())
	require.Equal(t, id.String(), p.EventID, "eventId in canonical form")
	require.Positive(t, p.CreatedAt)
	return p
}

// lines splits output into lines, without the trailing empty one.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

const dur = `[0-9.]+(ns|µs|ms|s|m[0-9.]*s?)`

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	code, out, errOut := sendCmd(t, "",
		"--url", rcv.srv.URL+"/hooks/misskey?x=1", "--event", "mention", "--secret", "s3cret",
		"--host", "example.tld:8443", "--user-id", "user-1", "--hook-id", "hook-1",
		"--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Empty(t, errOut)

	reqs := rcv.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, http.MethodPost, r.method)
	for k, want := range map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "Misskey-Hooks",
		"X-Misskey-Host":        "example.tld:8443",
		"X-Misskey-Hook-Id":     "hook-1",
		"X-Misskey-Hook-Secret": "s3cret",
	} {
		require.Equal(t, []string{want}, r.header.Values(k), k)
	}
	require.Equal(t, []string{"server", "hookId", "userId", "eventId", "createdAt", "type", "body"}, topKeys(t, r.body))
	p := payload(t, r)
	require.Equal(t, "https://example.tld:8443", p.Server)
	require.Equal(t, "hook-1", p.HookID)
	require.Equal(t, "user-1", p.UserID)
	require.Equal(t, webhook.EventMention, p.Type)
	dummy, err := misskey.DummyBody(string(webhook.EventMention))
	require.NoError(t, err)
	want, err := webhook.EncodeBody(dummy)
	require.NoError(t, err)
	require.Equal(t, string(want), string(p.Body))

	l := lines(out)
	require.Len(t, l, 2, out)
	require.Regexp(t, `^attempt 1: 204 No Content in `+dur+`$`, l[0])
	require.Equal(t, "delivered (eventId "+p.EventID+")", l[1])
}

func TestSendSigns(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	key := webhook.NewSigningSecret()
	code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", "note", "--secret", "s3cret",
		"--signing-secret", key, "--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	reqs := rcv.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	p := payload(t, r)
	require.Equal(t, p.EventID, r.header.Get(webhook.HeaderWebhookID))
	require.Equal(t, "s3cret", r.header.Get("X-Misskey-Hook-Secret"), "the secret header is sent beside")
	require.NoError(t, verify.VerifySignature(r.header, r.body, time.Now(), verify.DefaultTolerance, key))
	require.ErrorIs(t, verify.VerifySignature(r.header, r.body, time.Now(), verify.DefaultTolerance, webhook.NewSigningSecret()),
		verify.ErrBadSignature)

	// Without the flag, no signature.
	code, out, errOut = sendCmd(t, "", "--url", rcv.srv.URL, "--event", "note", "--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	reqs = rcv.requests()
	require.Len(t, reqs, 2)
	for _, h := range []string{webhook.HeaderWebhookID, webhook.HeaderWebhookTimestamp, webhook.HeaderWebhookSignature} {
		require.Empty(t, reqs[1].header.Values(h), h)
	}
}

func TestSendDefaults(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", "note", "--allow-network", "127.0.0.1")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	reqs := rcv.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, defaultSendHost, reqs[0].header.Get("X-Misskey-Host"))
	require.Equal(t, []string{""}, reqs[0].header.Values("X-Misskey-Hook-Secret"), "the secret header is sent, empty")
	p := payload(t, reqs[0])
	require.Equal(t, "https://"+defaultSendHost, p.Server)
	require.Equal(t, defaultSendUserID, p.UserID)
	require.Regexp(t, `^[0-9a-z]{16}$`, p.HookID, "a generated Misskey-style id")
	require.Equal(t, p.HookID, reqs[0].header.Get("X-Misskey-Hook-Id"))
}

func TestSendGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		allow     func(port int) []string
		delivered bool
	}{
		{name: "no allow-list", allow: func(int) []string { return nil }},
		{name: "other network", allow: func(int) []string { return []string{"10.0.0.0/8", "::1/128"} }},
		{name: "other port", allow: func(p int) []string { return []string{"127.0.0.1/32:" + strconv.Itoa(p%65535+1)} }},
		{name: "network", allow: func(int) []string { return []string{"127.0.0.0/8"} }, delivered: true},
		{name: "address and port", allow: func(p int) []string { return []string{"10.0.0.0/8", "127.0.0.1/32:" + strconv.Itoa(p)} }, delivered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			args := []string{"--url", rcv.srv.URL, "--event", "note", "--backoff-base", "1ms"}
			for _, a := range tt.allow(rcv.port(t)) {
				args = append(args, "--allow-network", a)
			}
			code, out, errOut := sendCmd(t, "", args...)
			require.Empty(t, errOut)
			if tt.delivered {
				require.Equal(t, 0, code, out)
				require.Len(t, rcv.requests(), 1)
				return
			}
			require.Equal(t, 1, code, out)
			require.Empty(t, rcv.requests(), "the guard let a request through")
			l := lines(out)
			require.Len(t, l, 2, "one attempt, not retried:\n%s", out)
			require.Regexp(t, `^attempt 1: failed after `+dur+`: .*127\.0\.0\.1:[0-9]+ is loopback.*address blocked by private-network guard`, l[0])
			require.Regexp(t, `^gave up: the private-network guard refused the receiver's address; allow it with --allow-network \(eventId [0-9a-f-]{36}\)$`, l[1])
		})
	}
}

func TestSendRetries(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusNoContent)
	code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", "follow",
		"--attempts", "3", "--backoff-base", "10ms", "--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	l := lines(out)
	require.Len(t, l, 3, out)
	require.Regexp(t, `^attempt 1: 500 Internal Server Error in `+dur+`, retrying in `+dur+`$`, l[0])
	require.Regexp(t, `^attempt 2: 204 No Content in `+dur+`$`, l[1])

	reqs := rcv.requests()
	require.Len(t, reqs, 2)
	first, second := payload(t, reqs[0]), payload(t, reqs[1])
	require.Equal(t, first.EventID, second.EventID, "a retry keeps the eventId")
	require.Equal(t, string(reqs[0].body), string(reqs[1].body), "a retry sends the same bytes")
	require.Equal(t, reqs[0].header, reqs[1].header)
	require.Equal(t, "delivered (eventId "+first.EventID+")", l[2])
}

func TestSendGivesUp(t *testing.T) {
	t.Parallel()
	refused := newReceiver(t)
	refused.srv.Close() // nothing listens on its port now

	tests := []struct {
		name     string
		rcv      *receiver
		url      string
		attempts string
		lines    []string // patterns, one per output line
	}{
		{
			name: "4xx is final", rcv: newReceiver(t, http.StatusBadRequest), attempts: "4",
			lines: []string{
				`^attempt 1: 400 Bad Request in ` + dur + `$`,
				`^gave up: 400 Bad Request is final, not retried \(eventId [0-9a-f-]{36}\)$`,
			},
		},
		{
			name: "5xx until no attempt is left", rcv: newReceiver(t, http.StatusServiceUnavailable), attempts: "2",
			lines: []string{
				`^attempt 1: 503 Service Unavailable in ` + dur + `, retrying in ` + dur + `$`,
				`^attempt 2: 503 Service Unavailable in ` + dur + `$`,
				`^gave up: no attempt left after 2 \(eventId [0-9a-f-]{36}\)$`,
			},
		},
		{
			name: "unusual status", rcv: newReceiver(t, 599), attempts: "1",
			lines: []string{
				`^attempt 1: 599 in ` + dur + `$`,
				`^gave up: no attempt left after 1 `,
			},
		},
		{
			name: "connection refused", url: refused.srv.URL, attempts: "2",
			lines: []string{
				`^attempt 1: failed after ` + dur + `: POST http://127\.0\.0\.1:[0-9]+: .*connection refused, retrying in ` + dur + `$`,
				`^attempt 2: failed after ` + dur + `: POST http://127\.0\.0\.1:[0-9]+: .*connection refused$`,
				`^gave up: no attempt left after 2 `,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := tt.url
			if tt.rcv != nil {
				u = tt.rcv.srv.URL
			}
			code, out, errOut := sendCmd(t, "", "--url", u, "--event", "note",
				"--attempts", tt.attempts, "--backoff-base", "1ms", "--allow-network", "127.0.0.0/8")
			require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Empty(t, errOut)
			l := lines(out)
			require.Len(t, l, len(tt.lines), out)
			for i, re := range tt.lines {
				require.Regexp(t, re, l[i])
			}
			if tt.rcv != nil {
				require.Len(t, tt.rcv.requests(), len(tt.lines)-1, "one request per attempt")
			}
		})
	}
}

func TestSendBody(t *testing.T) {
	t.Parallel()
	const body = "{\"custom\": true,\n \"list\": [1, 2], \"html\": \"<b>&</b>\"}"
	file := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(file, []byte("\n"+body+"\n"), 0o600))

	for _, tt := range []struct {
		name, file, stdin string
	}{
		{name: "file", file: file},
		{name: "stdin", file: "-", stdin: body + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			code, out, errOut := sendCmd(t, tt.stdin, "--url", rcv.srv.URL, "--event", "reaction",
				"--body", tt.file, "--allow-network", "127.0.0.0/8")
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			reqs := rcv.requests()
			require.Len(t, reqs, 1)
			p := payload(t, reqs[0])
			require.Equal(t, webhook.EventReaction, p.Type)
			require.Equal(t, `{"custom":true,"list":[1,2],"html":"<b>&</b>"}`, string(p.Body),
				"the body is sent compacted, as JSON.stringify writes it, without HTML escapes")
		})
	}
}

// TestSendEveryEventHasMisskeysKeys sends each of the 13 events with its
// dummy body, as a user would try a receiver, and checks what arrives
// against the keys Misskey's packers write (misskeytest's lists, read
// from Misskey's source) and, with tsc, against misskey-js's types (see
// misskeytest.RequireTypes for when that part is skipped).
func TestSendEveryEventHasMisskeysKeys(t *testing.T) {
	t.Parallel()
	events := misskeytest.Events()
	require.Len(t, events, 13)
	var mu sync.Mutex
	var bodies []misskeytest.Body
	t.Run("send", func(t *testing.T) {
		for _, e := range events {
			t.Run(e, func(t *testing.T) {
				t.Parallel()
				rcv := newReceiver(t)
				code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", e, "--allow-network", "127.0.0.0/8")
				require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
				reqs := rcv.requests()
				require.Len(t, reqs, 1)
				p := payload(t, reqs[0])
				require.Equal(t, webhook.Event(e), p.Type)
				require.NoError(t, misskeytest.CheckBody(e, p.Body))
				mu.Lock()
				bodies = append(bodies, misskeytest.Body{Event: e, JSON: p.Body})
				mu.Unlock()
			})
		}
	})
	require.Len(t, bodies, len(events))
	misskeytest.RequireTypes(t, "../../testdata/misskeyjs", bodies)
}

func TestSendSystemEvent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", "abuseReport",
		"--hook-id", "system-hook", "--secret", "mod", "--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	reqs := rcv.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, []string{"server", "hookId", "eventId", "createdAt", "type", "body"}, topKeys(t, reqs[0].body))
	p := payload(t, reqs[0])
	require.Empty(t, p.UserID)
	require.Equal(t, "system-hook", p.HookID)
	require.Equal(t, webhook.EventAbuseReport, p.Type)
	require.Equal(t, "mod", reqs[0].header.Get("X-Misskey-Hook-Secret"))
	var report map[string]any
	require.NoError(t, json.Unmarshal(p.Body, &report))
	require.Contains(t, report, "reporterId")
}

func TestSendInterrupted(t *testing.T) {
	t.Parallel()
	// The receiver cancels the command's context while the first attempt
	// is in flight: either the attempt is cut short or its retry wait
	// (an hour) is; both must end the command at once with exit 1.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	rcv.onRequest = cancel
	code, out, errOut := runCmd(ctx, "", "send", "--url", rcv.srv.URL, "--event", "note",
		"--backoff-base", "1h", "--allow-network", "127.0.0.0/8")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	l := lines(out)
	require.Equal(t, "gave up: interrupted", l[len(l)-1])
	require.Len(t, rcv.requests(), 1)
}

func TestSendUsageErrors(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	t.Cleanup(func() { require.Empty(t, rcv.requests(), "a usage error sent a request") })
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	badJSON := write("bad.json", `{"a": `)
	array := write("array.json", `[1, 2]`)
	empty := write("empty.json", "")
	big := write("big.json", `{"a":"`+strings.Repeat("x", webhook.DefaultMaxBodyBytes)+`"}`)

	base := []string{"--url", rcv.srv.URL, "--event", "note", "--allow-network", "127.0.0.0/8"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string // in stderr
	}{
		{name: "nothing", args: nil, want: "missing --url"},
		{name: "no url", args: []string{"--event", "note"}, want: "missing --url"},
		{name: "no event", args: []string{"--url", rcv.srv.URL}, want: "missing --event"},
		{name: "unknown event", args: []string{"--url", rcv.srv.URL, "--event", "Note"}, want: `bad --event: webhook: unknown event "Note"`},
		{name: "url scheme", args: []string{"--url", "ftp://example.tld/", "--event", "note"}, want: "bad --url"},
		{name: "url without host", args: []string{"--url", "http://", "--event", "note"}, want: "bad --url"},
		{name: "url with user info", args: []string{"--url", "http://u:p@example.tld/", "--event", "note"}, want: "bad --url"},
		{name: "url relative", args: []string{"--url", "/hooks", "--event", "note"}, want: "bad --url"},
		{name: "attempts zero", args: with("--attempts", "0"), want: "bad --attempts: must be >= 1, got 0"},
		{name: "attempts negative", args: with("--attempts", "-3"), want: "bad --attempts"},
		{name: "attempts not a number", args: with("--attempts", "many"), want: "for --attempts: "},
		{name: "backoff not a duration", args: with("--backoff-base", "soon"), want: "for --backoff-base: "},
		{name: "backoff without unit", args: with("--backoff-base", "10"), want: "for --backoff-base: "},
		{name: "backoff zero", args: with("--backoff-base", "0s"), want: "bad --backoff-base"},
		{name: "backoff negative", args: with("--backoff-base", "-1s"), want: "bad --backoff-base"},
		{name: "cidr garbage", args: with("--allow-network", "localhost"), want: "for --allow-network: "},
		{name: "cidr bits", args: with("--allow-network", "10.0.0.0/33"), want: "for --allow-network: "},
		{name: "cidr host bits", args: with("--allow-network", "10.1.0.0/8"), want: "for --allow-network: "},
		{name: "cidr port", args: with("--allow-network", "127.0.0.1/32:70000"), want: "for --allow-network: "},
		{name: "cidr empty", args: with("--allow-network", ""), want: "for --allow-network: "},
		{name: "body missing file", args: with("--body", filepath.Join(dir, "nope.json")), want: "bad --body"},
		{name: "body invalid", args: with("--body", badJSON), want: "bad --body"},
		{name: "body array", args: with("--body", array), want: "bad --body"},
		{name: "body empty file", args: with("--body", empty), want: "bad --body"},
		{name: "body too big", args: with("--body", big), want: "bad --body"},
		{name: "body no name", args: with("--body", ""), want: "bad --body"},
		{name: "body stdin invalid", args: with("--body", "-"), stdin: "not json", want: "bad --body: standard input is not valid JSON"},
		{name: "host with scheme", args: with("--host", "https://example.tld"), want: "bad --host"},
		{name: "host empty", args: with("--host", ""), want: "bad --host"},
		{name: "host bad port", args: with("--host", "example.tld:"), want: "bad --host"},
		{name: "user id with space", args: with("--user-id", "a b"), want: "bad --user-id"},
		{name: "user id empty", args: with("--user-id", ""), want: "bad --user-id"},
		{name: "user id on system event", args: []string{"--url", rcv.srv.URL, "--event", "userCreated", "--user-id", "u1"}, want: "--user-id does not go with userCreated"},
		{name: "hook id empty", args: with("--hook-id", ""), want: "bad --hook-id"},
		{name: "hook id too long", args: with("--hook-id", strings.Repeat("h", 129)), want: "bad --hook-id"},
		{name: "secret with newline", args: with("--secret", "a\nb"), want: "bad --secret"},
		{name: "secret with edge space", args: with("--secret", " s"), want: "bad --secret"},
		{name: "signing secret prefix", args: with("--signing-secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), want: `bad --signing-secret: webhook: signing secret must start with "whsec_"`},
		{name: "signing secret base64", args: with("--signing-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"), want: "bad --signing-secret: webhook: signing secret is not standard padded base64"},
		{name: "signing secret long", args: with("--signing-secret", "whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 65))), want: "bad --signing-secret: webhook: signing secret must hold 24 to 64 bytes, got 65"},
		{name: "signing secret empty", args: with("--signing-secret", ""), want: "bad --signing-secret"},
		{name: "unknown flag", args: with("--retries", "3"), want: "flag provided but not defined: -retries"},
		{name: "unexpected argument", args: with("extra"), want: `unexpected argument "extra"`},
		{name: "flag after argument", args: []string{"extra", "--url", rcv.srv.URL}, want: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := sendCmd(t, tt.stdin, tt.args...)
			require.Equal(t, 2, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tt.want)
			require.True(t, strings.HasPrefix(errOut, "fedihook send: "), errOut)
			require.Contains(t, errOut, "Run 'fedihook send -h' for usage.")
			require.NotContains(t, errOut, "MfKQ9r8G", "a secret is quoted")
		})
	}
}

func TestAttemptLine(t *testing.T) {
	t.Parallel()
	// The wording of attempt lines for outcomes the command tests cannot
	// easily produce.
	del := &webhook.Delivery{ID: uuid.New(), HookID: "h"}
	tests := []struct {
		r    webhook.AttemptReport
		want *regexp.Regexp
	}{
		{
			r:    webhook.AttemptReport{Delivery: del, Attempt: 3, Status: 204, Duration: 2143 * 1000, State: webhook.StateDelivered},
			want: regexp.MustCompile(`^attempt 3: 204 No Content in 2\.1ms$`),
		},
		{
			r: webhook.AttemptReport{Delivery: del, Attempt: 1, Duration: 5e9, State: webhook.StateFailed,
				Err: &webhook.DeliveryError{HookID: "h", Attempt: 1, Err: webhook.Permanent(io.ErrUnexpectedEOF)}},
			want: regexp.MustCompile(`^attempt 1: failed after 5s: unexpected EOF$`),
		},
	}
	for _, tt := range tests {
		require.Regexp(t, tt.want, attemptLine(tt.r))
	}
	r := webhook.AttemptReport{Delivery: del, Attempt: 1, State: webhook.StateFailed,
		Err: &webhook.DeliveryError{HookID: "h", Attempt: 1, Err: webhook.Permanent(io.ErrUnexpectedEOF)}}
	require.Equal(t, "unexpected EOF is final, not retried", giveUpReason(&r))
}

// TestSendLeavesNoGoroutine checks that send closes its keep-alive
// connections itself, while the receiver still holds its end open. It is
// not parallel: it counts goroutines, which other tests would start.
func TestSendLeavesNoGoroutine(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusNoContent)
	before := goleak.IgnoreCurrent()
	code, out, errOut := sendCmd(t, "", "--url", rcv.srv.URL, "--event", "note",
		"--backoff-base", "1ms", "--allow-network", "127.0.0.0/8")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	goleak.VerifyNone(t, before)
}
