package misskeyapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskeyapi"
	"github.com/fedihook/webhook/webhooktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// accounts are the tokens the test servers know.
var accounts = map[string]misskeyapi.Account{
	"tok-alice": {UserID: "9alice"},
	"tok-bob":   {UserID: "9bob"},
	"tok-mod":   {UserID: "9mod", Moderator: true},
	"tok-root":  {UserID: "9root", Admin: true},
	"tok-gone":  {UserID: "9gone", Suspended: true},
}

func authenticate(_ context.Context, token string) (misskeyapi.Account, error) {
	if token == "tok-broken" {
		return misskeyapi.Account{}, errors.New("database down at 10.0.0.7")
	}
	a, ok := accounts[token]
	if !ok {
		return misskeyapi.Account{}, misskeyapi.ErrUnknownToken
	}
	return a, nil
}

type env struct {
	h   *misskeyapi.Handler
	d   *webhook.Dispatcher
	tr  *webhooktest.Transport
	clk *webhooktest.Clock
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, cfg *misskeyapi.Config, wcfg *webhook.Config) *env {
	t.Helper()
	d, tr, clk := webhooktest.New(t, wcfg)
	c := misskeyapi.Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Authenticate == nil {
		c.Authenticate = authenticate
	}
	c.Clock = clk
	buf := &syncBuffer{}
	c.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := misskeyapi.New(d, &c)
	require.NoError(t, err)
	return &env{h: h, d: d, tr: tr, clk: clk, log: buf}
}

// reply is one answer of the Handler.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r reply) json(t testing.TB) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(r.body, &v), "body %q", r.body)
	return v
}

func (r reply) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	require.True(t, ok, "body %q is not an object", r.body)
	return m
}

// requireError checks a Misskey error answer.
func (r reply) requireError(t testing.TB, want *misskeyapi.Error) map[string]any {
	t.Helper()
	require.Equal(t, want.Status, r.status, "body %s", r.body)
	e, ok := r.obj(t)["error"].(map[string]any)
	require.True(t, ok, "body %s", r.body)
	require.Equal(t, want.Code, e["code"], "body %s", r.body)
	require.Equal(t, want.ID, e["id"], "body %s", r.body)
	require.Equal(t, want.Kind, e["kind"])
	require.Equal(t, want.Message, e["message"])
	info, _ := e["info"].(map[string]any)
	return info
}

