package webui_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webui"
)

// prefix is where the test host mounts the pages, as examples/fediserver
// does.
const prefix = "/settings/webhooks"

// A host is a small server embedding the pages, as a fediverse server
// would: a sign-in page whose Token field takes one of its users' tokens
// and sets a session cookie, and a Dispatcher over a memory store that
// delivers (when the test calls drain) to recv over real HTTP.
type host struct {
	t    *testing.T
	d    *webhook.Dispatcher
	ui   *webui.Handler
	srv  *httptest.Server
	recv *receiver
}

// The users of the test host, by token.
var users = map[string]webui.User{
	"alice-token": {ID: "alice"},
	"bob-token":   {ID: "bob"},
	"admin-token": {ID: "admin", Operator: true},
}

func newHost(t *testing.T, cfg *webui.Config) *host { return newHostWith(t, cfg, nil) }

// newHostWith is newHost with the Dispatcher's and the pages' clock; nil
// is the system's.
func newHostWith(t *testing.T, cfg *webui.Config, clk webhook.Clock) *host {
	t.Helper()
	h := &host{t: t, recv: newReceiver(t)}
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{
		AllowNetworks: []webhook.AllowRule{mustRule(t, "127.0.0.0/8")}})
	require.NoError(t, err)
	t.Cleanup(tr.CloseIdleConnections)
	h.d, err = webhook.New(nil, &webhook.Config{Host: "fedi.test", Transport: tr, Clock: clk})
	require.NoError(t, err)
	c := webui.Config{Prefix: prefix, LoginURL: "/login"}
	if cfg != nil {
		c = *cfg
	}
	if clk != nil {
		c.Clock = clk
	}
	h.ui, err = webui.New(h.d, sessionUser, &c)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", h.ui)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Sign in</title><form method="post" action="/login">
<input type="hidden" name="next" value="%s">
<label for="token">Token</label> <input id="token" name="token" type="password">
<button type="submit">Sign in</button></form>`, html.EscapeString(r.URL.Query().Get("next")))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := users[r.PostFormValue("token")]; !ok {
			http.Error(w, "unknown token", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: r.PostFormValue("token"), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode})
		next := r.PostFormValue("next")
		if !strings.HasPrefix(next, prefix+"/") {
			next = prefix + "/"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func sessionUser(r *http.Request) (webui.User, bool) {
	c, err := r.Cookie("session")
	if err != nil {
		return webui.User{}, false
	}
	u, ok := users[c.Value]
	return u, ok
}

func mustRule(t *testing.T, s string) webhook.AllowRule {
	r, err := webhook.ParseAllowRule(s)
	require.NoError(t, err)
	return r
}

// drain delivers every delivery due now and returns how many.
func (h *host) drain() int {
	n, err := h.d.Drain(context.Background())
	require.NoError(h.t, err)
	return n
}

// hook creates a webhook directly, as the host's API would.
func (h *host) hook(owner string, on ...webhook.Event) *webhook.Webhook {
	name := owner + "'s hook"
	if owner == "" {
		name = "system hook"
	}
	w, err := h.d.CreateHook(context.Background(), &webhook.Webhook{UserID: owner, Name: name,
		URL: h.recv.srv.URL + "/" + owner, Secret: "s3cret-" + owner, On: on, Active: true,
		SigningSecret: webhook.NewSigningSecret()})
	require.NoError(h.t, err)
	return w
}

// A receiver is a webhook receiver whose answers the test scripts.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// replies are the next answers, one per request; then 200 "thanks".
	// Paths under /fail/ always get 500.
	replies []reply
	got     []string // event types received
}

type reply struct {
	status int
	body   string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rp := reply{http.StatusOK, "thanks"}
		if strings.HasPrefix(r.URL.Path, "/fail/") {
			rp = reply{http.StatusInternalServerError, "down"}
		} else if len(rc.replies) > 0 {
			rp, rc.replies = rc.replies[0], rc.replies[1:]
		}
		m := regexp.MustCompile(`"type":"([a-zA-Z]+)"`).FindSubmatch(body)
		if m != nil {
			rc.got = append(rc.got, string(m[1]))
		}
		rc.mu.Unlock()
		w.WriteHeader(rp.status)
		_, _ = io.WriteString(w, rp.body)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) script(rs ...reply) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.replies = append(rc.replies, rs...)
}

func (rc *receiver) received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.got...)
}

// A client is a browser-like HTTP client of the host (cookies, no
// redirects followed unless asked), for the tests that need no browser.
type client struct {
	t    *testing.T
	h    *host
	c    *http.Client
	lang string
}

func (h *host) client(token string) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	u, _ := url.Parse(h.srv.URL)
	if token != "" {
		jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: token, Path: "/"}})
	}
	// Its own connections, closed with the test, so that goleak does not
	// see the shared transport's keep-alive readers.
	tr := &http.Transport{}
	h.t.Cleanup(tr.CloseIdleConnections)
	return &client{t: h.t, h: h, c: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// A response is a read response.
type response struct {
	status int
	header http.Header
	body   string
	// text is body with HTML's character references read, to look for
	// values (secrets) whatever their escaping.
	text string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) *response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b), text: html.UnescapeString(string(b))}
}

func (c *client) get(path string) *response { return c.do(http.MethodGet, path, nil, nil) }

// post posts form to path with the anti-forgery token of the page at
// from, as the page's form would.
func (c *client) post(from, path string, form url.Values) *response {
	c.t.Helper()
	page := c.get(from)
	require.Equal(c.t, http.StatusOK, page.status, "GET %s: %s", from, page.body)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfOf(c.t, page.body))
	return c.do(http.MethodPost, path, form, nil)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m, "the page has a form with a token")
	return m[1]
}
