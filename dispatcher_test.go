package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

var ctx = context.Background()

// noJitter is Misskey's schedule without jitter, so waits are exact.
var noJitter = webhook.BackOffPolicy{New: func() backoff.BackOff { return &webhook.MisskeyBackOff{Jitter: -1} }}

func newTestDispatcher(t *testing.T, cfg *webhook.Config) (*webhook.Dispatcher, *webhooktest.Transport, *webhooktest.Clock) {
	t.Helper()
	c := webhook.Config{RetryPolicy: noJitter}
	if cfg != nil {
		c = *cfg
	}
	return webhooktest.New(t, &c)
}

func noteBody(text string) map[string]any {
	return map[string]any{"note": map[string]any{"id": "9abc", "text": text}}
}

func TestEmitDeliversToMatchingActiveHooks(t *testing.T) {
	t.Parallel()
	d, tr, clk := newTestDispatcher(t, nil)
	a := webhooktest.CreateHook(t, d, "alice", webhook.EventNote, webhook.EventMention)
	b := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	unsubscribed := webhooktest.CreateHook(t, d, "alice", webhook.EventFollow)
	other := webhooktest.CreateHook(t, d, "bob", webhook.EventNote)
	inactive := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	inactive.Active = false
	require.NoError(t, d.UpdateHook(ctx, inactive))

	body := noteBody("hello <world> & \"friends\"")
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, body))
	require.Empty(t, tr.Requests(), "Emit does no network I/O")
	require.Equal(t, 2, webhooktest.Flush(t, d))

	ra := tr.RequireReceived(t, a.ID, webhook.EventNote, body)
	rb := tr.RequireReceived(t, b.ID, webhook.EventNote, body)
	tr.RequireNone(t, unsubscribed.ID)
	tr.RequireNone(t, other.ID)
	tr.RequireNone(t, inactive.ID)

	require.NotEqual(t, ra.Payload.EventID, rb.Payload.EventID, "each webhook gets its own eventId")
	for _, r := range []webhooktest.Received{ra, rb} {
		id, err := uuid.Parse(r.Payload.EventID)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(4), id.Version())
		require.Equal(t, clk.Now().UnixMilli(), r.Payload.CreatedAt)
		require.Equal(t, "alice", r.Payload.UserID)
		require.Equal(t, "https://example.tld", r.Payload.Server)
		require.Contains(t, string(r.Body), `"text":"hello <world> & \"friends\""`, "no HTML escaping, as JSON.stringify")
	}
}

var keyOrder = regexp.MustCompile(`^\{"server":"[^"]*","hookId":"[^"]*","userId":"[^"]*","eventId":"[0-9a-f-]{36}","createdAt":[0-9]+,"type":"[a-zA-Z]+","body":\{.*\}\}$`)
var keyOrderSystem = regexp.MustCompile(`^\{"server":"[^"]*","hookId":"[^"]*","eventId":"[0-9a-f-]{36}","createdAt":[0-9]+,"type":"[a-zA-Z]+","body":\{.*\}\}$`)

// receiver is a real HTTP server on loopback that records requests and
// answers with the statuses it is given, then 204.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*recorded
	statuses []int
	header   http.Header
	got      chan *recorded
}

type recorded struct {
	Method, Path, Host string
	Header             http.Header
	Body               []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses, got: make(chan *recorded, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := &recorded{Method: req.Method, Path: req.URL.Path, Host: req.Host, Header: req.Header.Clone(), Body: body}
		r.mu.Lock()
		r.requests = append(r.requests, rec)
		status := http.StatusNoContent
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.got <- rec
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) Requests() []*recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*recorded(nil), r.requests...)
}

