package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
)

// Defaults and limits of listen.
const (
	// defaultListenAddr is where listen serves unless told otherwise.
	defaultListenAddr = "127.0.0.1:8080"
	// listenGrace is how long listen lets requests in flight finish once
	// it is told to stop.
	listenGrace = 5 * time.Second
	// listenTextRunes is how much of a note's text a request line shows.
	listenTextRunes = 60
	// listenFieldBytes is how much of an ID or name a request line shows.
	listenFieldBytes = 64
	// listenMaxKeys is how many of a body's keys a request line names.
	listenMaxKeys = 8
	// listenReasonBytes is how much of a rejection's reason is kept.
	listenReasonBytes = 256
)

const listenUsage = `Usage: fedihook listen [flags]

Serve HTTP on --addr as a webhook receiver for trying a sender out, and
check every request with package verify: the X-Misskey-Hook-Secret header
when --secret is given, the Standard Webhooks signature when
--signing-secret is (give it more than once while the sender rotates its
secret; a signature by any of them is accepted). With neither, every
request is accepted unauthenticated, and a warning goes to standard error.

listen prints "listening on http://ADDR" first (with --addr 127.0.0.1:0,
ADDR holds the port the system chose), then one line per request: the
time, the event type, hookId, eventId, the verdict and, for an accepted
request, a summary of the body (a note's author and text, a user's
handle, else the body's keys):

  12:00:01.234 note hookId=a1b2c3 eventId=0b6f2a5e-... ok: @alice: "Hello"
  12:00:02.345 note hookId=a1b2c3 eventId=0b6f2a5e-... rejected: bad signature (401)

A rejected request's type and IDs are what it claims, "-" when unknown.
listen answers 204 No Content to a good request, 401 Unauthorized to a
missing or wrong secret or signature, 400 Bad Request to a body that is
not a webhook payload, 405 to anything but POST, and 413 to a body over
1 MiB + 64 KiB. A sender does not retry a 4xx answer.

It runs until interrupted (Ctrl-C or SIGTERM) or, with --max-requests,
until it has answered that many requests (later ones get 503), then lets
requests in flight finish for up to 5s and exits.

It serves only on a loopback address (127.0.0.0/8, ::1, localhost) unless
--public is given: it is a tool for tests, which may accept anything.

A signing secret is "whsec_" and the standard base64 of 24 to 64 random
bytes; the sender and listen must be given the same one, such as
  whsec_$(head -c 32 /dev/urandom | base64)

Exit status: 0 stopped, 1 could not listen or serve, 2 bad usage.

Flags:
`

// listenOptions is listen's parsed command line.
type listenOptions struct {
	addr           string
	public         bool
	secret         string
	signingSecrets []string
	maxRequests    int64 // 0 for no limit
}

// runListen is the listen command.
func runListen(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseListen(args, stdout)
	if code, ok := parsed("listen", err, stderr); !ok {
		return code
	}
	return listen(ctx, opts, stdout, stderr)
}

// parseListen parses listen's flags and checks them. Every error it
// returns is a usage error, except flag.ErrHelp after the usage has been
// printed to stdout.
func parseListen(args []string, stdout io.Writer) (*listenOptions, error) {
	fs := newFlagSet("listen")
	o := &listenOptions{}
	fs.StringVar(&o.addr, "addr", defaultListenAddr, "serve on `HOST:PORT`; port 0 picks a free one")
	fs.BoolVar(&o.public, "public", false, "allow an --addr that is not loopback, such as 0.0.0.0:8080")
	fs.StringVar(&o.secret, "secret", "", "require X-Misskey-Hook-Secret to be `SECRET` (default not checked)")
	fs.Func("signing-secret", "require a Standard Webhooks signature by `WHSEC`, a whsec_... secret (repeatable: any of them)", func(s string) error {
		// Checked below: the flag package would quote a bad value, and a
		// secret is not quoted.
		o.signingSecrets = append(o.signingSecrets, s)
		return nil
	})
	fs.Int64Var(&o.maxRequests, "max-requests", 0, "exit after answering `N` requests (default no limit)")
	if err := parseFlags(fs, args, listenUsage, "flags go before any argument; listen takes none", stdout); err != nil {
		return nil, err
	}
	if err := checkListenAddr(o.addr, o.public); err != nil {
		return nil, fmt.Errorf("bad --addr: %w", err)
	}
	if err := webhook.ValidateSecret(o.secret); err != nil {
		return nil, fmt.Errorf("bad --secret: %w", err)
	}
	for i, s := range o.signingSecrets {
		if _, err := webhook.ParseSigningSecret(s); err != nil {
			if len(o.signingSecrets) > 1 {
				return nil, fmt.Errorf("bad --signing-secret (number %d): %w", i+1, err)
			}
			return nil, fmt.Errorf("bad --signing-secret: %w", err)
		}
	}
	if o.maxRequests < 0 {
		return nil, fmt.Errorf("bad --max-requests: must be >= 0 (0 for no limit), got %d", o.maxRequests)
	}
	return o, nil
}

