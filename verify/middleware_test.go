package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
	"github.com/fedihook/webhook/webhooktest"
)

const hookSecret = "misskey-plain-secret"

// sender is a Dispatcher with webhooktest's fake Transport and Clock, and
// one user webhook of "alice" subscribed to notes and signed by a new
// signing secret.
type sender struct {
	d       *webhook.Dispatcher
	tr      *webhooktest.Transport
	clk     *webhooktest.Clock
	hook    *webhook.Webhook
	signing string
}

func newSender(t *testing.T) *sender {
	t.Helper()
	d, tr, clk := webhooktest.New(t, nil)
	s := &sender{d: d, tr: tr, clk: clk, signing: webhook.NewSigningSecret()}
	hook, err := d.CreateHook(t.Context(), &webhook.Webhook{
		UserID: "alice", Name: "signed", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/hook", Secret: hookSecret, Active: true,
		SigningSecret: s.signing,
	})
	require.NoError(t, err)
	s.hook = hook
	return s
}

// emit emits a dummy note event, delivers it, and returns the request
// the Dispatcher sent.
func (s *sender) emit(t *testing.T) webhooktest.Received {
	t.Helper()
	s.tr.Reset()
	body, err := misskey.DummyBody(string(webhook.EventNote))
	require.NoError(t, err)
	require.NoError(t, s.d.Emit(t.Context(), "alice", webhook.EventNote, body))
	webhooktest.Flush(t, s.d)
	return s.tr.RequireReceived(t, s.hook.ID, webhook.EventNote, body)
}

// config returns a Config checking both the secret and the signature,
// at the sender's clock's time.
func (s *sender) config() *verify.Config {
	return &verify.Config{Secret: hookSecret, SigningSecrets: []string{s.signing}, Now: s.clk.Now}
}

// replay turns a captured request into an incoming one.
func replay(r webhooktest.Received) *http.Request {
	req := httptest.NewRequest(http.MethodPost, r.URL, bytes.NewReader(r.Body))
	req.Header = r.Header.Clone()
	return req
}