func loopbackTransport(t *testing.T) *webhook.HTTPTransport {
	t.Helper()
	rule, err := webhook.ParseAllowRule("127.0.0.0/8")
	require.NoError(t, err)
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: []webhook.AllowRule{rule}})
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func realDispatcher(t *testing.T, tr webhook.Transport, cfg *webhook.Config) (*webhook.Dispatcher, *webhooktest.Clock) {
	t.Helper()
	c := webhook.Config{Host: "example.tld:8443", RetryPolicy: noJitter}
	if cfg != nil {
		c = *cfg
	}
	clk := webhooktest.NewClock(webhooktest.Epoch)
	c.Transport, c.Clock = tr, clk
	d, err := webhook.New(nil, &c)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Retries not yet due on the fake clock are left in the memory
		// store, and reported.
		if err := d.Shutdown(ctx); !errors.Is(err, webhook.ErrUndelivered) {
			require.NoError(t, err)
		}
	})
	return d, clk
}

func TestWireFormatOverHTTP(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	d, clk := realDispatcher(t, loopbackTransport(t), nil)
	user, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "9user", Name: "discord", On: []webhook.Event{webhook.EventMention},
		URL: rcv.URL + "/hook?x=1", Secret: "s3cr3t value", Active: true})
	require.NoError(t, err)
	sys, err := d.CreateHook(ctx, &webhook.Webhook{Name: "mods", On: []webhook.Event{webhook.EventUserCreated},
		URL: rcv.URL + "/sys", Secret: "", Active: true})
	require.NoError(t, err)

	require.NoError(t, d.Emit(ctx, "9user", webhook.EventMention, noteBody("hi @9user")))
	require.NoError(t, d.EmitSystem(ctx, webhook.EventUserCreated, map[string]any{"id": "9new", "username": "new"}))
	require.Equal(t, 2, webhooktest.Flush(t, d))

	reqs := rcv.Requests()
	require.Len(t, reqs, 2)
	byPath := map[string]*recorded{}
	for _, r := range reqs {
		byPath[r.Path] = r
	}
	u, s := byPath["/hook"], byPath["/sys"]
	require.NotNil(t, u)
	require.NotNil(t, s)
	for _, tc := range []struct {
		r      *recorded
		hook   *webhook.Webhook
		secret string
	}{{u, user, "s3cr3t value"}, {s, sys, ""}} {
		require.Equal(t, http.MethodPost, tc.r.Method)
		h := tc.r.Header
		require.Equal(t, []string{"application/json"}, h["Content-Type"])
		require.Equal(t, []string{"Misskey-Hooks"}, h["User-Agent"])
		require.Equal(t, []string{"example.tld:8443"}, h["X-Misskey-Host"])
		require.Equal(t, []string{tc.hook.ID}, h["X-Misskey-Hook-Id"])
		require.Equal(t, []string{tc.secret}, h["X-Misskey-Hook-Secret"], "the secret in plain text, empty included")
		require.Equal(t, fmt.Sprint(len(tc.r.Body)), h.Get("Content-Length"))
	}
	require.Regexp(t, keyOrder, string(u.Body))
	require.Regexp(t, keyOrderSystem, string(s.Body))
	var p webhook.Payload
	require.NoError(t, json.Unmarshal(u.Body, &p))
	require.Equal(t, "https://example.tld:8443", p.Server)
	require.Equal(t, user.ID, p.HookID)
	require.Equal(t, clk.Now().UnixMilli(), p.CreatedAt)
	require.Equal(t, webhook.EventMention, p.Type)
	require.JSONEq(t, `{"note":{"id":"9abc","text":"hi @9user"}}`, string(p.Body))

	got, err := d.GetHook(ctx, user.ID)
	require.NoError(t, err)
	require.Equal(t, 204, *got.LatestStatus)
	require.True(t, clk.Now().Equal(*got.LatestSentAt))
}

func TestUserAgentConfigurable(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, &webhook.Config{UserAgent: "MyServer-Hooks/1.0", Origin: "https://social.example"})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventFollow)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventFollow, map[string]any{"user": map[string]any{}}))
	webhooktest.Flush(t, d)
	r := tr.RequireReceived(t, h.ID, webhook.EventFollow, nil)
	require.Equal(t, "MyServer-Hooks/1.0", r.Header.Get("User-Agent"))
	require.Equal(t, "https://social.example", r.Payload.Server)
	require.Equal(t, "example.tld", r.Header.Get("X-Misskey-Host"))
}

