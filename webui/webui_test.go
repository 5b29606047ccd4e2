package webui_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
	"github.com/fedihook/webhook/webui"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	d, err := webhook.New(nil, &webhook.Config{Host: "fedi.test"})
	require.NoError(t, err)
	for _, tc := range []struct {
		cfg  webui.Config
		want string
	}{
		{webui.Config{Prefix: "settings"}, "Config.Prefix must start with /"},
		{webui.Config{Prefix: "/settings/"}, "Config.Prefix must start with /"},
		{webui.Config{Prefix: "/a b"}, "Config.Prefix must be a plain path"},
		{webui.Config{CSRFKey: []byte("short")}, "Config.CSRFKey must be at least 32 bytes, got 5"},
		{webui.Config{RotationOverlap: -time.Hour}, "Config.RotationOverlap must be > 0"},
		{webui.Config{ChartScan: -1}, "Config.ChartScan must be >= 1"},
	} {
		_, err := webui.New(d, sessionUser, &tc.cfg)
		require.ErrorContains(t, err, tc.want)
		require.True(t, strings.HasPrefix(err.Error(), "webui: "), err.Error())
	}
	_, err = webui.New(nil, sessionUser, nil)
	require.ErrorContains(t, err, "needs a Dispatcher")
	_, err = webui.New(d, nil, nil)
	require.ErrorContains(t, err, "needs a UserFunc")
	_, err = webui.New(d, sessionUser, nil)
	require.NoError(t, err, "a nil Config means the defaults")
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	anon := h.client("")
	r := anon.get(prefix + "/hooks/x?state=failed")
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, "/login?next="+url.QueryEscape(prefix+"/hooks/x?state=failed"), r.header.Get("Location"))

	// Without a LoginURL, a page that says to sign in.
	h2 := newHost(t, &webui.Config{Prefix: prefix})
	r = h2.client("").get(prefix + "/")
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Contains(t, r.body, "Sign in to manage your webhooks.")

	// The prefix itself redirects to its page; outside it, nothing.
	rec := httptest.NewRecorder()
	h.ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, prefix, nil))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, prefix+"/", rec.Header().Get("Location"))
	rec = httptest.NewRecorder()
	h.ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/settings/webhooksx/", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	alice := h.client("alice-token")
	require.Equal(t, http.StatusOK, alice.get(prefix+"/").status)
	require.Equal(t, http.StatusNotFound, alice.get(prefix+"/nope").status)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	r := h.client("alice-token").get(prefix + "/")
	require.Equal(t, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		r.header.Get("Content-Security-Policy"))
	require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	require.NotContains(t, r.body, "<script", "no script at all")
	require.NotContains(t, r.body, "style=", "no inline style, which the policy would block")
	var csrf *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == webui.DefaultCSRFCookie {
			csrf = c
		}
	}
	require.NotNil(t, csrf)
	require.True(t, csrf.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, csrf.SameSite)
	require.Equal(t, prefix+"/", csrf.Path)

	css := h.client("").get(prefix + "/assets/style.css")
	require.Equal(t, http.StatusOK, css.status)
	require.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
}