// recorder is a next handler that records what it was given.
type recorder struct {
	calls   atomic.Int32
	payload *webhook.Payload
	body    []byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.calls.Add(1)
	p, ok := verify.PayloadFrom(r.Context())
	if !ok {
		http.Error(w, "no payload", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || int64(len(body)) != r.ContentLength {
		http.Error(w, "body lost", http.StatusInternalServerError)
		return
	}
	rec.payload, rec.body = p, body
	w.WriteHeader(http.StatusNoContent)
}

// serve runs req through a Middleware for cfg around a recorder.
func serve(t *testing.T, cfg *verify.Config, req *http.Request) (*httptest.ResponseRecorder, *recorder) {
	t.Helper()
	m, err := verify.New(cfg)
	require.NoError(t, err)
	next := &recorder{}
	w := httptest.NewRecorder()
	m.Wrap(next).ServeHTTP(w, req)
	return w, next
}

// requireRejected checks that the middleware answered status with reason
// in plain text, without calling next or quoting a secret.
func requireRejected(t *testing.T, w *httptest.ResponseRecorder, next *recorder, status int, reason string, secrets ...string) {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	require.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	require.Contains(t, w.Body.String(), reason)
	require.Zero(t, next.calls.Load(), "next must not be called")
	for _, s := range append(secrets, hookSecret) {
		require.NotContains(t, w.Body.String(), s)
	}
}

func TestMiddlewareDispatcherEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSender(t)
	sent := s.emit(t)
	require.NotEmpty(t, sent.Header.Get(webhook.HeaderWebhookSignature))

	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		w, next := serve(t, s.config(), replay(sent))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
		require.EqualValues(t, 1, next.calls.Load())
		require.Equal(t, string(sent.Body), string(next.body), "next reads the raw body")
		require.Equal(t, sent.Payload, *next.payload)
		require.Equal(t, s.hook.ID, next.payload.HookID)
		require.Equal(t, "alice", next.payload.UserID)
		var body misskey.NoteBody
		require.NoError(t, next.payload.DecodeBody(&body))
		require.NotNil(t, body.Note)
	})
	t.Run("accepted within the tolerance", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.Now = func() time.Time { return s.clk.Now().Add(verify.DefaultTolerance) }
		w, _ := serve(t, cfg, replay(sent))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	t.Run("signature only", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.Secret = ""
		req := replay(sent)
		req.Header.Del(verify.HeaderHookSecret)
		w, _ := serve(t, cfg, req)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	t.Run("secret only", func(t *testing.T) {
		t.Parallel()
		req := replay(sent)
		for _, h := range []string{webhook.HeaderWebhookID, webhook.HeaderWebhookTimestamp, webhook.HeaderWebhookSignature} {
			req.Header.Del(h)
		}
		w, _ := serve(t, &verify.Config{Secret: hookSecret}, req)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	t.Run("unauthenticated", func(t *testing.T) {
		t.Parallel()
		req := replay(sent)
		req.Header = http.Header{}
		w, _ := serve(t, &verify.Config{Unauthenticated: true}, req)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	t.Run("tampered body", func(t *testing.T) {
		t.Parallel()
		body := bytes.Replace(sent.Body, []byte(`"type":"note"`), []byte(`"type":"reply"`), 1)
		require.NotEqual(t, sent.Body, body)
		req := replay(sent)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		w, next := serve(t, s.config(), req)
		requireRejected(t, w, next, http.StatusUnauthorized, "bad signature", s.signing)
	})
	t.Run("body re-encoded as JSON", func(t *testing.T) {
		t.Parallel()
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, sent.Body, "", "  "))
		req := replay(sent)
		req.Body, req.ContentLength = io.NopCloser(&indented), int64(indented.Len())
		w, next := serve(t, s.config(), req)
		requireRejected(t, w, next, http.StatusUnauthorized, "bad signature")
	})
	t.Run("wrong Misskey secret", func(t *testing.T) {
		t.Parallel()
		req := replay(sent)
		req.Header.Set(verify.HeaderHookSecret, "guess")
		w, next := serve(t, s.config(), req)
		requireRejected(t, w, next, http.StatusUnauthorized, "bad secret", "guess")
	})
	t.Run("missing Misskey secret", func(t *testing.T) {
		t.Parallel()
		req := replay(sent)
		req.Header.Del(verify.HeaderHookSecret)
		w, next := serve(t, s.config(), req)
		requireRejected(t, w, next, http.StatusUnauthorized, "missing header X-Misskey-Hook-Secret")
	})
	t.Run("wrong signing secret", func(t *testing.T) {
		t.Parallel()
		other := webhook.NewSigningSecret()
		cfg := s.config()
		cfg.SigningSecrets = []string{other}
		w, next := serve(t, cfg, replay(sent))
		requireRejected(t, w, next, http.StatusUnauthorized, "bad signature", other, s.signing)
	})
	for _, h := range []string{webhook.HeaderWebhookID, webhook.HeaderWebhookTimestamp, webhook.HeaderWebhookSignature} {
		t.Run("missing "+h, func(t *testing.T) {
			t.Parallel()
			req := replay(sent)
			req.Header.Del(h)
			w, next := serve(t, s.config(), req)
			requireRejected(t, w, next, http.StatusUnauthorized, "missing header "+strings.ToLower(h))
		})
	}
	t.Run("stale timestamp", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.Now = func() time.Time { return s.clk.Now().Add(verify.DefaultTolerance + time.Second) }
		w, next := serve(t, cfg, replay(sent))
		requireRejected(t, w, next, http.StatusUnauthorized, "stale timestamp: 5m1s old")
	})
	t.Run("stale timestamp with a smaller tolerance", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.Tolerance = 10 * time.Second
		cfg.Now = func() time.Time { return s.clk.Now().Add(11 * time.Second) }
		w, next := serve(t, cfg, replay(sent))
		requireRejected(t, w, next, http.StatusUnauthorized, "stale timestamp")
	})
	t.Run("old request with the tolerance disabled", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.Tolerance = verify.NoTolerance
		cfg.Now = time.Now
		w, _ := serve(t, cfg, replay(sent))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	t.Run("malformed timestamp", func(t *testing.T) {
		t.Parallel()
		req := replay(sent)
		req.Header.Set(webhook.HeaderWebhookTimestamp, "soon")
		w, next := serve(t, s.config(), req)
		requireRejected(t, w, next, http.StatusUnauthorized, "malformed header webhook-timestamp")
	})
	t.Run("oversized", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.MaxBodyBytes = int64(len(sent.Body)) - 1
		w, next := serve(t, cfg, replay(sent))
		requireRejected(t, w, next, http.StatusRequestEntityTooLarge, "payload too large")
	})
	t.Run("oversized without Content-Length", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.MaxBodyBytes = int64(len(sent.Body)) - 1
		req := replay(sent)
		req.ContentLength = -1
		w, next := serve(t, cfg, req)
		requireRejected(t, w, next, http.StatusRequestEntityTooLarge, "payload too large")
	})
	t.Run("exactly at the limit", func(t *testing.T) {
		t.Parallel()
		cfg := s.config()
		cfg.MaxBodyBytes = int64(len(sent.Body))
		req := replay(sent)
		req.ContentLength = -1
		w, _ := serve(t, cfg, req)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	})
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			req := replay(sent)
			req.Method = method
			w, next := serve(t, s.config(), req)
			requireRejected(t, w, next, http.StatusMethodNotAllowed, "")
			require.Equal(t, http.MethodPost, w.Header().Get("Allow"))
		})
	}
}