// TestOutcomes covers every row of SPEC.md's outcome table.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	netErr := &netError{}
	for _, tc := range []struct {
		name  string
		reply webhooktest.Reply
		want  webhook.State
	}{
		{"200", webhooktest.Reply{Status: 200}, webhook.StateDelivered},
		{"201", webhooktest.Reply{Status: 201}, webhook.StateDelivered},
		{"204", webhooktest.Reply{Status: 204}, webhook.StateDelivered},
		{"299", webhooktest.Reply{Status: 299}, webhook.StateDelivered},
		{"400", webhooktest.Reply{Status: 400}, webhook.StateFailed},
		{"401", webhooktest.Reply{Status: 401}, webhook.StateFailed},
		{"404", webhooktest.Reply{Status: 404}, webhook.StateFailed},
		{"410", webhooktest.Reply{Status: 410}, webhook.StateFailed},
		{"499", webhooktest.Reply{Status: 499}, webhook.StateFailed},
		{"429", webhooktest.Reply{Status: 429}, webhook.StatePending},
		{"500", webhooktest.Reply{Status: 500}, webhook.StatePending},
		{"502", webhooktest.Reply{Status: 502}, webhook.StatePending},
		{"503", webhooktest.Reply{Status: 503}, webhook.StatePending},
		{"302 redirect", webhooktest.Reply{Status: 302, Header: http.Header{"Location": {"https://elsewhere/"}}}, webhook.StatePending},
		{"304", webhooktest.Reply{Status: 304}, webhook.StatePending},
		{"101", webhooktest.Reply{Status: 101}, webhook.StatePending},
		{"connection reset", webhooktest.Reply{Err: fmt.Errorf("webhook: post: %w", syscall.ECONNRESET)}, webhook.StatePending},
		{"timeout", webhooktest.Reply{Err: fmt.Errorf("webhook: post: %w", context.DeadlineExceeded)}, webhook.StatePending},
		{"dns", webhooktest.Reply{Err: netErr}, webhook.StatePending},
		{"blocked address", webhooktest.Reply{Err: fmt.Errorf("webhook: dial 10.0.0.1:80: %w", webhook.ErrBlockedAddress)}, webhook.StateFailed},
		{"permanent", webhooktest.Reply{Err: webhook.Permanent(errors.New("no route"))}, webhook.StateFailed},
		{"backoff permanent", webhooktest.Reply{Err: backoff.Permanent(errors.New("no route"))}, webhook.StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var reports []webhook.AttemptReport
			var mu sync.Mutex
			d, tr, clk := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, OnAttempt: func(r webhook.AttemptReport) {
				mu.Lock()
				defer mu.Unlock()
				reports = append(reports, r)
			}})
			h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
			tr.Script(h.URL, tc.reply)
			require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
			require.Equal(t, 1, webhooktest.Flush(t, d))
			require.Len(t, reports, 1)
			r := reports[0]
			require.Equal(t, tc.want, r.State)
			require.Equal(t, 1, r.Attempt)
			del, err := d.Store().GetDelivery(ctx, r.Delivery.ID)
			require.NoError(t, err)
			require.Equal(t, tc.want, del.State)
			hook, err := d.GetHook(ctx, h.ID)
			require.NoError(t, err)
			require.True(t, clk.Now().Equal(*hook.LatestSentAt))
			if tc.reply.Err != nil {
				require.Equal(t, 1, *hook.LatestStatus, "no HTTP status: latestStatus 1")
				require.ErrorIs(t, r.Err, tc.reply.Err)
				require.NotEmpty(t, del.LastError)
			} else {
				require.Equal(t, tc.reply.Status, *hook.LatestStatus)
				require.Equal(t, tc.reply.Status, del.LastStatus)
			}
			switch tc.want {
			case webhook.StateDelivered:
				require.NoError(t, r.Err)
			case webhook.StatePending:
				var de *webhook.DeliveryError
				require.ErrorAs(t, r.Err, &de)
				require.Equal(t, 1, de.Attempt)
				require.True(t, clk.Now().Add(60*time.Second).Equal(r.NextAttemptAt), "first retry after 60 s, got %v", r.NextAttemptAt.Sub(clk.Now()))
				require.Zero(t, webhooktest.Flush(t, d), "nothing due before the wait")
			case webhook.StateFailed:
				require.Error(t, r.Err)
				clk.Advance(24 * time.Hour)
				require.Zero(t, webhooktest.Flush(t, d), "a final failure is not retried")
			}
		})
	}
}

