package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browser is an HTTP client that keeps cookies and shows redirects, as a
// browser would meet them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns its status, Location and body (with the
// HTML character references read).
func (b *browser) do(method, path string, form url.Values, hdr ...string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, resp.Header.Get("Location"), html.UnescapeString(string(out))
}

// page returns the body of a GET, "" on any failure (for polling, where
// the test's own goroutine must not fail).
func (b *browser) page(path string) string {
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit posts form to path with the anti-forgery token of the page at
// from, as that page's form would.
func (b *browser) submit(from, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	status, _, page := b.do(http.MethodGet, from, nil)
	require.Equal(b.t, http.StatusOK, status, page)
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(b.t, m, "the page has a form")
	form.Set("csrf", m[1])
	return b.do(http.MethodPost, path, form)
}

func TestFediserverSettingsPages(t *testing.T) {
	f := startFedi(t)
	alice := newBrowser(t, f.base)

	// Not signed in: to /login, which comes back to the page asked for.
	status, loc, _ := alice.do(http.MethodGet, "/settings/webhooks/new", nil)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/login?next=%2Fsettings%2Fwebhooks%2Fnew", loc)
	status, _, page := alice.do(http.MethodGet, loc, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `<label for="token">Token</label>`)
	status, _, page = alice.do(http.MethodPost, "/login", url.Values{"token": {"tok-nobody"}, "next": {"/settings/webhooks/new"}})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, page, "That token signs nobody in.")
	status, _, _ = alice.do(http.MethodPost, "/login", url.Values{"token": {"tok-alice"}}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, status, "no signing in from another site")
	status, loc, _ = alice.do(http.MethodPost, "/login", url.Values{"token": {"tok-alice"}, "next": {"/settings/webhooks/new"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/settings/webhooks/new", loc)

	// Create a webhook through the form; a note reaches it; the log shows it.
	status, _, page = alice.submit("/settings/webhooks/new", "/settings/webhooks/new", url.Values{
		"name": {"my bot"}, "url": {f.rcvURL + "/bot"}, "secret": {"s3"}, "on": {"note"}, "active": {"1"}})
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, "Its signing secret is shown only now.")
	id := regexp.MustCompile(`href="/settings/webhooks/hooks/([^"/]+)"`).FindStringSubmatch(page)
	require.NotNil(t, id)
	st, out := post(t, f.base, "/api/notes/create", map[string]any{"i": "tok-alice", "text": "hello"})
	require.Equal(t, http.StatusOK, st, string(out))
	g := f.wait(t, 1)[0]
	require.Equal(t, id[1], g.hookID)
	require.Equal(t, "s3", g.secret)
	// The delivery is settled a moment after the receiver answered: the
	// page says so once it is.
	require.Eventually(t, func() bool {
		return strings.Contains(alice.page("/settings/webhooks/hooks/"+id[1]), "1 delivered, 0 pending, 0 failed")
	}, 30*time.Second, 10*time.Millisecond)
	status, _, page = alice.do(http.MethodGet, "/settings/webhooks/hooks/"+id[1], nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 1, strings.Count(page, `class="delivery"`))

	// Test send, through the server's Dispatcher.
	status, _, page = alice.submit("/settings/webhooks/hooks/"+id[1], "/settings/webhooks/hooks/"+id[1]+"/test", url.Values{"event": {"mention"}})
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "The receiver accepted the test mention: it answered 204 No Content")

	// Bob does not see it; root, an operator, sees the queue.
	bob := newBrowser(t, f.base)
	bob.do(http.MethodPost, "/login", url.Values{"token": {"tok-bob"}})
	status, _, _ = bob.do(http.MethodGet, "/settings/webhooks/hooks/"+id[1], nil)
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = bob.do(http.MethodGet, "/settings/webhooks/queue", nil)
	require.Equal(t, http.StatusNotFound, status)
	root := newBrowser(t, f.base)
	status, loc, _ = root.do(http.MethodPost, "/login", url.Values{"token": {"tok-root"}, "next": {"https://evil.example/"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/settings/webhooks/", loc, "never elsewhere")
	status, _, page = root.do(http.MethodGet, "/settings/webhooks/queue", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "No webhook is failing.")

	// Signing out ends the session.
	status, _, _ = alice.do(http.MethodPost, "/logout", url.Values{})
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = alice.do(http.MethodGet, "/settings/webhooks/", nil)
	require.Equal(t, http.StatusSeeOther, status)
}
