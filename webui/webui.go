package webui

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/internal/ratewindow"
)

// A User is who a request comes from, as the host's sign-in says.
type User struct {
	// ID is the user's ID: the UserID of the webhooks they manage. It may
	// be empty only for an operator, who then manages system webhooks
	// alone.
	ID string
	// Operator lets the user manage the system webhooks and see the
	// queue's health.
	Operator bool
}

// A UserFunc tells who sent a request, from the host's session (a cookie,
// a header); ok is false when nobody is signed in. It is called once per
// request, from the request's goroutine.
type UserFunc func(r *http.Request) (u User, ok bool)

// Defaults of [Config].
const (
	// DefaultRotationOverlap is how long a rotated-out signing secret
	// still signs requests beside the new one.
	DefaultRotationOverlap = 24 * time.Hour
	// DefaultChartScan is the most deliveries read to draw a webhook's
	// chart of the last 24 hours.
	DefaultChartScan = 5000
	// DefaultCSRFCookie is the name of the cookie that holds the
	// browser's anti-forgery nonce.
	DefaultCSRFCookie = "fedihook_csrf"
	// RecoverLimit is how many failed deliveries one press of "Recover
	// failed" sends again.
	RecoverLimit = 100
	// MinCSRFKeyBytes is the shortest Config.CSRFKey.
	MinCSRFKeyBytes = 32
	// DefaultTestLimit is how many test sends a user may make per
	// DefaultTestWindow: Misskey's rate limit of i/webhooks/test.
	DefaultTestLimit = 60
	// DefaultTestWindow is the window of DefaultTestLimit.
	DefaultTestWindow = 15 * time.Minute
)

// Config configures a [Handler]. Its zero value (or nil) means the
// documented defaults.
type Config struct {
	// Prefix is the path the Handler is mounted at, such as
	// "/settings/webhooks": it starts with "/" and does not end with one.
	// The Handler strips it itself, so mount it with
	// mux.Handle(Prefix+"/", h), without http.StripPrefix. Defaults to ""
	// (the site's root).
	Prefix string
	// LoginURL is where a request from nobody signed in is sent, with the
	// page asked for in its "next" query parameter. Defaults to "": such
	// a request gets a 401 page that says to sign in.
	LoginURL string
	// CSRFKey keys the anti-forgery tokens of the forms; at least
	// MinCSRFKeyBytes bytes. Set the same key on every instance behind a
	// load balancer and across restarts. Defaults to a random key, so
	// forms rendered before a restart are refused after it (the page says
	// to reload).
	CSRFKey []byte
	// SecureCookie marks the anti-forgery cookie Secure even on requests
	// that did not come over TLS (behind a TLS-terminating proxy).
	// Requests over TLS always get a Secure cookie. Defaults to false.
	SecureCookie bool
	// RotationOverlap is how long a signing secret replaced by "Rotate"
	// still signs requests beside the new one, so that receivers can be
	// updated without a gap. Defaults to DefaultRotationOverlap.
	RotationOverlap time.Duration
	// ChartScan is the most deliveries read to draw a webhook's chart.
	// Defaults to DefaultChartScan.
	ChartScan int
	// UserIDs, if set, lists every user, so that the operators' queue
	// health page can list the failing user webhooks beside the system
	// ones (it calls ListHooks once per user). Defaults to nil: only
	// failing system webhooks are listed.
	UserIDs func(ctx context.Context) ([]string, error)
	// TestLimit is how many test sends a user may make per TestWindow, so
	// that the page cannot be used to make the server POST to a URL as
	// fast as a form can be submitted; more are refused with 429 Too Many
	// Requests. Defaults to DefaultTestLimit; -1 means no limit.
	TestLimit int
	// TestWindow is the window of TestLimit, starting at a user's first
	// test send. Defaults to DefaultTestWindow.
	TestWindow time.Duration
	// Location is the time zone times are shown in. Defaults to UTC.
	Location *time.Location
	// Clock tells the time. Defaults to [webhook.SystemClock].
	Clock webhook.Clock
	// Logger receives the errors the pages could not show in full.
	// Defaults to slog.Default().
	Logger *slog.Logger
}