type netError struct{}

func (*netError) Error() string   { return "lookup receiver.test: no such host" }
func (*netError) Timeout() bool   { return false }
func (*netError) Temporary() bool { return false }

func TestRetriesReuseEventIDAndBody(t *testing.T) {
	t.Parallel()
	d, tr, clk := newTestDispatcher(t, nil)
	flaky := webhooktest.CreateHook(t, d, "u", webhook.EventReply)
	steady := webhooktest.CreateHook(t, d, "u", webhook.EventReply)
	tr.Script(flaky.URL, webhooktest.Reply{Status: 503}, webhooktest.Reply{Err: syscall.ECONNREFUSED}, webhooktest.Reply{Status: 500})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventReply, noteBody("reply")))
	webhooktest.Flush(t, d)
	// Misskey's schedule: 60 s, 180 s, 420 s (no jitter here).
	for _, wait := range []time.Duration{60 * time.Second, 180 * time.Second, 420 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		require.Zero(t, webhooktest.Flush(t, d), "not due before %v", wait)
		clk.Advance(time.Millisecond)
		require.Equal(t, 1, webhooktest.Flush(t, d))
	}
	got := tr.To(flaky.ID)
	require.Len(t, got, 4, "4 attempts in all")
	for _, r := range got[1:] {
		require.Equal(t, got[0].Body, r.Body, "every retry sends the same bytes")
		require.Equal(t, got[0].Payload.EventID, r.Payload.EventID)
		require.Equal(t, got[0].Payload.CreatedAt, r.Payload.CreatedAt)
	}
	s := tr.RequireReceived(t, steady.ID, webhook.EventReply, nil)
	require.NotEqual(t, s.Payload.EventID, got[0].Payload.EventID)
	hook, err := d.GetHook(ctx, flaky.ID)
	require.NoError(t, err)
	require.Equal(t, 204, *hook.LatestStatus)
}

func TestGivesUpAfterFourAttempts(t *testing.T) {
	t.Parallel()
	var final []webhook.AttemptReport
	var mu sync.Mutex
	d, tr, clk := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, OnAttempt: func(r webhook.AttemptReport) {
		mu.Lock()
		defer mu.Unlock()
		final = append(final, r)
	}})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	tr.SetDefault(webhooktest.Reply{Status: 500})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	for range 10 {
		webhooktest.Flush(t, d)
		clk.Advance(time.Hour)
	}
	require.Len(t, tr.To(h.ID), 4)
	require.Len(t, final, 4)
	require.Equal(t, webhook.StateFailed, final[3].State)
	del, err := d.Store().GetDelivery(ctx, final[3].Delivery.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, del.State)
	require.Equal(t, 4, del.Attempts)
	require.Equal(t, "status 500 Internal Server Error", del.LastError)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		header func(now time.Time) string
		want   time.Duration
	}{
		{"seconds", func(time.Time) string { return "30" }, 30 * time.Second},
		{"zero", func(time.Time) string { return "0" }, 0},
		{"http date", func(now time.Time) string { return now.Add(2 * time.Hour).UTC().Format(http.TimeFormat) }, 2 * time.Hour},
		{"past date", func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0},
		{"bounded", func(time.Time) string { return "999999" }, 8 * time.Hour},
		{"malformed", func(time.Time) string { return "soon" }, 60 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, tr, clk := newTestDispatcher(t, nil)
			h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
			tr.Script(h.URL, webhooktest.Reply{Status: 429, Header: http.Header{"Retry-After": {tc.header(clk.Now())}}})
			require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
			if tc.want == 0 {
				require.Equal(t, 2, webhooktest.Flush(t, d), "due again at once")
				require.Len(t, tr.To(h.ID), 2)
				return
			}
			require.Equal(t, 1, webhooktest.Flush(t, d))
			clk.Advance(tc.want - time.Millisecond)
			require.Zero(t, webhooktest.Flush(t, d))
			clk.Advance(time.Millisecond)
			require.Equal(t, 1, webhooktest.Flush(t, d), "retried exactly when Retry-After said")
			require.Len(t, tr.To(h.ID), 2)
		})
	}
}