func TestCreateEditDelete(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	alice := h.client("alice-token")
	r := alice.post(prefix+"/new", prefix+"/new", url.Values{"id": {"0123456789abcdef"}, "name": {"Discord"},
		"url": {h.recv.srv.URL + "/d"}, "secret": {"hunter2"}, "on": {"note", "mention"}, "active": {"1"}})
	require.Equal(t, http.StatusOK, r.status, r.body)
	w, err := h.d.GetHook(context.Background(), "0123456789abcdef")
	require.NoError(t, err)
	require.Equal(t, "alice", w.UserID)
	require.Equal(t, []webhook.Event{webhook.EventNote, webhook.EventMention}, w.On)
	require.Equal(t, "hunter2", w.Secret)
	require.True(t, w.Active)
	require.True(t, strings.HasPrefix(w.SigningSecret, "whsec_"))
	require.Contains(t, r.text, w.SigningSecret, "the signing secret is shown once, on creation")

	// Posted again (a reload): still one webhook, and the page of it.
	r = alice.post(prefix+"/new", prefix+"/new", url.Values{"id": {"0123456789abcdef"}, "name": {"Discord"},
		"url": {h.recv.srv.URL + "/d"}, "on": {"note"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, prefix+"/hooks/0123456789abcdef", r.header.Get("Location"))
	hooks, err := h.d.ListHooks(context.Background(), "alice")
	require.NoError(t, err)
	require.Len(t, hooks, 1)

	// Secrets are not on the webhook's pages, until revealed.
	for _, p := range []string{"/", "/hooks/" + w.ID, "/hooks/" + w.ID + "/edit"} {
		text := alice.get(prefix + p).text
		require.NotContains(t, text, "hunter2", p)
		require.NotContains(t, text, w.SigningSecret, p)
	}
	r = alice.post(prefix+"/hooks/"+w.ID, prefix+"/hooks/"+w.ID+"/reveal", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.text, "hunter2")
	require.Contains(t, r.text, w.SigningSecret)

	// Edit: an empty secret keeps it; the checkbox removes it.
	edit := prefix + "/hooks/" + w.ID + "/edit"
	r = alice.post(edit, edit, url.Values{"name": {"Discord bridge"}, "url": {"https://example.com/h"}, "on": {"follow"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, prefix+"/hooks/"+w.ID+"?done=saved", r.header.Get("Location"))
	w2, err := h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Equal(t, "Discord bridge", w2.Name)
	require.Equal(t, "https://example.com/h", w2.URL)
	require.Equal(t, []webhook.Event{webhook.EventFollow}, w2.On)
	require.False(t, w2.Active, "an unchecked Active box")
	require.Equal(t, "hunter2", w2.Secret)
	require.Equal(t, w.SigningSecret, w2.SigningSecret)
	r = alice.post(edit, edit, url.Values{"name": {"Discord bridge"}, "url": {"https://example.com/h"}, "on": {"follow"},
		"clearSecret": {"1"}, "active": {"1"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	w2, err = h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Empty(t, w2.Secret)
	require.True(t, w2.Active)
	require.Contains(t, alice.get(prefix+"/hooks/"+w.ID+"?done=saved").body, "Saved.")

	// Bad input: sentences, and the form keeps what was typed.
	r = alice.post(edit, edit, url.Values{"name": {""}, "url": {"ftp://example.com/<b>"}, "secret": {"a\x01b"}, "on": {"abuseReport"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	for _, s := range []string{"Give the webhook a name.", "The URL must be a full http:// or https:// address",
		"The secret must not start or end with a space", "One of the chosen events is not one this webhook can take."} {
		require.Contains(t, r.body, s)
	}
	require.Contains(t, r.body, `value="ftp://example.com/&lt;b&gt;"`)
	r = alice.post(edit, edit, url.Values{"name": {"x"}, "url": {"https://example.com/"}})
	require.Contains(t, r.body, "Choose at least one event.")

	// Delete, after a page that asks.
	del := prefix + "/hooks/" + w.ID + "/delete"
	r = alice.get(del)
	require.Contains(t, r.body, "Delete the webhook Discord bridge?")
	_, err = h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err, "showing the question deletes nothing")
	r = alice.post(del, del, nil)
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, prefix+"/?done=deleted", r.header.Get("Location"))
	_, err = h.d.GetHook(context.Background(), w.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	alice := h.client("alice-token")
	del := prefix + "/hooks/" + w.ID + "/delete"
	token := csrfOf(t, alice.get(del).body)

	refused := func(r *response) {
		t.Helper()
		require.Equal(t, http.StatusForbidden, r.status)
		require.Contains(t, r.body, "This form has expired or was not sent from this site.")
		_, err := h.d.GetHook(context.Background(), w.ID)
		require.NoError(t, err, "the webhook is still there")
	}
	refused(alice.do(http.MethodPost, del, url.Values{}, nil))
	refused(alice.do(http.MethodPost, del, url.Values{"csrf": {"forged"}}, nil))
	// Bob's token is not Alice's, even from the same browser.
	bob := h.client("bob-token")
	refused(alice.do(http.MethodPost, del, url.Values{"csrf": {csrfOf(t, bob.get(prefix+"/new").body)}}, nil))
	// Without the cookie the token is useless.
	fresh := h.client("alice-token")
	refused(fresh.do(http.MethodPost, del, url.Values{"csrf": {token}}, nil))
	// A browser says when a request comes from another site: refused even
	// with the token.
	refused(alice.do(http.MethodPost, del, url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}))
	refused(alice.do(http.MethodPost, del, url.Values{"csrf": {token}}, map[string]string{"Origin": "https://evil.test"}))

	r := alice.do(http.MethodPost, del, url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusSeeOther, r.status)
	_, err := h.d.GetHook(context.Background(), w.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func TestOthersWebhooksAreNotFound(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	sys := h.hook("", webhook.EventAbuseReport)
	require.NoError(t, h.d.Emit(context.Background(), "alice", webhook.EventNote, map[string]any{"note": map[string]any{"id": "n1"}}))
	require.Equal(t, 1, h.drain())
	page, err := h.d.ListDeliveries(context.Background(), webhook.DeliveryQuery{HookID: w.ID})
	require.NoError(t, err)
	delID := page.Deliveries[0].ID.String()

	bob := h.client("bob-token")
	for _, id := range []string{w.ID, sys.ID} {
		base := prefix + "/hooks/" + id
		for _, p := range []string{base, base + "/edit", base + "/delete", base + "/deliveries/" + delID} {
			r := bob.get(p)
			require.Equal(t, http.StatusNotFound, r.status, p)
			require.Contains(t, r.body, "There is no such", p)
			require.NotContains(t, r.body, "s3cret")
			require.NotContains(t, r.body, h.recv.srv.URL)
		}
		for _, p := range []string{"/delete", "/test", "/reveal", "/rotate", "/recover", "/deliveries/" + delID + "/redeliver"} {
			r := bob.post(prefix+"/new", base+p, url.Values{"event": {"note"}, "since": {"24h"}, "name": {"x"}})
			require.Equal(t, http.StatusNotFound, r.status, p)
		}
	}
	for _, p := range []string{"/system", "/system/new", "/queue"} {
		require.Equal(t, http.StatusNotFound, bob.get(prefix+p).status, p)
	}
	_, err = h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"note"}, h.recv.received(), "no test was sent for bob")

	// A delivery of another webhook is not found under Alice's own.
	own := h.hook("alice", webhook.EventMention)
	alice := h.client("alice-token")
	require.Equal(t, http.StatusNotFound, alice.get(prefix+"/hooks/"+own.ID+"/deliveries/"+delID).status)
	require.Equal(t, http.StatusOK, alice.get(prefix+"/hooks/"+w.ID+"/deliveries/"+delID).status)
	require.Equal(t, http.StatusNotFound, alice.get(prefix+"/hooks/"+w.ID+"/deliveries/not-a-uuid").status)

	// An operator manages the system webhooks, not other users'.
	admin := h.client("admin-token")
	require.Equal(t, http.StatusOK, admin.get(prefix+"/hooks/"+sys.ID).status)
	require.Equal(t, http.StatusNotFound, admin.get(prefix+"/hooks/"+w.ID).status)
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w, err := h.d.CreateHook(context.Background(), &webhook.Webhook{UserID: "alice", Name: `<script>alert("x")</script>`,
		URL: `https://example.com/?q="><img src=x onerror=alert(1)>`, On: []webhook.Event{webhook.EventNote}, Active: true})
	require.NoError(t, err)
	alice := h.client("alice-token")
	for _, p := range []string{"/", "/hooks/" + w.ID, "/hooks/" + w.ID + "/edit", "/hooks/" + w.ID + "/delete"} {
		body := alice.get(prefix + p).body
		require.NotContains(t, body, "<script>", p)
		require.NotContains(t, body, "<img", p)
		require.Contains(t, body, "&lt;script&gt;", p)
	}
}

func TestTestSend(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	alice := h.client("alice-token")
	page := prefix + "/hooks/" + w.ID
	h.recv.script(reply{http.StatusOK, `{"ok":true,"note":"<b>hi</b>"}`})
	r := alice.post(page, page+"/test", url.Values{"event": {"mention"}})
	require.Equal(t, http.StatusOK, r.status)
	require.Regexp(t, `The receiver accepted the test mention: it answered 200 OK after \d+ (µs|ms)\.`, r.body)
	require.Contains(t, r.body, `{&#34;ok&#34;:true,&#34;note&#34;:&#34;&lt;b&gt;hi&lt;/b&gt;&#34;}`)
	require.Equal(t, []string{"mention"}, h.recv.received())

	h.recv.script(reply{http.StatusServiceUnavailable, "busy"})
	r = alice.post(page, page+"/test", url.Values{"event": {"note"}})
	require.Contains(t, r.body, "The receiver refused the test note: it answered 503 Service Unavailable after")

	// No answer at all: the error, in a sentence.
	w2, err := h.d.CreateHook(context.Background(), &webhook.Webhook{UserID: "alice", Name: "down",
		URL: "http://127.0.0.1:1/hook", On: []webhook.Event{webhook.EventNote}, Active: true})
	require.NoError(t, err)
	page2 := prefix + "/hooks/" + w2.ID
	r = alice.post(page2, page2+"/test", url.Values{"event": {"note"}})
	require.Regexp(t, `The test note could not be delivered after [^:]+: .*connection refused`, r.body)

	r = alice.post(page, page+"/test", url.Values{"event": {"abuseReport"}})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Zero(t, h.drain(), "a test leaves nothing queued")
}

func TestTestSendLimit(t *testing.T) {
	t.Parallel()
	clk := webhooktest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	h := newHostWith(t, &webui.Config{Prefix: prefix, LoginURL: "/login", TestLimit: 2, TestWindow: time.Minute}, clk)
	w := h.hook("alice", webhook.EventNote)
	alice, bob := h.client("alice-token"), h.client("bob-token")
	page := prefix + "/hooks/" + w.ID
	for range 2 {
		h.recv.script(reply{http.StatusOK, "ok"})
		require.Equal(t, http.StatusOK, alice.post(page, page+"/test", url.Values{"event": {"note"}}).status)
	}
	r := alice.post(page, page+"/test", url.Values{"event": {"note"}})
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Contains(t, r.body, "Too many test sends.")
	require.Equal(t, []string{"note", "note"}, h.recv.received(), "the refused test is not sent")

	wb := h.hook("bob", webhook.EventNote)
	pb := prefix + "/hooks/" + wb.ID
	h.recv.script(reply{http.StatusOK, "ok"})
	require.Equal(t, http.StatusOK, bob.post(pb, pb+"/test", url.Values{"event": {"note"}}).status, "users are counted apart")

	clk.Advance(time.Minute)
	h.recv.script(reply{http.StatusOK, "ok"})
	require.Equal(t, http.StatusOK, alice.post(page, page+"/test", url.Values{"event": {"note"}}).status, "a new window")
}

func TestLogRedeliverRecover(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	ctx := context.Background()
	for i := range 25 {
		require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"note": map[string]any{"id": i}}))
	}
	// The first three sent are refused for good (400), the rest accepted.
	h.recv.script(reply{400, "no"}, reply{400, "no"}, reply{400, "no"})
	require.Equal(t, 25, h.drain())
	alice := h.client("alice-token")
	page := prefix + "/hooks/" + w.ID

	r := alice.get(page)
	require.Equal(t, 20, strings.Count(r.body, `class="delivery"`), "a page of 20")
	require.Contains(t, r.body, "Older deliveries")
	require.Contains(t, r.body, `<svg class="chart"`)
	require.Contains(t, r.body, "Deliveries created in the last 24 hours, by hour: 22 delivered, 0 pending, 3 failed.")
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(r.body)
	require.NotNil(t, next)
	r = alice.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	require.Equal(t, 5, strings.Count(r.body, `class="delivery"`))
	require.NotContains(t, r.body, "Older deliveries")
	require.Contains(t, r.body, "Newest deliveries")

	r = alice.get(page + "?state=failed")
	require.Equal(t, 3, strings.Count(r.body, `class="delivery"`))
	require.Contains(t, r.body, `<option value="failed" selected>`)
	r = alice.get(page + "?state=failed&cursor=garbage")
	require.Contains(t, r.body, "That page of the log does not exist any more")
	require.Equal(t, 3, strings.Count(r.body, `class="delivery"`))

	// A failed delivery's attempts, and Redeliver.
	failed, err := h.d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, State: webhook.StateFailed})
	require.NoError(t, err)
	del := failed.Deliveries[0]
	dp := prefix + "/hooks/" + w.ID + "/deliveries/" + del.ID.String()
	r = alice.get(dp)
	require.Contains(t, r.body, "400 Bad Request")
	require.Contains(t, r.body, `<pre class="excerpt">no</pre>`)
	r = alice.post(dp, dp+"/redeliver", nil)
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, dp+"?done=redelivered", r.header.Get("Location"))
	require.Equal(t, 1, h.drain())
	r = alice.get(dp + "?done=redelivered")
	require.Contains(t, r.body, "The delivery will be sent again in a moment.")
	require.Contains(t, r.body, `id="delivery-state">delivered`)
	require.Equal(t, 2, strings.Count(r.body, "<tr class="), "two attempts")

	// Recover failed: the two still failed.
	r = alice.post(page, page+"/recover", url.Values{"since": {"1h"}})
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, page+"?done=recovered&n=2", r.header.Get("Location"))
	require.Equal(t, 2, h.drain())
	require.Contains(t, alice.get(page+"?done=recovered&n=2").body, "2 failed deliveries will be sent again in a moment.")
	r = alice.post(page, page+"/recover", url.Values{"since": {"1h"}})
	require.Equal(t, page+"?done=recoveredNone", r.header.Get("Location"))
	r = alice.post(page, page+"/recover", url.Values{"since": {"1y"}})
	require.Equal(t, http.StatusBadRequest, r.status)
}

func TestRotate(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	clk := webhooktest.NewClock(start)
	h := newHost(t, &webui.Config{Prefix: prefix, Clock: clk, RotationOverlap: 2 * time.Hour})
	w := h.hook("alice", webhook.EventNote)
	alice := h.client("alice-token")
	page := prefix + "/hooks/" + w.ID
	r := alice.post(page, page+"/rotate", nil)
	require.Equal(t, http.StatusOK, r.status)
	got, err := h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.NotEqual(t, w.SigningSecret, got.SigningSecret)
	require.Equal(t, []webhook.PreviousSecret{{Secret: w.SigningSecret, Expires: start.Add(2 * time.Hour)}}, got.PreviousSigningSecrets)
	require.Contains(t, r.text, got.SigningSecret, "the new secret is shown once")
	require.NotContains(t, r.text, w.SigningSecret, "the former is not")
	require.Contains(t, r.body, "The former one still signs requests until 2026-12-06 03:00:00 UTC.")
	require.NotContains(t, alice.get(page).text, got.SigningSecret)

	// Rotating again after the first expired drops it.
	clk.Advance(3 * time.Hour)
	alice.post(page, page+"/rotate", nil)
	third, err := h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Equal(t, []webhook.PreviousSecret{{Secret: got.SigningSecret, Expires: clk.Now().Add(2 * time.Hour)}}, third.PreviousSigningSecrets)
}

func TestOperatorPages(t *testing.T) {
	t.Parallel()
	h := newHost(t, &webui.Config{Prefix: prefix, UserIDs: func(context.Context) ([]string, error) {
		return []string{"alice", "bob"}, nil
	}})
	ctx := context.Background()
	sys, err := h.d.CreateHook(ctx, &webhook.Webhook{Name: "mod alerts", URL: h.recv.srv.URL + "/fail/mod",
		On: []webhook.Event{webhook.EventUserCreated}, Active: true})
	require.NoError(t, err)
	aw, err := h.d.CreateHook(ctx, &webhook.Webhook{UserID: "alice", Name: "alice's discord",
		URL: h.recv.srv.URL + "/fail/api/webhooks/123/SECRET-TOKEN", On: []webhook.Event{webhook.EventNote}, Active: true})
	require.NoError(t, err)
	h.hook("bob", webhook.EventNote)
	require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventNote, map[string]any{}))
	require.NoError(t, h.d.EmitSystem(ctx, webhook.EventUserCreated, map[string]any{"id": "u"}))
	require.NoError(t, h.d.Emit(ctx, "bob", webhook.EventNote, map[string]any{}))
	// alice's and the system's fail and wait for a retry; bob's succeeds.
	require.Equal(t, 3, h.drain())

	admin := h.client("admin-token")
	r := admin.get(prefix + "/queue")
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, `id="pending-count">2<`)
	require.Contains(t, r.body, `<svg class="meter"`)
	require.Contains(t, r.body, "alice&#39;s discord")
	require.Contains(t, r.body, "mod alerts")
	require.NotContains(t, r.body, "SECRET-TOKEN", "a user's URL shows its host only")
	require.NotContains(t, r.body, "bob&#39;s hook", "bob's webhook is healthy")
	require.NotContains(t, r.body, `href="`+prefix+"/hooks/"+aw.ID, "an operator cannot open a user's webhook")
	require.Contains(t, r.body, `href="`+prefix+"/hooks/"+sys.ID)

	// The system webhooks: a list and a form with the system events.
	r = admin.get(prefix + "/system")
	require.Contains(t, r.body, "mod alerts")
	r = admin.get(prefix + "/system/new")
	require.Contains(t, r.body, `value="abuseReport"`)
	require.NotContains(t, r.body, `value="note"`)
	r = admin.post(prefix+"/system/new", prefix+"/system/new", url.Values{"name": {"sign-ups"},
		"url": {"https://example.com/mod"}, "on": {"abuseReport"}, "active": {"1"}})
	require.Equal(t, http.StatusOK, r.status, r.body)
	hooks, err := h.d.ListHooks(ctx, "")
	require.NoError(t, err)
	require.Len(t, hooks, 2)

	// Users cannot make system webhooks, nor system events in theirs.
	alice := h.client("alice-token")
	r = alice.post(prefix+"/new", prefix+"/system/new", url.Values{"name": {"x"}, "url": {"https://example.com/"}, "on": {"abuseReport"}})
	require.Equal(t, http.StatusNotFound, r.status)
	r = alice.post(prefix+"/new", prefix+"/new", url.Values{"name": {"x"}, "url": {"https://example.com/"}, "on": {"abuseReport"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
}

func TestJapanese(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	alice := h.client("alice-token")
	alice.lang = "ja,en-US;q=0.8"
	r := alice.get(prefix + "/")
	require.Contains(t, r.body, `<html lang="ja">`)
	require.Contains(t, r.body, "自分のWebhook")
	r = alice.get(prefix + "/hooks/" + w.ID)
	require.Contains(t, r.body, "テスト送信")
	r = alice.get(prefix + "/hooks/nope")
	require.Contains(t, r.body, "そのWebhookはありません。")
	alice.lang = "en;q=0.9,ja;q=0.5"
	require.Contains(t, alice.get(prefix+"/").body, `<html lang="en">`)
}

// A webhook ID may hold any printable ASCII (hosts choose their own); the
// pages' links and forms still reach it.
func TestOddHookIDs(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	w, err := h.d.CreateHook(context.Background(), &webhook.Webhook{ID: `a/b%c?d#e"f<g`, UserID: "alice", Name: "odd",
		URL: "https://example.com/", On: []webhook.Event{webhook.EventNote}, Active: true})
	require.NoError(t, err)
	alice := h.client("alice-token")
	m := regexp.MustCompile(`<a href="([^"]+)">odd</a>`).FindStringSubmatch(alice.get(prefix + "/").body)
	require.NotNil(t, m)
	page := html.UnescapeString(m[1])
	require.Equal(t, prefix+"/hooks/a%2Fb%25c%3Fd%23e%22f%3Cg", page)
	require.Equal(t, http.StatusOK, alice.get(page).status)
	// The edit form posts where its action says, which must be the
	// webhook's edit address, escaped as the links are.
	edit := alice.get(page + "/edit")
	require.Equal(t, http.StatusOK, edit.status)
	a := regexp.MustCompile(`<form method="post" action="([^"]+)" class="hookform">`).FindStringSubmatch(edit.body)
	require.NotNil(t, a, edit.body)
	require.Equal(t, page+"/edit", html.UnescapeString(a[1]))
	r := alice.post(page+"/edit", html.UnescapeString(a[1]), url.Values{"name": {"odder"}, "url": {"https://example.com/"}, "on": {"note"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, page+"?done=saved", r.header.Get("Location"))
	got, err := h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Equal(t, "odder", got.Name)
}