func (e *env) do(t testing.TB, method, name, contentType, body string, header ...string) reply {
	t.Helper()
	req := httptest.NewRequest(method, "/api/"+name, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// post calls name with params and the credential token ("" for none) in
// "i", as misskey-js does.
func (e *env) post(t testing.TB, token, name string, params map[string]any) reply {
	t.Helper()
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	if token != "" {
		p["i"] = token
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	return e.do(t, http.MethodPost, name, "application/json", string(b))
}

func (e *env) createUserHook(t testing.TB, token string) map[string]any {
	t.Helper()
	r := e.post(t, token, "i/webhooks/create", map[string]any{"name": "bridge", "url": "https://receiver.test/h",
		"secret": "s3cret-value", "on": []string{"note", "follow"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	return r.obj(t)
}

func TestUserWebhookLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)

	created := e.createUserHook(t, "tok-alice")
	require.ElementsMatch(t, []string{"id", "userId", "name", "on", "url", "secret", "active", "latestSentAt", "latestStatus"},
		keys(created))
	require.Equal(t, "9alice", created["userId"])
	require.Equal(t, true, created["active"])
	require.Equal(t, "s3cret-value", created["secret"])
	require.Nil(t, created["latestSentAt"])
	require.Nil(t, created["latestStatus"])
	require.Equal(t, []any{"note", "follow"}, created["on"])
	id := created["id"].(string)

	list := e.post(t, "tok-alice", "i/webhooks/list", nil)
	require.Equal(t, http.StatusOK, list.status)
	require.Equal(t, []any{created}, list.json(t))
	require.Equal(t, []any{}, e.post(t, "tok-bob", "i/webhooks/list", nil).json(t))

	show := e.post(t, "tok-alice", "i/webhooks/show", map[string]any{"webhookId": id})
	require.Equal(t, created, show.obj(t))

	up := e.post(t, "tok-alice", "i/webhooks/update", map[string]any{"webhookId": id, "name": "renamed",
		"on": []string{"mention", "mention"}, "active": false, "secret": nil})
	require.Equal(t, http.StatusNoContent, up.status, "%s", up.body)
	require.Empty(t, up.body)
	got := e.post(t, "tok-alice", "i/webhooks/show", map[string]any{"webhookId": id}).obj(t)
	require.Equal(t, "renamed", got["name"])
	require.Equal(t, []any{"mention"}, got["on"])
	require.Equal(t, false, got["active"])
	require.Equal(t, "", got["secret"], "a null secret clears it, as in Misskey")
	require.Equal(t, "https://receiver.test/h", got["url"], "fields not given are kept")

	// A delivery attempt shows in latestSentAt, as toISOString writes it.
	require.NoError(t, e.d.UpdateHook(t.Context(), &webhook.Webhook{ID: id, Name: "renamed", URL: "https://receiver.test/h",
		On: []webhook.Event{webhook.EventNote}, Active: true}))
	require.NoError(t, e.d.Emit(t.Context(), "9alice", webhook.EventNote, misskey.NoteBody{Note: &misskey.Note{ID: "n1", CreatedAt: misskey.Time(webhooktest.Epoch),
		UserID: "9alice", User: misskey.User{ID: "9alice", Username: "alice", AvatarURL: "https://example.tld/a.png",
			OnlineStatus: misskey.OnlineStatusUnknown}, Visibility: misskey.VisibilityPublic}}))
	webhooktest.Flush(t, e.d)
	got = e.post(t, "tok-alice", "i/webhooks/show", map[string]any{"webhookId": id}).obj(t)
	require.Equal(t, e.clk.Now().UTC().Format("2006-01-02T15:04:05.000Z"), got["latestSentAt"])
	require.Equal(t, float64(204), got["latestStatus"])

	del := e.post(t, "tok-alice", "i/webhooks/delete", map[string]any{"webhookId": id})
	require.Equal(t, http.StatusNoContent, del.status)
	require.Empty(t, del.body)
	e.post(t, "tok-alice", "i/webhooks/show", map[string]any{"webhookId": id}).requireError(t, misskeyapi.ErrNoSuchWebhookShow)
	e.post(t, "tok-alice", "i/webhooks/delete", map[string]any{"webhookId": id}).requireError(t, misskeyapi.ErrNoSuchWebhookDelete)
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestOtherUsersWebhookIsNoSuchWebhook checks that one user never sees,
// changes, tests or deletes another's webhook, nor a system webhook
// through i/webhooks, and that the answer is NO_SUCH_WEBHOOK.
func TestOtherUsersWebhookIsNoSuchWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	alices := e.createUserHook(t, "tok-alice")["id"].(string)
	sys := e.post(t, "tok-mod", "admin/system-webhook/create", map[string]any{"isActive": true, "name": "mods",
		"on": []string{"abuseReport"}, "url": "https://receiver.test/sys"})
	require.Equal(t, http.StatusOK, sys.status, "%s", sys.body)
	sysID := sys.obj(t)["id"].(string)

	for _, id := range []string{alices, sysID, "nosuchid"} {
		e.post(t, "tok-bob", "i/webhooks/show", map[string]any{"webhookId": id}).requireError(t, misskeyapi.ErrNoSuchWebhookShow)
		e.post(t, "tok-bob", "i/webhooks/update", map[string]any{"webhookId": id, "name": "mine"}).
			requireError(t, misskeyapi.ErrNoSuchWebhookUpdate)
		e.post(t, "tok-bob", "i/webhooks/test", map[string]any{"webhookId": id, "type": "note"}).
			requireError(t, misskeyapi.ErrNoSuchWebhookTest)
		e.post(t, "tok-bob", "i/webhooks/delete", map[string]any{"webhookId": id}).
			requireError(t, misskeyapi.ErrNoSuchWebhookDelete)
	}
	// A moderator's i/webhooks are theirs only too.
	e.post(t, "tok-root", "i/webhooks/show", map[string]any{"webhookId": alices}).requireError(t, misskeyapi.ErrNoSuchWebhookShow)
	// And the admin endpoints do not reach a user's webhook.
	e.post(t, "tok-root", "admin/system-webhook/show", map[string]any{"id": alices}).requireError(t, misskeyapi.ErrNoSuchSystemWebhook)
	e.post(t, "tok-root", "admin/system-webhook/delete", map[string]any{"id": alices}).requireError(t, misskeyapi.ErrNoSuchSystemWebhook)
	e.post(t, "tok-root", "admin/system-webhook/test", map[string]any{"webhookId": alices, "type": "abuseReport"}).
		requireError(t, misskeyapi.ErrNoSuchWebhookTest)

	w, err := e.d.GetHook(t.Context(), alices)
	require.NoError(t, err)
	require.Equal(t, "bridge", w.Name)
	require.Empty(t, e.tr.Requests(), "nothing was sent")
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)

	r := e.post(t, "", "i/webhooks/list", nil)
	r.requireError(t, misskeyapi.ErrCredentialRequired)
	require.Equal(t, `Bearer realm="Misskey"`, r.header.Get("WWW-Authenticate"))

	r = e.post(t, "tok-nobody", "i/webhooks/list", nil)
	r.requireError(t, misskeyapi.ErrAuthenticationFailed)
	require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)

	// A JSON null "i" is no credential, as misskey-js sends for none.
	e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{"i":null}`).requireError(t, misskeyapi.ErrCredentialRequired)
	info := e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{"i":42}`).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, map[string]any{"param": "i", "reason": "must be string"}, info)

	// The Authorization header wins over "i".
	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{"i":"tok-nobody"}`, "Authorization", "Bearer tok-alice")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	// The scheme is case-sensitive, as Misskey reads it.
	e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{}`, "Authorization", "bearer tok-alice").
		requireError(t, misskeyapi.ErrCredentialRequired)

	e.post(t, "tok-gone", "i/webhooks/list", nil).requireError(t, misskeyapi.ErrAccountSuspended)

	// A failing Authenticate is INTERNAL_ERROR, logged with its id, and
	// the client sees neither the message nor the token.
	r = e.post(t, "tok-broken", "i/webhooks/list", nil)
	info = r.requireError(t, misskeyapi.ErrInternal)
	require.NotContains(t, string(r.body), "10.0.0.7")
	require.Contains(t, e.log.String(), info["id"].(string))
	require.Contains(t, e.log.String(), "database down")
	require.NotContains(t, e.log.String(), "tok-broken")
}