// A body the sender signed but that is no webhook payload gets a 400.
func TestMiddlewareMalformedPayload(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSigningSecret()
	key, err := webhook.ParseSigningSecret(secret)
	require.NoError(t, err)
	now := time.Unix(1_750_000_000, 0)
	for _, tc := range []struct{ body, reason string }{
		{`{"test": 2432232314}`, `malformed payload: missing "server"`},
		{`not json`, "malformed payload: not JSON"},
		{`{"server":"s","hookId":"h","userId":"u","eventId":"e","createdAt":1,"type":"poke","body":{}}`, `malformed payload: "type": unknown event "poke"`},
	} {
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(tc.body))
		req.Header.Set(webhook.HeaderWebhookID, "msg_1")
		req.Header.Set(webhook.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderWebhookSignature, webhook.Sign(key, "msg_1", now.Unix(), []byte(tc.body)))
		w, next := serve(t, &verify.Config{SigningSecrets: []string{secret}, Now: func() time.Time { return now }}, req)
		requireRejected(t, w, next, http.StatusBadRequest, tc.reason, secret)
	}
}

// While a sender rotates its signing secret, each request carries both
// signatures: a receiver that knows either one accepts it. Once the old
// secret expires, a receiver that knows only it rejects the requests.
func TestMiddlewareRotation(t *testing.T) {
	t.Parallel()
	d, tr, clk := webhooktest.New(t, nil)
	oldSecret, newSecret := webhook.NewSigningSecret(), webhook.NewSigningSecret()
	hook, err := d.CreateHook(t.Context(), &webhook.Webhook{
		UserID: "alice", Name: "rotating", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/hook", Secret: hookSecret, Active: true,
		SigningSecret:          newSecret,
		PreviousSigningSecrets: []webhook.PreviousSecret{{Secret: oldSecret, Expires: clk.Now().Add(time.Hour)}},
	})
	require.NoError(t, err)
	emit := func() webhooktest.Received {
		tr.Reset()
		body, err := misskey.DummyBody(string(webhook.EventNote))
		require.NoError(t, err)
		require.NoError(t, d.Emit(t.Context(), "alice", webhook.EventNote, body))
		webhooktest.Flush(t, d)
		return tr.RequireReceived(t, hook.ID, webhook.EventNote, nil)
	}
	check := func(r webhooktest.Received, secrets ...string) int {
		w, _ := serve(t, &verify.Config{SigningSecrets: secrets, Now: clk.Now}, replay(r))
		return w.Code
	}

	during := emit()
	require.Len(t, strings.Fields(during.Header.Get(webhook.HeaderWebhookSignature)), 2)
	require.Equal(t, http.StatusNoContent, check(during, newSecret, oldSecret))
	require.Equal(t, http.StatusNoContent, check(during, oldSecret, newSecret))
	require.Equal(t, http.StatusNoContent, check(during, oldSecret))
	require.Equal(t, http.StatusNoContent, check(during, newSecret))
	require.Equal(t, http.StatusUnauthorized, check(during, webhook.NewSigningSecret()))

	clk.Advance(time.Hour)
	after := emit()
	require.Len(t, strings.Fields(after.Header.Get(webhook.HeaderWebhookSignature)), 1)
	require.Equal(t, http.StatusNoContent, check(after, newSecret, oldSecret))
	require.Equal(t, http.StatusNoContent, check(after, newSecret))
	require.Equal(t, http.StatusUnauthorized, check(after, oldSecret))
}

// A system webhook's request has no userId and still passes.
func TestMiddlewareSystemEvent(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSigningSecret()
	d, tr, clk := webhooktest.New(t, &webhook.Config{SigningSecret: secret})
	hook := webhooktest.CreateHook(t, d, "", webhook.EventAbuseReport)
	body, err := misskey.DummyBody(string(webhook.EventAbuseReport))
	require.NoError(t, err)
	require.NoError(t, d.EmitSystem(t.Context(), webhook.EventAbuseReport, body))
	webhooktest.Flush(t, d)
	sent := tr.RequireReceived(t, hook.ID, webhook.EventAbuseReport, body)

	w, next := serve(t, &verify.Config{Secret: "secret", SigningSecrets: []string{secret}, Now: clk.Now}, replay(sent))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Empty(t, next.payload.UserID)
	require.Equal(t, webhook.EventAbuseReport, next.payload.Type)
}