// A Handler serves the webhook pages: a signed-in user's webhooks, and for
// operators the system webhooks and the queue's health. Create it with
// [New]. It is safe for concurrent use and starts no goroutine.
type Handler struct {
	d      *webhook.Dispatcher
	user   UserFunc
	cfg    Config
	log    *slog.Logger
	clock  webhook.Clock
	csrf   csrf
	cop    *http.CrossOriginProtection
	pages  map[string]*template.Template
	mux    *http.ServeMux
	strip  http.Handler
	prefix string
	tests  *ratewindow.Limiter
}

var _ http.Handler = (*Handler)(nil)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/style.css
var styleCSS []byte

// New returns a Handler for the webhooks of d, whose users user tells.
func New(d *webhook.Dispatcher, user UserFunc, cfg *Config) (*Handler, error) {
	if d == nil {
		return nil, errors.New("webui: New needs a Dispatcher")
	}
	if user == nil {
		return nil, errors.New("webui: New needs a UserFunc")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Prefix != "" && (!strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/")) {
		return nil, fmt.Errorf("webui: Config.Prefix must start with / and not end with one, got %q", c.Prefix)
	}
	if strings.ContainsAny(c.Prefix, "?#%{} \t\r\n") {
		return nil, fmt.Errorf("webui: Config.Prefix must be a plain path, got %q", c.Prefix)
	}
	if c.LoginURL != "" {
		if _, err := url.Parse(c.LoginURL); err != nil {
			return nil, fmt.Errorf("webui: Config.LoginURL: %w", err)
		}
	}
	if c.CSRFKey == nil {
		c.CSRFKey = make([]byte, MinCSRFKeyBytes)
		_, _ = rand.Read(c.CSRFKey) // crypto/rand.Read never fails
	} else if len(c.CSRFKey) < MinCSRFKeyBytes {
		return nil, fmt.Errorf("webui: Config.CSRFKey must be at least %d bytes, got %d", MinCSRFKeyBytes, len(c.CSRFKey))
	}
	switch {
	case c.RotationOverlap == 0:
		c.RotationOverlap = DefaultRotationOverlap
	case c.RotationOverlap < 0:
		return nil, fmt.Errorf("webui: Config.RotationOverlap must be > 0, got %v", c.RotationOverlap)
	}
	switch {
	case c.ChartScan == 0:
		c.ChartScan = DefaultChartScan
	case c.ChartScan < 0:
		return nil, fmt.Errorf("webui: Config.ChartScan must be >= 1, got %d", c.ChartScan)
	}
	switch {
	case c.TestLimit == 0:
		c.TestLimit = DefaultTestLimit
	case c.TestLimit < -1:
		return nil, fmt.Errorf("webui: Config.TestLimit must be >= 1, or -1 for no limit, got %d", c.TestLimit)
	}
	switch {
	case c.TestWindow == 0:
		c.TestWindow = DefaultTestWindow
	case c.TestWindow < 0:
		return nil, fmt.Errorf("webui: Config.TestWindow must be > 0, got %v", c.TestWindow)
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	h := &Handler{d: d, user: user, cfg: c, log: c.Logger, clock: c.Clock, prefix: c.Prefix}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.clock == nil {
		h.clock = webhook.SystemClock{}
	}
	h.tests = ratewindow.New(c.TestLimit, c.TestWindow, h.clock.Now)
	cookiePath := c.Prefix + "/"
	h.csrf = csrf{key: append([]byte(nil), c.CSRFKey...), cookie: DefaultCSRFCookie, path: cookiePath, secure: c.SecureCookie}
	h.cop = http.NewCrossOriginProtection()
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	h.routes()
	h.strip = http.StripPrefix(c.Prefix, h.mux)
	return h, nil
}

// ServeHTTP serves the pages under Config.Prefix; any other path is not
// found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	switch {
	case !ok || (rest != "" && rest[0] != '/'):
		h.fail(w, r, http.StatusNotFound, "notFound")
	case rest == "":
		http.Redirect(w, r, h.prefix+"/", http.StatusSeeOther)
	default:
		h.strip.ServeHTTP(w, r)
	}
}