func TestPrivateNetworkGuard(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	port := rcv.URL[strings.LastIndex(rcv.URL, ":")+1:]
	guarded, err := webhook.NewHTTPTransport(nil)
	require.NoError(t, err)
	t.Cleanup(guarded.CloseIdleConnections)
	var reports []webhook.AttemptReport
	var mu sync.Mutex
	d, _ := realDispatcher(t, guarded, &webhook.Config{Host: "example.tld", RetryPolicy: noJitter, OnAttempt: func(r webhook.AttemptReport) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, r)
	}})
	for _, url := range []string{rcv.URL, "http://localhost:" + port + "/"} {
		_, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: url, Active: true})
		require.NoError(t, err)
	}
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	require.Equal(t, 2, webhooktest.Flush(t, d))
	require.Empty(t, rcv.Requests(), "the guard refuses loopback, by address and by name")
	require.Len(t, reports, 2)
	for _, r := range reports {
		require.ErrorIs(t, r.Err, webhook.ErrBlockedAddress)
		require.Equal(t, webhook.StateFailed, r.State, "a blocked address is not retried")
		require.NotContains(t, r.Err.Error(), "secret")
	}

	// Allow-listed, the same receiver gets it.
	d2, _ := realDispatcher(t, loopbackTransport(t), nil)
	_, err = d2.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: rcv.URL, Active: true})
	require.NoError(t, err)
	require.NoError(t, d2.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d2)
	require.Len(t, rcv.Requests(), 1)
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target := newReceiver(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/stolen", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	d, _ := realDispatcher(t, loopbackTransport(t), nil)
	h, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: redirector.URL, Secret: "top", Active: true})
	require.NoError(t, err)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d)
	require.Empty(t, target.Requests(), "the redirect (and the secret) went nowhere")
	got, err := d.GetHook(ctx, h.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, *got.LatestStatus)
}

// startShutdown calls d.Shutdown in a goroutine, returns once Shutdown has
// begun, and delivers its result on the channel returned. Emit refuses
// once Shutdown has begun: the flag is polled through Emit itself (to a
// user with no webhooks, so nothing more is enqueued).
func startShutdown(t *testing.T, d *webhook.Dispatcher) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.Shutdown(ctx) }()
	for {
		if err := d.Emit(ctx, "nobody", webhook.EventNote, noteBody("late")); err != nil {
			require.ErrorIs(t, err, webhook.ErrClosed)
			return done
		}
	}
}

func TestStartDeliversAndShutdownDrains(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	arrived := make(chan webhooktest.Received, 10)
	release := make(chan struct{})
	tr.OnSend(func(r webhooktest.Received) {
		arrived <- r
		<-release
	})
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	require.NoError(t, d.Start(ctx), "Start twice is harmless")
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	r := <-arrived // in flight now
	require.Equal(t, h.ID, r.Payload.HookID)

	done := startShutdown(t, d)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a delivery in flight", err)
	default:
	}
	close(release)
	require.NoError(t, <-done)
	id, err := uuid.Parse(r.Payload.EventID)
	require.NoError(t, err)
	del, err := d.Store().GetDelivery(ctx, id)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, del.State, "the in-flight delivery finished")
	require.ErrorIs(t, d.Start(ctx), webhook.ErrClosed)
	_, err = d.Drain(ctx)
	require.ErrorIs(t, err, webhook.ErrClosed)
}