func TestAdminEndpointsNeedModerator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	for _, name := range []string{"create", "list", "show", "update", "delete", "test"} {
		e.post(t, "tok-alice", "admin/system-webhook/"+name, nil).requireError(t, misskeyapi.ErrNotModerator)
		e.post(t, "", "admin/system-webhook/"+name, nil).requireError(t, misskeyapi.ErrCredentialRequired)
	}
	require.Equal(t, http.StatusOK, e.post(t, "tok-mod", "admin/system-webhook/list", nil).status)
	require.Equal(t, http.StatusOK, e.post(t, "tok-root", "admin/system-webhook/list", nil).status)
}

func TestSystemWebhookLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	r := e.post(t, "tok-root", "admin/system-webhook/create", map[string]any{"isActive": true,
		"name": strings.Repeat("n", 255), "on": []string{"abuseReport", "userCreated"}, "url": "https://receiver.test/sys",
		"secret": "sys-secret"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	created := r.obj(t)
	require.ElementsMatch(t, []string{"id", "isActive", "updatedAt", "latestSentAt", "latestStatus", "name", "on", "url", "secret"},
		keys(created))
	id := created["id"].(string)
	updated, err := time.Parse("2006-01-02T15:04:05.000Z", created["updatedAt"].(string))
	require.NoError(t, err, "updatedAt is an ISO time")
	require.Equal(t, e.clk.Now().UTC().Truncate(time.Millisecond), updated, "the creation time")

	other := e.post(t, "tok-mod", "admin/system-webhook/create", map[string]any{"isActive": false, "name": "off",
		"on": []string{"inactiveModeratorsWarning"}, "url": "https://receiver.test/off"}).obj(t)
	require.Equal(t, "", other["secret"], "secret defaults to empty")

	all := e.post(t, "tok-mod", "admin/system-webhook/list", nil).json(t).([]any)
	require.Len(t, all, 2)
	require.Less(t, all[0].(map[string]any)["id"], all[1].(map[string]any)["id"], "sorted by ID")
	active := e.post(t, "tok-mod", "admin/system-webhook/list", map[string]any{"isActive": true}).json(t)
	require.Equal(t, []any{created}, active)
	byEvent := e.post(t, "tok-mod", "admin/system-webhook/list", map[string]any{"on": []string{"inactiveModeratorsWarning"}}).json(t)
	require.Equal(t, []any{other}, byEvent)

	require.Equal(t, created, e.post(t, "tok-mod", "admin/system-webhook/show", map[string]any{"id": id}).obj(t))

	up := e.post(t, "tok-mod", "admin/system-webhook/update", map[string]any{"id": id, "isActive": false, "name": "renamed",
		"on": []string{"abuseReportResolved"}, "url": "https://receiver.test/sys2"})
	require.Equal(t, http.StatusOK, up.status, "%s", up.body)
	u := up.obj(t)
	require.Equal(t, "renamed", u["name"])
	require.Equal(t, false, u["isActive"])
	require.Equal(t, "", u["secret"], "update without secret sets it empty, as Misskey's default does")
	require.Equal(t, []any{"abuseReportResolved"}, u["on"])

	e.post(t, "tok-mod", "admin/system-webhook/update", map[string]any{"id": "nosuch", "isActive": true, "name": "x",
		"on": []string{}, "url": "https://receiver.test/"}).requireError(t, misskeyapi.ErrNoSuchSystemWebhook)

	del := e.post(t, "tok-mod", "admin/system-webhook/delete", map[string]any{"id": id})
	require.Equal(t, http.StatusNoContent, del.status)
	e.post(t, "tok-mod", "admin/system-webhook/show", map[string]any{"id": id}).requireError(t, misskeyapi.ErrNoSuchSystemWebhook)

	// System events only, and user events only on user webhooks.
	info := e.post(t, "tok-mod", "admin/system-webhook/create", map[string]any{"isActive": true, "name": "x",
		"on": []string{"note"}, "url": "https://receiver.test/"}).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, "#/properties/on/items/enum", info["param"])
	info = e.post(t, "tok-alice", "i/webhooks/create", map[string]any{"name": "x", "on": []string{"abuseReport"},
		"url": "https://receiver.test/"}).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, "#/properties/on/items/enum", info["param"])
}

func TestInvalidParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	for _, tc := range []struct {
		name   string
		ep     string
		params map[string]any
		param  string
		reason string
	}{
		{"missing on", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/"},
			"#/required", "must have required property 'on'"},
		{"long name", "i/webhooks/create", map[string]any{"name": strings.Repeat("é", 101), "url": "https://r.test/", "on": []string{}},
			"#/properties/name/maxLength", "must NOT have more than 100 characters"},
		{"empty name", "i/webhooks/create", map[string]any{"name": "", "url": "https://r.test/", "on": []string{}},
			"#/properties/name/minLength", "must NOT have fewer than 1 characters"},
		{"long url", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/" + strings.Repeat("a", 1024), "on": []string{}},
			"#/properties/url/maxLength", "must NOT have more than 1024 characters"},
		{"url not http", "i/webhooks/create", map[string]any{"name": "x", "url": "ftp://r.test/", "on": []string{}},
			"#/properties/url", "Webhook.URL must use http or https, got scheme \"ftp\""},
		{"long secret", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/", "secret": strings.Repeat("s", 1025), "on": []string{}},
			"#/properties/secret/maxLength", "must NOT have more than 1024 characters"},
		{"secret with newline", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/", "secret": "a\nb", "on": []string{}},
			"#/properties/secret", "Webhook.Secret has control byte 0x0a at 1"},
		{"on not array", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/", "on": "note"},
			"#/properties/on/type", "must be array"},
		{"unknown event", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/", "on": []string{"poke"}},
			"#/properties/on/items/enum", "must be equal to one of the allowed values"},
		{"name null", "i/webhooks/create", map[string]any{"name": nil, "url": "https://r.test/", "on": []string{}},
			"#/properties/name/type", "must be string"},
		{"webhookId format", "i/webhooks/show", map[string]any{"webhookId": "a-b"},
			"#/properties/webhookId/format", `must match format "misskey:id"`},
		{"active not bool", "i/webhooks/update", map[string]any{"webhookId": "abc", "active": "yes"},
			"#/properties/active/type", "must be boolean"},
		{"test type", "i/webhooks/test", map[string]any{"webhookId": "abc", "type": "userCreated"},
			"#/properties/type/enum", "must be equal to one of the allowed values"},
		{"override not object", "i/webhooks/test", map[string]any{"webhookId": "abc", "type": "note", "override": "x"},
			"#/properties/override/type", "must be object"},
		{"override url type", "i/webhooks/test", map[string]any{"webhookId": "abc", "type": "note", "override": map[string]any{"url": 1}},
			"#/properties/override/properties/url/type", "must be string"},
		{"system name", "admin/system-webhook/create", map[string]any{"isActive": true, "name": strings.Repeat("n", 256), "on": []string{}, "url": "https://r.test/"},
			"#/properties/name/maxLength", "must NOT have more than 255 characters"},
		{"system isActive", "admin/system-webhook/update", map[string]any{"id": "a", "name": "n", "on": []string{}, "url": "https://r.test/"},
			"#/required", "must have required property 'isActive'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			info := e.post(t, "tok-root", tc.ep, tc.params).requireError(t, misskeyapi.ErrInvalidParam)
			require.Equal(t, map[string]any{"param": tc.param, "reason": tc.reason}, info)
		})
	}
	// Unknown parameters are ignored, as Misskey's schemas allow.
	r := e.post(t, "tok-alice", "i/webhooks/create", map[string]any{"name": "x", "url": "https://r.test/", "on": []string{},
		"color": "red", "signingSecret": "whsec_ignored"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	w, err := e.d.GetHook(t.Context(), r.obj(t)["id"].(string))
	require.NoError(t, err)
	require.Empty(t, w.SigningSecret, "fedihook's extensions are not settable through Misskey's API")
}

func TestTooManyWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, &webhook.Config{MaxWebhooksPerUser: 2})
	e.createUserHook(t, "tok-alice")
	e.createUserHook(t, "tok-alice")
	e.post(t, "tok-alice", "i/webhooks/create", map[string]any{"name": "third", "url": "https://r.test/", "on": []string{}}).
		requireError(t, misskeyapi.ErrTooManyWebhooks)
	e.createUserHook(t, "tok-bob") // the limit is per user
}

func TestTestSendsDummyBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	id := e.createUserHook(t, "tok-alice")["id"].(string)

	r := e.post(t, "tok-alice", "i/webhooks/test", map[string]any{"webhookId": id, "type": "reply"})
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	require.Empty(t, r.body)
	reqs := e.tr.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "https://receiver.test/h", reqs[0].URL)
	require.Equal(t, "s3cret-value", reqs[0].Header.Get("X-Misskey-Hook-Secret"))
	require.Equal(t, webhook.EventReply, reqs[0].Payload.Type)
	want, err := misskey.DummyBody(string(webhook.EventReply))
	require.NoError(t, err)
	wantJSON, err := webhook.EncodeBody(want)
	require.NoError(t, err)
	require.JSONEq(t, string(wantJSON), string(reqs[0].Payload.Body))

	// override replaces what it names only.
	e.tr.Reset()
	r = e.post(t, "tok-alice", "i/webhooks/test", map[string]any{"webhookId": id, "type": "note",
		"override": map[string]any{"url": "https://elsewhere.test/x"}})
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	reqs = e.tr.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "https://elsewhere.test/x", reqs[0].URL)
	require.Equal(t, "s3cret-value", reqs[0].Header.Get("X-Misskey-Hook-Secret"))

	e.tr.Reset()
	r = e.post(t, "tok-alice", "i/webhooks/test", map[string]any{"webhookId": id, "type": "note",
		"override": map[string]any{"secret": "other"}})
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	require.Equal(t, "other", e.tr.Requests()[0].Header.Get("X-Misskey-Hook-Secret"))
	require.Equal(t, "https://receiver.test/h", e.tr.Requests()[0].URL)

	info := e.post(t, "tok-alice", "i/webhooks/test", map[string]any{"webhookId": id, "type": "note",
		"override": map[string]any{"url": "gopher://x/"}}).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, "#/properties/override/properties/url", info["param"])

	// A failing receiver is the receiver's business: 204, as Misskey,
	// and a log line without the secret.
	e.tr.Reset()
	e.tr.SetDefault(webhooktest.Reply{Status: http.StatusInternalServerError})
	r = e.post(t, "tok-alice", "i/webhooks/test", map[string]any{"webhookId": id, "type": "follow"})
	require.Equal(t, http.StatusNoContent, r.status)
	require.Contains(t, e.log.String(), "test delivery failed")
	require.NotContains(t, e.log.String(), "s3cret-value")

	// System webhook test.
	sys := e.post(t, "tok-mod", "admin/system-webhook/create", map[string]any{"isActive": false, "name": "mods",
		"on": []string{}, "url": "https://receiver.test/sys"}).obj(t)
	e.tr.Reset()
	e.tr.SetDefault(webhooktest.OK)
	r = e.post(t, "tok-mod", "admin/system-webhook/test", map[string]any{"webhookId": sys["id"], "type": "abuseReport"})
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	reqs = e.tr.Requests()
	require.Len(t, reqs, 1, "sent whatever isActive and on say, as Misskey's test")
	require.Equal(t, webhook.EventAbuseReport, reqs[0].Payload.Type)
}

func TestTestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &misskeyapi.Config{TestLimit: 2, TestWindow: time.Minute}, nil)
	id := e.createUserHook(t, "tok-alice")["id"].(string)
	params := map[string]any{"webhookId": id, "type": "note"}
	for range 2 {
		require.Equal(t, http.StatusNoContent, e.post(t, "tok-alice", "i/webhooks/test", params).status)
	}
	r := e.post(t, "tok-alice", "i/webhooks/test", params)
	r.requireError(t, misskeyapi.ErrRateLimitExceeded)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Len(t, e.tr.Requests(), 2)
	e.clk.Advance(time.Minute)
	require.Equal(t, http.StatusNoContent, e.post(t, "tok-alice", "i/webhooks/test", params).status)
}

func TestHTTPLevelAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &misskeyapi.Config{MaxBodyBytes: 64}, nil)

	r := e.do(t, http.MethodGet, "i/webhooks/list", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Empty(t, r.body)

	r = e.do(t, http.MethodPost, "i/webhooks/nope", "application/json", "{}")
	r.requireError(t, misskeyapi.ErrUnknownEndpoint)
	r = e.do(t, http.MethodGet, "meta", "", "")
	r.requireError(t, misskeyapi.ErrUnknownEndpoint) // no Config.Meta

	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/x-www-form-urlencoded", "i=tok-alice")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	require.Equal(t, "FST_ERR_CTP_INVALID_MEDIA_TYPE", r.obj(t)["code"])

	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{"i": "tok-alice"`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "FST_ERR_CTP_INVALID_JSON_BODY", r.obj(t)["code"])

	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json", ``)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "FST_ERR_CTP_EMPTY_JSON_BODY", r.obj(t)["code"])

	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `{"i":"tok-alice","pad":"`+strings.Repeat("x", 64)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Equal(t, "FST_ERR_CTP_BODY_TOO_LARGE", r.obj(t)["code"])

	// JSON that is not an object fails the schema, after the credential.
	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json", `[1]`, "Authorization", "Bearer tok-alice")
	info := r.requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, "#/type", info["param"])
	e.do(t, http.MethodPost, "i/webhooks/list", "text/plain", `hello`).requireError(t, misskeyapi.ErrCredentialRequired)

	// No body and no content type is {}.
	e.do(t, http.MethodPost, "i/webhooks/list", "", "").requireError(t, misskeyapi.ErrCredentialRequired)
	r = e.do(t, http.MethodPost, "i/webhooks/list", "application/json; charset=utf-8", `{"i":"tok-alice"}`)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, "private, max-age=0, must-revalidate", r.header.Get("Cache-Control"))
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	r := e.do(t, http.MethodOptions, "i/webhooks/create", "", "", "Origin", "https://client.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,authorization")
	require.Equal(t, http.StatusNoContent, r.status)
	require.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "POST")
	require.Equal(t, "content-type,authorization", r.header.Get("Access-Control-Allow-Headers"))
	require.Empty(t, r.header.Get("Access-Control-Allow-Credentials"), "no cookies")
	r = e.post(t, "tok-alice", "i/webhooks/list", nil)
	require.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))

	off := newEnv(t, &misskeyapi.Config{NoCORS: true}, nil)
	r = off.do(t, http.MethodOptions, "i/webhooks/create", "", "", "Origin", "https://client.example",
		"Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
}