// contentSecurityPolicy allows the page its own stylesheet and nothing
// else: no script at all, no frames, forms posting only to this origin.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /assets/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(styleCSS)
	})
	h.handle(m, "GET /{$}", h.listPage)
	h.handle(m, "GET /new", h.newForm)
	h.handle(m, "POST /new", h.create)
	h.handle(m, "GET /system", h.systemPage)
	h.handle(m, "GET /system/new", h.newForm)
	h.handle(m, "POST /system/new", h.create)
	h.handle(m, "GET /queue", h.queuePage)
	h.handle(m, "GET /hooks/{id}", h.hookPage)
	h.handle(m, "GET /hooks/{id}/edit", h.editPage)
	h.handle(m, "POST /hooks/{id}/edit", h.save)
	h.handle(m, "GET /hooks/{id}/delete", h.deletePage)
	h.handle(m, "POST /hooks/{id}/delete", h.deleteHook)
	h.handle(m, "POST /hooks/{id}/test", h.test)
	h.handle(m, "POST /hooks/{id}/reveal", h.reveal)
	h.handle(m, "POST /hooks/{id}/rotate", h.rotate)
	h.handle(m, "POST /hooks/{id}/recover", h.recoverFailed)
	h.handle(m, "GET /hooks/{id}/deliveries/{delivery}", h.deliveryPage)
	h.handle(m, "POST /hooks/{id}/deliveries/{delivery}/redeliver", h.redeliver)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "notFound")
	})
	h.mux = m
}

// A call is one request to a page, from a signed-in user.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	user User
	tr   *catalog
	csrf string // the token the page's forms carry
}

// handle registers a page that needs a signed-in user; a POST must also
// carry the anti-forgery token and come from this origin.
func (h *Handler) handle(m *http.ServeMux, pattern string, fn func(*call)) {
	m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		u, ok := h.user(r)
		if !ok || (u.ID == "" && !u.Operator) {
			h.signIn(w, r)
			return
		}
		c := &call{w: w, r: r, user: u, tr: negotiate(r.Header.Get("Accept-Language"))}
		nonce := h.csrf.nonce(w, r)
		c.csrf = h.csrf.token(nonce, u.ID)
		if r.Method == http.MethodPost {
			if err := h.cop.Check(r); err != nil {
				h.forged(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, http.StatusBadRequest, "badForm")
				return
			}
			if !h.csrf.valid(r, u.ID) {
				h.forged(w, r)
				return
			}
		}
		fn(c)
	})
}

// signIn answers a request from nobody signed in: to Config.LoginURL, or
// a page that says to sign in.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if h.cfg.LoginURL == "" {
		h.fail(w, r, http.StatusUnauthorized, "signIn")
		return
	}
	// r's path is relative to the prefix here; the one asked for was
	// under it. After a POST, the form's page is not known: the list.
	next := h.prefix + r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		next = h.prefix + "/"
	}
	target := h.cfg.LoginURL
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+"next="+url.QueryEscape(next), http.StatusSeeOther)
}

// forged answers a state-changing request without a valid anti-forgery
// token or from another origin.
func (h *Handler) forged(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusForbidden, "forged")
}

// fail renders an error page whose message is the catalog's sentence key.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, key string) {
	tr := negotiate(r.Header.Get("Accept-Language"))
	w.Header().Set("Cache-Control", "no-store")
	p := &page{h: h, tr: tr, Title: tr.T("errorTitle"), Error: tr.T(key)}
	h.render(w, status, "error", p)
}

// internal logs err and renders the page for an error the user cannot
// fix.
func (h *Handler) internal(c *call, what string, err error) {
	h.log.Error("webui: "+what, "err", err, "path", c.r.URL.Path)
	h.fail(c.w, c.r, http.StatusInternalServerError, "internal")
}

// redirect sends the browser to a page of the Handler (path relative to
// Prefix) after a form succeeded, with a notice to show there.
func (h *Handler) redirect(c *call, path, done string, n int) {
	q := url.Values{}
	if done != "" {
		q.Set("done", done)
	}
	if n > 0 {
		q.Set("n", fmt.Sprint(n))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(c.w, c.r, h.prefix+path, http.StatusSeeOther)
}