func TestShutdownDeadlineInterruptsInFlight(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	arrived := make(chan struct{}, 1)
	tr.OnSend(func(webhooktest.Received) { arrived <- struct{}{} })
	blocking := webhook.TransportFunc(func(c context.Context, req *webhook.Request) (*webhook.Response, error) {
		if _, err := tr.Send(context.Background(), req); err != nil {
			return nil, err
		}
		<-c.Done() // a receiver that never answers
		return nil, fmt.Errorf("webhook: post: %w", c.Err())
	})
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: blocking})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	<-arrived
	sctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, d.Shutdown(sctx), context.Canceled)
	r := tr.To(h.ID)
	require.Len(t, r, 1)
	id := uuid.MustParse(r[0].Payload.EventID)
	del, err := d.Store().GetDelivery(ctx, id)
	require.NoError(t, err)
	require.Equal(t, webhook.StatePending, del.State, "an interrupted attempt is not a failure")
	require.Zero(t, del.Attempts)
}

func TestEmitValidation(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, MaxBodyBytes: 64})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	require.ErrorIs(t, d.Emit(ctx, "", webhook.EventNote, noteBody("x")), webhook.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, "u", webhook.EventAbuseReport, noteBody("x")), webhook.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, "u", webhook.Event("bogus"), noteBody("x")), webhook.ErrInvalid)
	require.ErrorIs(t, d.EmitSystem(ctx, webhook.EventNote, noteBody("x")), webhook.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, "u", webhook.EventNote, []int{1}), webhook.ErrInvalid, "a body must be an object")
	require.ErrorIs(t, d.Emit(ctx, "u", webhook.EventNote, json.RawMessage(`{"a":`)), webhook.ErrInvalid)
	require.ErrorIs(t, d.Emit(ctx, "u", webhook.EventNote, nil), webhook.ErrInvalid)
	err := d.Emit(ctx, "u", webhook.EventNote, noteBody(strings.Repeat("x", 100)))
	require.ErrorIs(t, err, webhook.ErrPayloadTooLarge)
	require.True(t, strings.HasPrefix(err.Error(), "webhook: "))
	require.Zero(t, webhooktest.Flush(t, d), "nothing was enqueued")
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, json.RawMessage(`{"note":{}}`)))
	webhooktest.Flush(t, d)
	tr.RequireReceived(t, h.ID, webhook.EventNote, json.RawMessage(`{"note":{}}`))
	// A body that can never be an object is refused even unmatched.
	require.ErrorIs(t, d.Emit(ctx, "nobody", webhook.EventNote, make(chan int)), webhook.ErrInvalid)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  *webhook.Config
		want string
	}{
		{nil, "Config is required"},
		{&webhook.Config{}, "Config.Host must be set"},
		{&webhook.Config{Host: "https://example.tld"}, "Config.Host"},
		{&webhook.Config{Host: "example.tld/path"}, "Config.Host"},
		{&webhook.Config{Host: "example.tld:"}, "Config.Host"},
		{&webhook.Config{Host: "example.tld", Workers: -1}, "Config.Workers must be >= 1, got -1"},
		{&webhook.Config{Host: "example.tld", MaxBodyBytes: -5}, "Config.MaxBodyBytes"},
		{&webhook.Config{Host: "example.tld", Lease: -time.Second}, "Config.Lease must be > 0, got -1s"},
		{&webhook.Config{Host: "example.tld", PollInterval: -1}, "Config.PollInterval"},
		{&webhook.Config{Host: "example.tld", MaxWebhooksPerUser: -1}, "Config.MaxWebhooksPerUser"},
		{&webhook.Config{Host: "example.tld", UserAgent: "a\r\nX-Evil: 1"}, "Config.UserAgent"},
	} {
		_, err := webhook.New(nil, tc.cfg)
		require.ErrorIs(t, err, webhook.ErrInvalid)
		require.Contains(t, err.Error(), tc.want)
		require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
	}
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld:8443"})
	require.NoError(t, err)
	require.NoError(t, d.Shutdown(ctx))
}