func TestMiddlewareDefaultMaxBody(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte(" "), verify.DefaultMaxBodyBytes+1)
	for _, length := range []int64{int64(len(big)), -1} {
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(big))
		req.ContentLength = length
		w, next := serve(t, &verify.Config{Unauthenticated: true}, req)
		requireRejected(t, w, next, http.StatusRequestEntityTooLarge, "payload too large")
	}
	require.Greater(t, verify.DefaultMaxBodyBytes, webhook.DefaultMaxBodyBytes,
		"room for the envelope around the largest body a Dispatcher sends")
}

func TestMiddlewareCheck(t *testing.T) {
	t.Parallel()
	s := newSender(t)
	sent := s.emit(t)
	m, err := verify.New(s.config())
	require.NoError(t, err)
	p, err := m.Check(sent.Header, sent.Body)
	require.NoError(t, err)
	require.Equal(t, sent.Payload, *p)

	_, err = m.Check(sent.Header, append(bytes.Clone(sent.Body), ' '))
	require.ErrorIs(t, err, verify.ErrBadSignature)
	h := sent.Header.Clone()
	h.Set(verify.HeaderHookSecret, "x")
	_, err = m.Check(h, sent.Body)
	require.ErrorIs(t, err, verify.ErrBadSecret)
}

func TestMiddlewareLogsRejections(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer // written only from this goroutine: ServeHTTP runs in it
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}"))
	req.Header.Set(verify.HeaderHookSecret, "guess")
	w, next := serve(t, &verify.Config{Secret: hookSecret, Logger: logger}, req)
	requireRejected(t, w, next, http.StatusUnauthorized, "bad secret")
	require.Contains(t, logs.String(), `msg="webhook: verify: rejected request" status=401 reason="bad secret"`)
	require.NotContains(t, logs.String(), hookSecret)
	require.NotContains(t, logs.String(), "guess")
}

func TestPayloadFromEmptyContext(t *testing.T) {
	t.Parallel()
	p, ok := verify.PayloadFrom(context.Background())
	require.False(t, ok)
	require.Nil(t, p)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	good := webhook.NewSigningSecret()
	for _, tc := range []struct {
		name string
		cfg  *verify.Config
		msg  string
	}{
		{"nil", nil, "Config needs Secret or SigningSecrets, or Unauthenticated set to check neither"},
		{"empty", &verify.Config{}, "Config needs Secret or SigningSecrets"},
		{"bad signing secret", &verify.Config{SigningSecrets: []string{good, "whsec_QUFB"}},
			"Config.SigningSecrets[1]: signing secret must hold 24 to 64 bytes, got 3"},
		{"signing secret without prefix", &verify.Config{SigningSecrets: []string{good[len("whsec_"):]}},
			`Config.SigningSecrets[0]: signing secret must start with "whsec_"`},
		{"negative tolerance", &verify.Config{Secret: "s", Tolerance: -time.Minute},
			"Config.Tolerance must be > 0, 0 for DefaultTolerance or NoTolerance, got -1m0s"},
		{"negative MaxBodyBytes", &verify.Config{Secret: "s", MaxBodyBytes: -1},
			"Config.MaxBodyBytes must be >= 0 (0 for DefaultMaxBodyBytes), got -1"},
		{"secret with trailing space", &verify.Config{Secret: "s3cret "},
			"Config.Secret must not start or end with a space or tab"},
		{"secret with a newline", &verify.Config{Secret: "s3\ncret"},
			"Config.Secret has control byte 0x0a at 2"},
	} {
		m, err := verify.New(tc.cfg)
		require.Nil(t, m, tc.name)
		require.ErrorIs(t, err, webhook.ErrInvalid, tc.name)
		require.True(t, strings.HasPrefix(err.Error(), "webhook: verify: "+tc.msg), "%s: %v", tc.name, err)
		require.NotContains(t, err.Error(), good[len("whsec_"):], tc.name)
		require.NotContains(t, err.Error(), "s3cret", tc.name)
	}
	for _, cfg := range []*verify.Config{
		{Secret: "s"},
		{SigningSecrets: []string{good}},
		{Unauthenticated: true},
		{Secret: "s", Tolerance: verify.NoTolerance, MaxBodyBytes: 1},
	} {
		_, err := verify.New(cfg)
		require.NoError(t, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestMiddlewareBodyReadError(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/hook", failingReader{})
	w, next := serve(t, &verify.Config{Unauthenticated: true}, req)
	requireRejected(t, w, next, http.StatusBadRequest, "cannot read body")
}
