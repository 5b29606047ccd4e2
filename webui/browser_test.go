package webui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// The browser tests drive headless Chromium through the pages, finding
// fields and buttons by their accessible names, as a person with a
// screen reader would. They are skipped when no Chromium is installed,
// unless FEDIHOOK_BROWSER=1 (which .ci/test.sh sets after installing
// Debian's chromium): then a missing browser fails them.

// chromium returns the browser's path, from FEDIHOOK_CHROMIUM or PATH.
func chromium() string {
	if p := os.Getenv("FEDIHOOK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// A browser is one headless Chromium for a test; each of its sessions
// is a separate browser context, with its own cookies.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv("FEDIHOOK_BROWSER") == "1" {
			t.Fatal("FEDIHOOK_BROWSER=1 but no Chromium found (set FEDIHOOK_CHROMIUM or install Debian's chromium)")
		}
		t.Skip("no Chromium installed; set FEDIHOOK_BROWSER=1 to make this a failure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel) // ends the browser and waits for it
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "starting Chromium")
	return &browser{t: t, ctx: bctx}
}

// A tab is one person's browser session.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b *browser) session() *tab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return &tab{t: b.t, ctx: ctx}
}

// byRole finds the elements whose computed accessibility role and name
// are these, with Chromium's own accessibility tree.
func byRole(role, name string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			NodeID: n.NodeID, AccessibleName: name, Role: role})
		if err != nil {
			return nil, err
		}
		var ids []cdp.BackendNodeID
		for _, ax := range res.Nodes {
			if !ax.Ignored && ax.BackendDOMNodeID != 0 {
				ids = append(ids, ax.BackendDOMNodeID)
			}
		}
		if len(ids) == 0 {
			return nil, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend,
			dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: ids})
		return pushed.NodeIDs, err
	})
}

// do runs actions, failing the test on error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	require.NoError(tb.t, retryStale(func() error { return chromedp.Do(tb.ctx, actions...) }))
}

// retryStale runs f again, a few times, while it fails because a node it
// found was gone by the time it acted on it: chromedp may query a page's
// previous document until it learns of the new one, and the nodes of the
// old one vanish between the query and the action. The action itself
// never ran then (the node it needed did not exist), so running it again
// does nothing twice.
func retryStale(f func() error) error {
	var err error
	for range 5 {
		if err = f(); err == nil || !strings.Contains(err.Error(), "No node with given id found") {
			return err
		}
	}
	return err
}

// open navigates to url and returns the page's HTTP status.
func (tb *tab) open(url string) int64 {
	tb.t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(url))
	require.NoError(tb.t, err)
	return resp.Status
}

// press clicks the control of that role and name, waits for the page it
// leads to, and returns its HTTP status.
func (tb *tab) press(role, name string) int64 {
	tb.t.Helper()
	var resp *network.Response
	err := retryStale(func() (err error) {
		resp, err = chromedp.RunResponse(tb.ctx, chromedp.Click(role+" "+name, byRole(role, name), chromedp.NodeVisible))
		return err
	})
	require.NoError(tb.t, err, "pressing %s %q", role, name)
	return resp.Status
}

// fill types v into the textbox named name, replacing what it held.
func (tb *tab) fill(name, v string) {
	tb.t.Helper()
	tb.do(chromedp.Clear("textbox "+name, byRole("textbox", name)),
		chromedp.SendKeys("textbox "+name, v, byRole("textbox", name)))
}

// check clicks the checkbox named name.
func (tb *tab) check(name string) {
	tb.t.Helper()
	tb.do(chromedp.Click("checkbox "+name, byRole("checkbox", name)))
}

// text returns the page's visible text.
func (tb *tab) text() string {
	tb.t.Helper()
	var s string
	err := retryStale(func() (err error) {
		s, err = chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS("body")))
		return err
	})
	require.NoError(tb.t, err)
	return s
}