func TestCreateHook(t *testing.T) {
	t.Parallel()
	d, _, _ := newTestDispatcher(t, &webhook.Config{MaxWebhooksPerUser: 2})
	valid := func() *webhook.Webhook {
		return &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Active: true}
	}
	w, err := d.CreateHook(ctx, valid())
	require.NoError(t, err)
	require.Len(t, w.ID, 16)
	_, err = d.CreateHook(ctx, valid())
	require.NoError(t, err)
	_, err = d.CreateHook(ctx, valid())
	require.ErrorIs(t, err, webhook.ErrTooManyWebhooks)
	sys := valid()
	sys.UserID, sys.On = "", []webhook.Event{webhook.EventAbuseReport}
	_, err = d.CreateHook(ctx, sys)
	require.NoError(t, err, "system webhooks have no per-user limit")

	bad := valid()
	bad.URL = "ftp://r.example/"
	_, err = d.CreateHook(ctx, bad)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.Contains(t, err.Error(), "Webhook.URL")

	// Update keeps the owner and validates.
	w.Name = ""
	require.ErrorIs(t, d.UpdateHook(ctx, w), webhook.ErrInvalid)
	w.Name, w.UserID = "renamed", "mallory"
	require.NoError(t, d.UpdateHook(ctx, w))
	got, err := d.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, "renamed", got.Name)
	require.Equal(t, "u", got.UserID)
	require.ErrorIs(t, d.DeleteHook(ctx, "nope"), webhook.ErrNotFound)
	require.NoError(t, d.DeleteHook(ctx, w.ID))
	_, err = d.GetHook(ctx, w.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestSecretNeverInLogsOrErrors(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	var mu sync.Mutex
	logger := slogTo(&logs, &mu)
	secret := "super-secret-value-1234"
	var errs []string
	d, tr, _ := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter, Logger: logger, OnAttempt: func(r webhook.AttemptReport) {
		mu.Lock()
		defer mu.Unlock()
		if r.Err != nil {
			errs = append(errs, r.Err.Error())
		}
	}})
	h, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/", Secret: secret, Active: true})
	require.NoError(t, err)
	tr.Script(h.URL, webhooktest.Reply{Status: 500}, webhooktest.Reply{Err: errors.New("connection reset")})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	webhooktest.Flush(t, d)
	logger.Info("hook", "hook", h)
	require.NotContains(t, fmt.Sprint(h), secret)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, errs)
	require.Contains(t, logs.String(), "REDACTED")
	require.NotContains(t, logs.String(), secret)
	for _, e := range errs {
		require.NotContains(t, e, secret)
	}
	bad := h.Clone()
	bad.Secret = secret + "\n"
	err = d.UpdateHook(ctx, bad)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.NotContains(t, err.Error(), secret)
}