func TestMeta(t *testing.T) {
	t.Parallel()
	name, icon := "Example", "https://example.tld/icon.png"
	e := newEnv(t, &misskeyapi.Config{Meta: &misskeyapi.Meta{URI: "https://example.tld", Version: "2025.12.2",
		Name: &name, IconURL: &icon}}, nil)
	r := e.do(t, http.MethodPost, "meta", "application/json", `{}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	m := r.obj(t)
	require.Equal(t, "https://example.tld", m["uri"])
	require.Equal(t, "Example", m["name"])
	require.Equal(t, icon, m["iconUrl"])
	require.Equal(t, "2025.12.2", m["version"])
	require.Equal(t, []any{}, m["langs"])
	require.Contains(t, m, "requireSetup", "detailed by default")
	require.Equal(t, float64(3), m["policies"].(map[string]any)["webhookLimit"])

	r = e.do(t, http.MethodGet, "meta?detail=false", "", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.NotContains(t, r.obj(t), "requireSetup")
	require.Equal(t, "public, max-age=60", r.header.Get("Cache-Control"))
	e.do(t, http.MethodGet, "meta?detail=maybe", "", "").requireError(t, &misskeyapi.Error{Status: 400,
		Message: "Invalid param.", Code: "INVALID_PARAM", ID: "0b5f1631-7c1a-41a6-b399-cce335f34d85", Kind: "client"})

	// A wrong credential fails even where none is needed, as in Misskey.
	e.post(t, "tok-nobody", "meta", nil).requireError(t, misskeyapi.ErrAuthenticationFailed)
}

func TestUsersShow(t *testing.T) {
	t.Parallel()
	users := map[string]*misskey.UserDetailed{
		"9alice": detailedUser("9alice", "alice"),
		"9bob":   detailedUser("9bob", "bob"),
	}
	lookup := func(_ context.Context, q misskeyapi.UserQuery) (*misskey.UserDetailed, error) {
		if q.ID != "" {
			if u, ok := users[q.ID]; ok {
				return u, nil
			}
			return nil, misskeyapi.ErrUserNotFound
		}
		for _, u := range users {
			if strings.EqualFold(u.Username, q.Username) && q.Host == "" {
				return u, nil
			}
		}
		return nil, misskeyapi.ErrUserNotFound
	}
	e := newEnv(t, &misskeyapi.Config{LookupUser: lookup}, nil)

	r := e.post(t, "", "users/show", map[string]any{"userId": "9alice"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	m := r.obj(t)
	require.Equal(t, "alice", m["username"])
	require.Contains(t, m, "createdAt", "a UserDetailed by default")

	m = e.post(t, "", "users/show", map[string]any{"username": " Bob ", "detailed": false}).obj(t)
	require.Equal(t, "9bob", m["id"])
	require.NotContains(t, m, "createdAt", "a UserLite when not detailed")

	list := e.post(t, "", "users/show", map[string]any{"userIds": []string{"9bob", "9nobody", "9alice"}}).json(t).([]any)
	require.Len(t, list, 2)
	require.Equal(t, "9bob", list[0].(map[string]any)["id"])

	e.post(t, "", "users/show", map[string]any{"userId": "9nobody"}).requireError(t, misskeyapi.ErrNoSuchUser)
	e.post(t, "", "users/show", map[string]any{"username": "alice", "host": "remote.example"}).requireError(t, misskeyapi.ErrNoSuchUser)
	info := e.post(t, "", "users/show", map[string]any{}).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, "#/allOf/0/anyOf", info["param"])
}

func detailedUser(id, username string) *misskey.UserDetailed {
	return &misskey.UserDetailed{User: misskey.User{ID: id, Username: username, AvatarURL: "https://example.tld/" + id + ".png",
		OnlineStatus: misskey.OnlineStatusUnknown}, CreatedAt: misskey.Time(webhooktest.Epoch),
		FollowingVisibility: misskey.FollowVisibilityPublic, FollowersVisibility: misskey.FollowVisibilityPublic,
		ChatScope: misskey.ChatScopeEveryone}
}

func TestHostEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	e.h.Handle("notes/create", misskeyapi.EndpointOptions{RequireCredential: true},
		func(_ context.Context, c *misskeyapi.Call) (any, error) {
			var in struct {
				Text string `json:"text"`
			}
			if err := c.Decode(&in); err != nil {
				return nil, err
			}
			return map[string]any{"by": c.Account.UserID, "text": in.Text}, nil
		})
	r := e.post(t, "tok-bob", "notes/create", map[string]any{"text": "hi"})
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, map[string]any{"by": "9bob", "text": "hi"}, r.obj(t))
	e.post(t, "", "notes/create", map[string]any{"text": "hi"}).requireError(t, misskeyapi.ErrCredentialRequired)
	info := e.post(t, "tok-bob", "notes/create", map[string]any{"text": 1}).requireError(t, misskeyapi.ErrInvalidParam)
	require.Equal(t, map[string]any{"param": "#/properties/text/type", "reason": "must be string"}, info)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	d, _, _ := webhooktest.New(t, nil)
	_, err := misskeyapi.New(d, &misskeyapi.Config{})
	require.ErrorContains(t, err, "Config.Authenticate is required")
	_, err = misskeyapi.New(d, &misskeyapi.Config{Authenticate: authenticate, Prefix: "/api"})
	require.ErrorContains(t, err, "Config.Prefix")
	_, err = misskeyapi.New(d, &misskeyapi.Config{Authenticate: authenticate, MaxBodyBytes: -1})
	require.ErrorContains(t, err, "Config.MaxBodyBytes must be >= 0, got -1")
	_, err = misskeyapi.New(d, &misskeyapi.Config{Authenticate: authenticate, TestLimit: -2})
	require.ErrorContains(t, err, "Config.TestLimit")
}