// value returns the value of the textbox named name.
func (tb *tab) value(name string) string {
	tb.t.Helper()
	var s string
	err := retryStale(func() (err error) {
		s, err = chromedp.Run(tb.ctx, chromedp.Value("textbox "+name, byRole("textbox", name)))
		return err
	})
	require.NoError(tb.t, err)
	return s
}

func (tb *tab) signIn(h *host, token string) {
	tb.t.Helper()
	require.EqualValues(tb.t, http.StatusOK, tb.open(h.srv.URL+prefix+"/"), "redirected to the sign-in page")
	tb.fill("Token", token)
	require.EqualValues(tb.t, http.StatusOK, tb.press("button", "Sign in"))
}

func TestBrowserWalkthrough(t *testing.T) {
	b := newBrowser(t)
	h := newHost(t, nil)
	ctx := context.Background()
	alice := b.session()

	// Sign in: the pages send us to the host's sign-in page and back.
	alice.signIn(h, "alice-token")
	require.Contains(t, alice.text(), "No webhooks yet.")

	// Create.
	require.EqualValues(t, http.StatusOK, alice.press("link", "New webhook"))
	alice.fill("Name", "Discord bridge")
	alice.fill("URL", h.recv.srv.URL+"/discord")
	alice.fill("Secret", "hunter2")
	alice.check("note")
	alice.check("mention")
	require.EqualValues(t, http.StatusOK, alice.press("button", "Create"))
	hooks, err := h.d.ListHooks(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	w := hooks[0]
	require.Equal(t, "Discord bridge", w.Name)
	require.Equal(t, []webhook.Event{webhook.EventNote, webhook.EventMention}, w.On)
	require.Equal(t, "hunter2", w.Secret)
	require.True(t, w.Active)
	require.Equal(t, w.SigningSecret, alice.value("Signing secret"), "the signing secret, shown once")

	// Test send.
	require.EqualValues(t, http.StatusOK, alice.press("link", "Go to the webhook"))
	require.NotContains(t, alice.text(), "hunter2")
	alice.do(chromedp.SetValue("combobox Event", "mention", byRole("combobox", "Event")))
	h.recv.script(reply{http.StatusAccepted, `{"queued":true}`})
	require.EqualValues(t, http.StatusOK, alice.press("button", "Send test"))
	page := alice.text()
	require.Regexp(t, `The receiver accepted the test mention: it answered 202 Accepted after \d+`, page)
	require.Contains(t, page, `{"queued":true}`)
	require.Equal(t, []string{"mention"}, h.recv.received())

	// The log: one delivery refused for good (400), one accepted.
	h.recv.script(reply{http.StatusBadRequest, "unknown channel"})
	require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"note": map[string]any{"text": "first"}}))
	require.Equal(t, 1, h.drain())
	require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"note": map[string]any{"text": "second"}}))
	require.Equal(t, 1, h.drain())
	hookURL := h.srv.URL + prefix + "/hooks/" + w.ID
	require.EqualValues(t, http.StatusOK, alice.open(hookURL))
	rows, err := chromedp.Run(alice.ctx, chromedp.Nodes(chromedp.CSSAll("a.delivery")))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	alice.do(chromedp.SetValue("combobox State", "failed", byRole("combobox", "State")))
	require.EqualValues(t, http.StatusOK, alice.press("button", "Filter"))
	rows, err = chromedp.Run(alice.ctx, chromedp.Nodes(chromedp.CSSAll("a.delivery")))
	require.NoError(t, err)
	require.Len(t, rows, 1, "filtered to the failed one")
	_, err = chromedp.RunResponse(alice.ctx, chromedp.Click(chromedp.CSS("a.delivery")))
	require.NoError(t, err)
	page = alice.text()
	require.Contains(t, page, "400 Bad Request")
	require.Contains(t, page, "unknown channel")
	require.Contains(t, page, `"text": "first"`)

	// Redeliver: accepted this time.
	require.EqualValues(t, http.StatusOK, alice.press("button", "Redeliver"))
	require.Contains(t, alice.text(), "The delivery will be sent again in a moment.")
	require.Equal(t, 1, h.drain())
	_, err = chromedp.RunResponse(alice.ctx, chromedp.Reload())
	require.NoError(t, err)
	state, err := chromedp.Run(alice.ctx, chromedp.Text(chromedp.ID("delivery-state")))
	require.NoError(t, err)
	require.Equal(t, "delivered", state)
	attempts, err := chromedp.Run(alice.ctx, chromedp.Nodes(chromedp.CSSAll("table.attempts tbody tr")))
	require.NoError(t, err)
	require.Len(t, attempts, 2)

	// Edit.
	require.EqualValues(t, http.StatusOK, alice.press("link", "Back to Discord bridge"))
	require.EqualValues(t, http.StatusOK, alice.press("link", "Edit"))
	require.Empty(t, alice.value("Secret"), "the secret is not in the form")
	alice.fill("Name", "Discord #alerts")
	alice.check("mention")
	require.EqualValues(t, http.StatusOK, alice.press("button", "Save"))
	require.Contains(t, alice.text(), "Saved.")
	got, err := h.d.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, "Discord #alerts", got.Name)
	require.Equal(t, []webhook.Event{webhook.EventNote}, got.On)
	require.Equal(t, "hunter2", got.Secret, "kept")

	// A post without the anti-forgery token is refused.
	require.EqualValues(t, http.StatusOK, alice.press("link", "Edit"))
	alice.do(chromedp.SetAttributeValue(chromedp.CSS(`input[name="csrf"]`), "value", ""))
	alice.fill("Name", "forged")
	require.EqualValues(t, http.StatusForbidden, alice.press("button", "Save"))
	require.Contains(t, alice.text(), "This form has expired or was not sent from this site.")
	got, err = h.d.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, "Discord #alerts", got.Name)

	// So is one from another site's page, although the browser sends
	// Alice's cookies along (another port is the same site).
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, `<!doctype html><title>Win a prize</title><form method="post" action="%s/delete">
<input type="hidden" name="csrf" value="guess"><button type="submit">Claim</button></form>`, hookURL)
	}))
	t.Cleanup(evil.Close)
	require.EqualValues(t, http.StatusOK, alice.open(evil.URL))
	require.EqualValues(t, http.StatusForbidden, alice.press("button", "Claim"))
	_, err = h.d.GetHook(ctx, w.ID)
	require.NoError(t, err, "not deleted")

	// Another user cannot reach Alice's webhook: not found.
	bob := b.session()
	bob.signIn(h, "bob-token")
	for _, u := range []string{hookURL, hookURL + "/edit", hookURL + "/delete"} {
		require.EqualValues(t, http.StatusNotFound, bob.open(u), u)
		page := bob.text()
		require.Contains(t, page, "There is no such webhook.")
		require.NotContains(t, page, "Discord")
	}
	require.Contains(t, bob.text(), "My webhooks")

	// Delete, after the page that asks.
	require.EqualValues(t, http.StatusOK, alice.open(hookURL))
	require.EqualValues(t, http.StatusOK, alice.press("link", "Delete this webhook…"))
	require.Contains(t, alice.text(), "Delete the webhook Discord #alerts?")
	require.EqualValues(t, http.StatusOK, alice.press("button", "Delete"))
	page = alice.text()
	require.Contains(t, page, "The webhook was deleted.")
	require.Contains(t, page, "No webhooks yet.")
	_, err = h.d.GetHook(ctx, w.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestBrowserScreenshot renders a webhook with a day of traffic and
// checks that the page draws: a screenshot of some size, with the chart's
// green and red bars in it. With FEDIHOOK_SCREENSHOT=path it also writes
// the screenshot there (the README's is docs/webui.png).
func TestBrowserScreenshot(t *testing.T) {
	b := newBrowser(t)
	// A day of deliveries, made under a clock that walks through it.
	end := time.Now()
	clk := webhooktest.NewClock(end.Add(-23 * time.Hour))
	h := newHostWith(t, nil, clk)
	ctx := context.Background()
	w := h.hook("alice", webhook.EventNote, webhook.EventMention)
	w.Name = "Discord #timeline"
	require.NoError(t, h.d.UpdateHook(ctx, w))
	for hour := range 24 {
		if hour > 0 {
			clk.Advance(time.Hour)
		}
		n := 3 + (hour*7)%6
		for i := range n {
			fail := (hour >= 15 && hour <= 17 && i%2 == 0) || (hour == 8 && i == 0)
			if fail {
				h.recv.script(reply{http.StatusBadRequest, "unknown channel"})
			} else {
				h.recv.script(reply{http.StatusNoContent, ""})
			}
			require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventNote, map[string]any{"note": map[string]any{"text": i}}))
		}
		require.Equal(t, n, h.drain())
	}
	// The latest fails and waits for a retry: the webhook is failing.
	h.recv.script(reply{http.StatusBadGateway, "upstream down"})
	require.NoError(t, h.d.Emit(ctx, "alice", webhook.EventMention, map[string]any{"note": map[string]any{}}))
	require.Equal(t, 1, h.drain())

	alice := b.session()
	alice.signIn(h, "alice-token")
	require.EqualValues(t, http.StatusOK, alice.open(h.srv.URL+prefix+"/hooks/"+w.ID))
	bars, err := chromedp.Run(alice.ctx, chromedp.Nodes(chromedp.CSSAll("svg.chart g.bar")))
	require.NoError(t, err)
	require.Len(t, bars, 24)
	label, err := chromedp.Run(alice.ctx, chromedp.TextContent(chromedp.ID("chart-title")))
	require.NoError(t, err)
	require.Regexp(t, `\d+ delivered, 1 pending, \d+ failed`, label)

	shot, err := chromedp.Run(alice.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	require.GreaterOrEqual(t, img.Bounds().Dx(), 900)
	require.GreaterOrEqual(t, img.Bounds().Dy(), 900)
	require.Greater(t, countColor(img, 0x2f, 0x9e, 0x44), 2000, "the chart's green (delivered) bars are drawn")
	require.Greater(t, countColor(img, 0xe0, 0x31, 0x31), 200, "the chart's red (failed) bars are drawn")
	if p := os.Getenv("FEDIHOOK_SCREENSHOT"); p != "" {
		// The page down to the chart's legend: what the README shows.
		box, err := chromedp.Run(alice.ctx, chromedp.Dimensions(chromedp.CSS("figure.chartbox")))
		require.NoError(t, err)
		bottom := int(box.Margin[5]) + 24 // the quad's bottom-left y
		crop := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(0, 0, img.Bounds().Dx(), min(bottom, img.Bounds().Dy())))
		var buf bytes.Buffer
		require.NoError(t, (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, crop))
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
		t.Logf("wrote %s (%d bytes)", p, buf.Len())
	}
}

// countColor counts the pixels of img of exactly this colour.
func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}

func TestBrowserJapanese(t *testing.T) {
	b := newBrowser(t)
	h := newHost(t, nil)
	w := h.hook("alice", webhook.EventNote)
	alice := b.session()
	_, err := chromedp.Call(alice.ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "ja-JP,ja;q=0.9"}})
	require.NoError(t, err)
	alice.signIn(h, "alice-token")
	require.EqualValues(t, http.StatusOK, alice.open(h.srv.URL+prefix+"/hooks/"+w.ID+"/edit"))
	// The same form, its accessible names in Japanese.
	require.Empty(t, alice.value("シークレット"))
	alice.fill("名前", "通知")
	require.EqualValues(t, http.StatusOK, alice.press("button", "保存"))
	require.Contains(t, alice.text(), "保存しました。")
	got, err := h.d.GetHook(context.Background(), w.ID)
	require.NoError(t, err)
	require.Equal(t, "通知", got.Name)
	lang, err := chromedp.Run(alice.ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang"))
	require.NoError(t, err)
	require.Equal(t, "ja", lang.Value)
}