// slogTo returns a logger writing text to b, guarded by mu.
func slogTo(b *strings.Builder, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{b, mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestOutcomesOverHTTP repeats the outcome table against real receivers.
func TestOutcomesOverHTTP(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // connection refused from now on

	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(func() { close(hang); hanging.Close() })

	rule, err := webhook.ParseAllowRule("127.0.0.0/8")
	require.NoError(t, err)
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: []webhook.AllowRule{rule}, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)

	for _, tc := range []struct {
		name   string
		url    func(t *testing.T) string
		want   webhook.State
		status int
	}{
		{"200", func(t *testing.T) string { return newReceiver(t, 200).URL }, webhook.StateDelivered, 200},
		{"404", func(t *testing.T) string { return newReceiver(t, 404).URL }, webhook.StateFailed, 404},
		{"429", func(t *testing.T) string { return newReceiver(t, 429).URL }, webhook.StatePending, 429},
		{"503", func(t *testing.T) string { return newReceiver(t, 503).URL }, webhook.StatePending, 503},
		{"refused", func(*testing.T) string { return closedURL }, webhook.StatePending, 1},
		{"timeout", func(*testing.T) string { return hanging.URL }, webhook.StatePending, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, _ := realDispatcher(t, tr, nil)
			h, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote}, URL: tc.url(t), Active: true})
			require.NoError(t, err)
			require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
			require.Equal(t, 1, webhooktest.Flush(t, d))
			got, err := d.GetHook(ctx, h.ID)
			require.NoError(t, err)
			require.Equal(t, tc.status, *got.LatestStatus)
			ds, err := d.Store().Claim(ctx, webhooktest.Epoch.Add(24*time.Hour), 10, time.Minute)
			require.NoError(t, err)
			if tc.want == webhook.StatePending {
				require.Len(t, ds, 1, "the delivery waits for a retry")
				require.Equal(t, 1, ds[0].Delivery.Attempts)
			} else {
				require.Empty(t, ds)
			}
		})
	}
}

// notifierStore is a MemoryStore that is also a Notifier whose Listen
// blocks until its context ends, as the contract says.
type notifierStore struct {
	*webhook.MemoryStore
	listening chan struct{}
}

func (s notifierStore) Listen(ctx context.Context, wake func()) error {
	close(s.listening)
	<-ctx.Done()
	return nil
}

func TestShutdownStopsNotifier(t *testing.T) {
	t.Parallel()
	ms, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	s := notifierStore{ms, make(chan struct{})}
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: webhooktest.NewTransport()})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	<-s.listening
	require.NoError(t, d.Shutdown(context.Background()), "Shutdown ends Listen and returns")
}

// prunerStore is a MemoryStore that reports each Prune call.
type prunerStore struct {
	*webhook.MemoryStore
	pruned chan time.Time
}

func (s prunerStore) Prune(_ context.Context, now time.Time) (int64, error) {
	s.pruned <- now
	return 0, nil
}

func TestDispatcherPrunes(t *testing.T) {
	t.Parallel()
	ms, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	s := prunerStore{ms, make(chan time.Time)}
	clk := webhooktest.NewClock(webhooktest.Epoch)
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: webhooktest.NewTransport(), Clock: clk,
		PollInterval: 24 * time.Hour, PruneInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	// Once the claimer waits for its poll and the pruner for its interval,
	// an hour on the clock fires the pruner's timer.
	require.NoError(t, clk.WaitForTimers(ctx, 2))
	clk.Advance(time.Hour)
	now := <-s.pruned
	require.True(t, now.After(webhooktest.Epoch))
	require.NoError(t, d.Shutdown(ctx))
}

// TestWebhookLogValueHidesURLTokens: receivers such as Discord keep their
// token in the URL's path, which HTTPTransport's errors leave out; the
// Webhook's log value and String (logged when auto-disable turns a
// webhook off) printed the whole URL.
func TestWebhookLogValueHidesURLTokens(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	var mu sync.Mutex
	logger := slogTo(&logs, &mu)
	h := &webhook.Webhook{ID: "h1", UserID: "u", Name: "n", URL: "https://discord.example:8443/api/webhooks/1/PATHTOKEN?t=QUERYTOKEN#FRAG",
		Secret: "HEADERSECRET", Active: true}
	logger.Info("hook", "hook", h)
	mu.Lock()
	defer mu.Unlock()
	for _, s := range []string{logs.String(), h.String(), fmt.Sprint(h)} {
		require.Contains(t, s, "https://discord.example:8443")
		for _, secret := range []string{"PATHTOKEN", "QUERYTOKEN", "FRAG", "HEADERSECRET"} {
			require.NotContains(t, s, secret)
		}
	}
}
