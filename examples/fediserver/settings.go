package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/fedihook/webhook/webui"
)

// settingsPrefix is where the webhook pages (webui) are mounted.
const settingsPrefix = "/settings/webhooks"

// sessionCookie names the cookie of a browser signed in at /login.
const sessionCookie = "fediserver_session"

// sessions are the browsers signed in at /login with a token of -user or
// -admin. They live in memory: a restart signs everyone out.
type sessions struct {
	signIns *signIns
	mu      sync.Mutex
	byID    map[string]signIn
}

func newSessions(s *signIns) *sessions { return &sessions{signIns: s, byID: map[string]signIn{}} }

// user is the pages' webui.UserFunc: the session's user, an operator when
// it signed in with an -admin token.
func (s *sessions) user(r *http.Request) (webui.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return webui.User{}, false
	}
	s.mu.Lock()
	u, ok := s.byID[c.Value]
	s.mu.Unlock()
	return webui.User{ID: u.UserID, Operator: u.Admin}, ok
}

// start signs the browser in as u, in a new session.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, u signIn) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	id := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	s.byID[id] = u
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// end signs the browser out.
func (s *sessions) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.byID, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · fediserver</title></head>
<body>
<h1>Sign in</h1>
<p>Use a token given to fediserver with <code>-user NAME:TOKEN</code> or <code>-admin NAME:TOKEN</code>.</p>
{{with .Error}}<p role="alert">{{.}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<p><label for="token">Token</label> <input id="token" name="token" type="password" required autocomplete="current-password"></p>
<p><button type="submit">Sign in</button></p>
</form>
</body></html>
`))

// newSettings returns the webhook pages, whose users sign in at /login.
func (s *server) newSettings() (*webui.Handler, error) {
	return webui.New(s.d, s.sessions.user, &webui.Config{Prefix: settingsPrefix, LoginURL: "/login",
		UserIDs: s.userIDs})
}

// settingsRoutes mounts the webhook pages, /login and /logout. The forms
// that sign in and out refuse requests from other sites, so that nobody
// signs a visitor in as someone else.
func (s *server) settingsRoutes(mux *http.ServeMux) {
	mux.Handle(settingsPrefix+"/", s.settings)
	cop := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		renderLogin(w, http.StatusOK, r.URL.Query().Get("next"), "")
	})
	mux.Handle("POST /login", cop.Handler(http.HandlerFunc(s.login)))
	mux.Handle("POST /logout", cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.sessions.end(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})))
}

func renderLogin(w http.ResponseWriter, status int, next, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Next, Error string }{next, msg})
}

// login signs the browser in with a token, then goes on to the webhook
// page asked for (never elsewhere).
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	next := r.PostFormValue("next")
	u, ok := s.sessions.signIns.Lookup(r.PostFormValue("token"))
	if !ok {
		renderLogin(w, http.StatusUnauthorized, next, "That token signs nobody in. Use one given with -user or -admin.")
		return
	}
	s.sessions.start(w, r, u)
	if !strings.HasPrefix(next, settingsPrefix+"/") {
		next = settingsPrefix + "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// userIDs lists every user, for the operators' list of failing webhooks.
func (s *server) userIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
