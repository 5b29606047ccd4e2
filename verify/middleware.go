package verify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/fedihook/webhook"
)

// DefaultMaxBodyBytes is the largest request body a [Middleware] reads
// by default: the largest event body a Dispatcher emits by default
// ([webhook.DefaultMaxBodyBytes], 1 MiB) and 64 KiB for the envelope
// around it.
const DefaultMaxBodyBytes = webhook.DefaultMaxBodyBytes + 64<<10

// Config configures a [Middleware]. At least one of Secret and
// SigningSecrets must be set, unless Unauthenticated is; every other
// field's zero value means its documented default.
type Config struct {
	// Secret, if not empty, must equal the X-Misskey-Hook-Secret header
	// of every request (see [CheckSecret]). Defaults to "": the header is
	// not checked.
	Secret string
	// SigningSecrets, if not empty, are the candidate "whsec_" signing
	// secrets: every request must carry a valid Standard Webhooks
	// signature by one of them (see [VerifySignature]). While the sender
	// rotates its secret, list the new one and the old one. Defaults to
	// none: signatures are not checked.
	SigningSecrets []string
	// Tolerance is how far webhook-timestamp may be from the current
	// time, before or after it; [NoTolerance] disables the check.
	// Defaults to DefaultTolerance (5 minutes).
	Tolerance time.Duration
	// MaxBodyBytes is the largest request body read; a larger one is
	// refused with 413 Request Entity Too Large. Defaults to
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Unauthenticated, when neither Secret nor SigningSecrets is set,
	// makes the Middleware accept requests without checking where they
	// come from (it still checks the method, size and payload): for local
	// experiments only. Defaults to false, under which such a Config is
	// an error.
	Unauthenticated bool
	// Now tells the time for the timestamp check. Defaults to time.Now.
	Now func() time.Time
	// Logger receives a line for each rejected request, at Info level,
	// with the status and reason. Defaults to discarding them.
	Logger *slog.Logger
}

// A Middleware checks requests from a Misskey-compatible webhook sender
// before a handler sees them: see [Middleware.Wrap]. Make one with [New];
// it is safe for concurrent use.
type Middleware struct {
	secret    string
	keys      [][]byte
	tolerance time.Duration
	maxBody   int64
	now       func() time.Time
	log       *slog.Logger
}

// New returns a Middleware for cfg, which may be nil only to get an
// error. A bad field yields an error that names it and matches
// [webhook.ErrInvalid]; it never quotes a secret.
func New(cfg *Config) (*Middleware, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	m := &Middleware{secret: cfg.Secret, maxBody: cfg.MaxBodyBytes, now: cfg.Now, log: cfg.Logger}
	if err := checkConfigSecret(cfg.Secret); err != nil {
		return nil, err
	}
	keys, err := parseSigningSecrets("Config.SigningSecrets", cfg.SigningSecrets)
	if err != nil {
		return nil, err
	}
	m.keys = keys
	if m.tolerance, err = checkTolerance("Config.Tolerance", cfg.Tolerance); err != nil {
		return nil, err
	}
	switch {
	case m.maxBody < 0:
		return nil, invalidf("Config.MaxBodyBytes must be >= 0 (0 for DefaultMaxBodyBytes), got %d", m.maxBody)
	case m.maxBody == 0:
		m.maxBody = DefaultMaxBodyBytes
	}
	if m.secret == "" && len(m.keys) == 0 && !cfg.Unauthenticated {
		return nil, invalidf("Config needs Secret or SigningSecrets, or Unauthenticated set to check neither")
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// checkConfigSecret refuses a Secret that no request could carry: HTTP
// drops a header value's leading and trailing blanks and forbids control
// characters.
func checkConfigSecret(s string) error {
	if s == "" {
		return nil
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return invalidf("Config.Secret must not start or end with a space or tab (HTTP drops them from headers)")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return invalidf("Config.Secret has control byte 0x%02x at %d, which no header can carry", c, i)
		}
	}
	return nil
}

// Check runs the configured checks on a request's header and raw body:
// the secret header when Config.Secret is set, then the signature when
// Config.SigningSecrets is, then [ParsePayload]. It returns the payload,
// or the first error (see the sentinel errors). Servers that are not
// built on net/http handlers call it directly.
func (m *Middleware) Check(h http.Header, body []byte) (*webhook.Payload, error) {
	if m.secret != "" {
		if err := CheckSecret(h, m.secret); err != nil {
			return nil, err
		}
	}
	if len(m.keys) > 0 {
		if err := verifySignature(h, body, m.now(), m.tolerance, m.keys); err != nil {
			return nil, err
		}
	}
	return ParsePayload(body)
}

// Wrap returns a handler that checks each request and passes the good
// ones on to next, answering the others itself in plain text with a
// reason that never quotes a secret:
//
//   - 405 Method Not Allowed for anything but POST;
//   - 413 Request Entity Too Large for a body over Config.MaxBodyBytes;
//   - 401 Unauthorized for a missing or wrong secret, a missing, bad or
//     stale signature ("bad secret", "bad signature", "stale timestamp:
//     ...", "missing header webhook-id", ...);
//   - 400 Bad Request for a body that is not a webhook payload
//     ("malformed payload: missing \"hookId\"", ...).
//
// Senders do not retry a 4xx answer. next gets the request with the
// payload in its context (see [PayloadFrom]) and the raw body, already
// read, in r.Body.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			m.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if r.ContentLength > m.maxBody {
			m.reject(w, r, http.StatusRequestEntityTooLarge, "payload too large")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.maxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				m.reject(w, r, http.StatusRequestEntityTooLarge, "payload too large")
				return
			}
			m.reject(w, r, http.StatusBadRequest, "cannot read body")
			return
		}
		p, err := m.Check(r.Header, body)
		if err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, ErrMalformedPayload) {
				status = http.StatusBadRequest
			}
			m.reject(w, r, status, reason(err))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), payloadKey{}, p))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	m.log.LogAttrs(r.Context(), slog.LevelInfo, "webhook: verify: rejected request",
		slog.Int("status", status), slog.String("reason", reason),
		slog.String("remote", r.RemoteAddr), slog.String("path", r.URL.Path))
	http.Error(w, reason, status)
}

type payloadKey struct{}

// PayloadFrom returns the payload a [Middleware] stored in the context of
// the request it passed on, and whether there was one.
func PayloadFrom(ctx context.Context) (*webhook.Payload, bool) {
	p, ok := ctx.Value(payloadKey{}).(*webhook.Payload)
	return p, ok
}