// checkListenAddr checks a HOST:PORT to serve on: a numeric port, and a
// loopback host unless public.
func checkListenAddr(addr string, public bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if public {
		return nil
	}
	if host == "" {
		return errors.New("an empty host serves on every interface; add --public to allow it")
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (127.0.0.1, ::1 or localhost); add --public to allow it", host)
	}
	return nil
}

// listen serves until ctx ends or o.maxRequests requests have been
// answered, and returns the exit code.
func listen(ctx context.Context, o *listenOptions, stdout, stderr io.Writer) int {
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	mw, err := verify.New(&verify.Config{
		Secret:          o.secret,
		SigningSecrets:  o.signingSecrets,
		Unauthenticated: o.secret == "" && len(o.signingSecrets) == 0,
	})
	if err != nil {
		// parseListen checked every field already.
		fmt.Fprintf(stderr, "fedihook listen: %v\n", err)
		return exitUsage
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "fedihook listen: %v\n", err)
		return exitFail
	}
	h := &listenHandler{verify: mw, out: stdout, max: o.maxRequests, done: make(chan struct{}), now: time.Now}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       time.Minute,
		ErrorLog:          log.New(stderr, "fedihook listen: ", 0),
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	if o.secret == "" && len(o.signingSecrets) == 0 {
		fmt.Fprintln(stderr, "fedihook listen: warning: no --secret or --signing-secret: accepting every request unauthenticated")
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case <-h.done:
	case err := <-served:
		srv.Close()
		fmt.Fprintf(stderr, "fedihook listen: %v\n", err)
		return exitFail
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		fmt.Fprintf(stderr, "fedihook listen: cut off the requests still in flight after %v\n", listenGrace)
	}
	<-served // http.ErrServerClosed
	return exitOK
}

// A syncWriter serialises the writes to w, which the server's goroutines
// share.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// A listenHandler answers listen's requests: it passes each to the verify
// middleware, and prints a line saying what came and what it answered.
type listenHandler struct {
	verify *verify.Middleware
	out    io.Writer
	now    func() time.Time
	max    int64 // 0 for no limit

	seen     atomic.Int64  // requests taken, answered or not
	done     chan struct{} // closed once max requests are answered
	doneOnce sync.Once
}

func (h *listenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.seen.Add(1)
	if h.max > 0 && n > h.max {
		w.Header().Set("Connection", "close")
		http.Error(w, "listener is stopping", http.StatusServiceUnavailable)
		return
	}
	rec := &listenRecorder{ResponseWriter: w}
	body := &teeBody{ReadCloser: r.Body}
	r = r.WithContext(r.Context()) // a copy, not to change the server's request
	r.Body = body
	var p *webhook.Payload
	h.verify.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ = verify.PayloadFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP(rec, r)

	// Print before the response goes out, so that a sender that has its
	// answer finds the line printed.
	fmt.Fprintln(h.out, requestLine(h.now(), r.Header, body.buf.Bytes(), p, rec.status, string(rec.body)))
	if h.max > 0 && n == h.max {
		h.doneOnce.Do(func() { close(h.done) })
	}
}

// A listenRecorder notes the status and the start of the body of a
// response.
type listenRecorder struct {
	http.ResponseWriter
	status int
	body   []byte // up to listenReasonBytes
}

