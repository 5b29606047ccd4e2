package webui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
)

// page is what every template gets: the request's language and user, the
// forms' token, the notices, and D, the page's own data.
type page struct {
	h     *Handler
	tr    *catalog
	User  User
	CSRF  string
	Title string
	// Notice confirms what a form did; Error says what went wrong, in a
	// sentence; Errors lists what is wrong in a form.
	Notice string
	Error  string
	Errors []string
	D      any
}

func (h *Handler) newPage(c *call, title string, d any) *page {
	return &page{h: h, tr: c.tr, User: c.user, CSRF: c.csrf, Title: title, D: d}
}

// Lang is the page's language tag.
func (p *page) Lang() string { return p.tr.lang }

// T returns the sentence key in the page's language, formatted with args.
func (p *page) T(key string, args ...any) string { return p.tr.T(key, args...) }

// URL returns the address of a page of the Handler, p relative to Prefix.
func (p *page) URL(rel string) string { return p.h.prefix + rel }

// HookURL returns the address of a webhook's page, or of one below it.
func (p *page) HookURL(id string, sub ...string) string {
	u := p.h.prefix + "/hooks/" + url.PathEscape(id)
	for _, s := range sub {
		u += "/" + s
	}
	return u
}

// DeliveryURL returns the address of a delivery's page.
func (p *page) DeliveryURL(hookID string, id uuid.UUID, sub ...string) string {
	return p.HookURL(hookID, append([]string{"deliveries", id.String()}, sub...)...)
}

// Time formats a time (or *time.Time) in Config.Location; "—" for none.
func (p *page) Time(v any) string {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case *time.Time:
		if v != nil {
			t = *v
		}
	}
	return p.h.formatTime(t)
}

// formatTime formats t in Config.Location; "—" for the zero time.
func (h *Handler) formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(h.cfg.Location).Format("2006-01-02 15:04:05 MST")
}

// ISOTime formats a time for a <time datetime> attribute.
func (p *page) ISOTime(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case *time.Time:
		if v != nil {
			return v.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

// Duration formats an attempt's duration.
func (p *page) Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Status describes an HTTP status: "204 No Content"; 0 and Misskey's 1
// (no HTTP status) are "no answer".
func (p *page) Status(v any) string {
	var s int
	switch v := v.(type) {
	case int:
		s = v
	case *int:
		if v == nil {
			return "—"
		}
		s = *v
	}
	if s <= 1 {
		return p.T("noAnswer")
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", s, http.StatusText(s)))
}

// StateName is a delivery state in the page's language.
func (p *page) StateName(s webhook.State) string { return p.T("state_" + s.String()) }

// Events joins a webhook's events.
func (p *page) Events(on []webhook.Event) string {
	s := make([]string, len(on))
	for i, e := range on {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// Text shows recorded bytes (a response, a body) as text, with invalid
// UTF-8 replaced.
func (p *page) Text(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// Host is the host of a webhook's URL, for lists shown to operators.
func (p *page) Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// parseTemplates parses each page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	layout, err := template.ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("webui: parsing the layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, f, "templates/_*.html")
		}
		if err != nil {
			return nil, fmt.Errorf("webui: parsing %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page with the given status. It renders into a buffer
// first, so that a template error becomes a 500, not half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	t := h.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("webui: rendering a page", "page", name, "err", err)
		http.Error(w, p.tr.T("internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (h *Handler) show(c *call, name string, p *page) {
	h.render(c.w, http.StatusOK, name, p)
}