func (r *listenRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *listenRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := listenReasonBytes - len(r.body); room > 0 {
		r.body = append(r.body, p[:min(room, len(p))]...)
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (r *listenRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// A teeBody keeps a copy of what is read from a request body: the verify
// middleware reads no more than its limit.
type teeBody struct {
	io.ReadCloser
	buf bytes.Buffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.buf.Write(p[:n])
	return n, err
}

// requestLine describes one request: the time, the event type, hookId,
// eventId, and "ok: SUMMARY" for p, a payload the middleware accepted, or
// "rejected: REASON (STATUS)" when p is nil. A rejected request's type
// and IDs are taken, unverified, from its body or headers.
func requestLine(now time.Time, h http.Header, body []byte, p *webhook.Payload, status int, reason string) string {
	var claimed struct {
		Type    string `json:"type"`
		HookID  string `json:"hookId"`
		EventID string `json:"eventId"`
	}
	if p != nil {
		claimed.Type, claimed.HookID, claimed.EventID = string(p.Type), p.HookID, p.EventID
	} else {
		_ = json.Unmarshal(body, &claimed) // best effort: keeps what it could decode
		claimed.HookID = cmp.Or(claimed.HookID, h.Get("X-Misskey-Hook-Id"))
		claimed.EventID = cmp.Or(claimed.EventID, h.Get(webhook.HeaderWebhookID))
	}
	line := fmt.Sprintf("%s %s hookId=%s eventId=%s ", now.Format("15:04:05.000"),
		field(claimed.Type), field(claimed.HookID), field(claimed.EventID))
	if p != nil {
		return line + "ok: " + bodySummary(p)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = http.StatusText(status)
	}
	return line + fmt.Sprintf("rejected: %s (%d)", printable(reason), status)
}

// field returns s for a request line: "-" when empty, cut to
// listenFieldBytes, and quoted if it holds spaces, quotes or control
// characters.
func field(s string) string {
	if s == "" {
		return "-"
	}
	s = cut(s, listenFieldBytes)
	if strings.IndexFunc(s, func(r rune) bool {
		return r == '"' || r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsGraphic(r)
	}) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// printable returns s, quoted if it holds control characters or invalid
// bytes, so that one request yields one line.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// cut shortens s to at most n bytes without splitting a character, and
// marks the cut with "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// bodySummary describes an accepted payload's body in a few words: the
// author and text of a note, the handle of a user, a reaction, else the
// body's top-level keys.
func bodySummary(p *webhook.Payload) string {
	switch p.Type {
	case webhook.EventNote, webhook.EventReply, webhook.EventRenote, webhook.EventMention:
		var b misskey.NoteBody
		if p.DecodeBody(&b) == nil && b.Note != nil {
			return noteSummary(b.Note)
		}
	case webhook.EventFollow, webhook.EventFollowed, webhook.EventUnfollow:
		var b misskey.UserBody
		if p.DecodeBody(&b) == nil && b.User != nil && b.User.Lite().Username != "" {
			return "user " + handle(b.User.Lite())
		}
	case webhook.EventUserCreated:
		var u misskey.User
		if p.DecodeBody(&u) == nil && u.Username != "" {
			return "user " + handle(&u)
		}
	case webhook.EventReaction:
		var b misskey.ReactionBody
		if p.DecodeBody(&b) == nil && b.Note != nil && b.Reaction.User.Username != "" {
			return fmt.Sprintf("%s reacted %s to note %s", handle(&b.Reaction.User), field(b.Reaction.Reaction), field(b.Note.ID))
		}
	}
	return keysSummary(p.Body)
}

// noteSummary returns a note's author and text, cut to listenTextRunes.
func noteSummary(n *misskey.Note) string {
	var who string
	if n.User.Username != "" {
		who = handle(&n.User)
	}
	var what string
	switch {
	case n.Text != nil:
		text := *n.Text
		if utf8.RuneCountInString(text) > listenTextRunes {
			text = string([]rune(text)[:listenTextRunes]) + "…"
		}
		what = strconv.Quote(text)
	case n.RenoteID != "":
		what = "renote of note " + field(n.RenoteID)
	default:
		what = "no text"
	}
	if who == "" {
		return what
	}
	return who + ": " + what
}

// handle returns "@username", or "@username@host" for a remote user.
func handle(u *misskey.User) string {
	s := "@" + u.Username
	if u.Host != nil && *u.Host != "" {
		s += "@" + *u.Host
	}
	return field(s)
}

// keysSummary names the top-level keys of the JSON object body, in order.
func keysSummary(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "body is not an object"
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if len(keys) == listenMaxKeys {
			keys = append(keys, "…")
			break
		}
		keys = append(keys, field(tok.(string)))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	if len(keys) == 0 {
		return "empty body"
	}
	return "body keys " + strings.Join(keys, ", ")
}
