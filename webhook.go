package webhook

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Limits on a webhook record, from Misskey's i/webhooks/create and
// admin/system-webhook/create endpoints.
const (
	MaxNameLength       = 100  // characters in a user webhook's Name
	MaxSystemNameLength = 255  // characters in a system webhook's Name (admin/system-webhook/create)
	MaxURLLength        = 1024 // bytes in Webhook.URL
	MaxSecretLength     = 1024 // bytes in Webhook.Secret
	MaxIDLength         = 128  // bytes in Webhook.ID and Webhook.UserID
)

// A Webhook is a subscription: deliveries of the events in On go to URL
// with Secret in the X-Misskey-Hook-Secret header. A webhook with an empty
// UserID is a system webhook, configured by moderators, and subscribes to
// system events; any other is a user webhook and subscribes to user events.
//
// Its JSON form is the one of Misskey's i/webhooks endpoints. It holds the
// secret in plain text, as Misskey's does: do not log it. Its String and
// LogValue methods leave the secret out.
type Webhook struct {
	ID     string  `json:"id"`
	UserID string  `json:"userId,omitempty"`
	Name   string  `json:"name"`
	On     []Event `json:"on"`
	URL    string  `json:"url"`
	Secret string  `json:"secret"`
	Active bool    `json:"active"`
	// SigningSecret, when set, makes every request also carry a Standard
	// Webhooks signature (webhook-id, webhook-timestamp and
	// webhook-signature headers) by this "whsec_..." secret; see
	// [NewSigningSecret]. Empty means Config.SigningSecret, if any.
	SigningSecret string `json:"signingSecret,omitempty"`
	// PreviousSigningSecrets are secrets being rotated out: until each
	// expires, requests carry a signature by it too.
	PreviousSigningSecrets []PreviousSecret `json:"previousSigningSecrets,omitempty"`
	// Ordered makes the webhook receive its deliveries one at a time, in
	// the order they were enqueued (emit order), across retries: a
	// delivery waiting for a retry holds back the later ones of this
	// webhook only. It is set when the webhook is created and kept by
	// updates. An extension of Misskey's record.
	Ordered bool `json:"ordered,omitempty"`
	// LatestSentAt is the time of the latest delivery attempt, nil until
	// the first.
	LatestSentAt *time.Time `json:"latestSentAt"`
	// LatestStatus is the HTTP status of the latest attempt, 1 when it got
	// no HTTP status, nil until the first attempt.
	LatestStatus *int `json:"latestStatus"`
	// FailingSince is when the first failed attempt since the latest
	// success was made, nil while the webhook is healthy. The Dispatcher
	// disables a webhook failing for longer than Config.DisableAfter.
	FailingSince *time.Time `json:"failingSince,omitempty"`
}

// IsSystem reports whether w is a system webhook (it has no UserID).
func (w *Webhook) IsSystem() bool { return w.UserID == "" }

// Subscribes reports whether w's On list holds e.
func (w *Webhook) Subscribes(e Event) bool {
	for _, o := range w.On {
		if o == e {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of w.
func (w *Webhook) Clone() *Webhook {
	c := *w
	c.On = append([]Event(nil), w.On...)
	c.PreviousSigningSecrets = append([]PreviousSecret(nil), w.PreviousSigningSecrets...)
	if w.LatestSentAt != nil {
		t := *w.LatestSentAt
		c.LatestSentAt = &t
	}
	if w.LatestStatus != nil {
		s := *w.LatestStatus
		c.LatestStatus = &s
	}
	if w.FailingSince != nil {
		t := *w.FailingSince
		c.FailingSince = &t
	}
	return &c
}

// String describes w without its secrets: the URL shows only its scheme
// and host, as HTTPTransport's errors do (receivers such as Discord keep
// a token in the path).
func (w *Webhook) String() string {
	return fmt.Sprintf("Webhook{ID: %q, UserID: %q, Name: %q, On: %v, URL: %q, Secret: REDACTED, Active: %t}",
		w.ID, w.UserID, w.Name, w.On, urlOrigin(w.URL), w.Active)
}

// LogValue implements [slog.LogValuer]; the secret is printed as REDACTED,
// and the URL as its scheme and host only, as String does.
func (w *Webhook) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", w.ID),
		slog.String("userId", w.UserID),
		slog.String("name", w.Name),
		slog.String("url", urlOrigin(w.URL)),
		slog.String("secret", "REDACTED"),
		slog.Bool("signed", w.SigningSecret != ""),
		slog.Bool("active", w.Active),
	)
}

// urlOrigin returns raw's scheme://host, without the path, query and
// fragment, which may hold a receiver's token; "?" if it does not parse.
func urlOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}

// Validate checks w as Misskey's endpoints do, and also that every value
// that reaches an HTTP header is free of control characters. The error
// names the field and matches [ErrInvalid]; it never quotes the secret.
// An empty ID is accepted: [Dispatcher.CreateHook] assigns one.
func (w *Webhook) Validate() error {
	if err := validateID("Webhook.ID", w.ID, true); err != nil {
		return err
	}
	if err := validateID("Webhook.UserID", w.UserID, true); err != nil {
		return err
	}
	maxName := MaxNameLength
	if w.IsSystem() {
		maxName = MaxSystemNameLength
	}
	if n := utf8.RuneCountInString(w.Name); n < 1 || n > maxName || !utf8.ValidString(w.Name) {
		return invalidf("Webhook.Name must be 1-%d characters of valid UTF-8, got %d", maxName, n)
	}
	if err := ValidateURL(w.URL); err != nil {
		return err
	}
	if err := ValidateSecret(w.Secret); err != nil {
		return err
	}
	if err := validateOn(w.On, w.IsSystem()); err != nil {
		return err
	}
	return validateSigning(w)
}

func validateOn(on []Event, system bool) error {
	for i, e := range on {
		switch {
		case !e.Valid():
			return unknownEvent(fmt.Sprintf("Webhook.On[%d]: ", i), e)
		case system && !e.IsSystem():
			return invalidf("Webhook.On[%d]: %q is a user event; a system webhook (no UserID) takes system events only", i, e)
		case !system && !e.IsUser():
			return invalidf("Webhook.On[%d]: %q is a system event; a user webhook takes user events only", i, e)
		}
		for _, prev := range on[:i] {
			if prev == e {
				return invalidf("Webhook.On[%d]: %q is listed twice", i, e)
			}
		}
	}
	return nil
}

func validateID(field, id string, emptyOK bool) error {
	if id == "" {
		if emptyOK {
			return nil
		}
		return invalidf("%s must not be empty", field)
	}
	if len(id) > MaxIDLength {
		return invalidf("%s must be at most %d bytes, got %d", field, MaxIDLength, len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return invalidf("%s must be printable ASCII without spaces, has byte 0x%02x at %d", field, c, i)
		}
	}
	return nil
}

// ValidateURL checks a webhook URL: 1 to [MaxURLLength] bytes, absolute
// http or https with a host, no user info (it would travel in a header),
// no control characters. The error matches [ErrInvalid].
func ValidateURL(raw string) error {
	if raw == "" || len(raw) > MaxURLLength {
		return invalidf("Webhook.URL must be 1-%d bytes, got %d", MaxURLLength, len(raw))
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < ' ' || c == 0x7f {
			return invalidf("Webhook.URL has control byte 0x%02x at %d", c, i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidf("Webhook.URL does not parse: %s", parseProblem(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalidf("Webhook.URL must use http or https, got scheme %q", truncate(u.Scheme, 16))
	}
	if u.User != nil {
		return invalidf("Webhook.URL must not hold user info")
	}
	if u.Hostname() == "" {
		return invalidf("Webhook.URL must have a host")
	}
	if u.Opaque != "" {
		return invalidf("Webhook.URL must be hierarchical (scheme://host/...)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalidf("Webhook.URL's port must be 1-65535, got %q", truncate(p, 8))
		}
	}
	return nil
}

// quoted matches what url.Parse's errors quote of the URL.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// parseProblem describes why url.Parse refused a URL without quoting any
// of it: the URL may hold a password or a token in its query.
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return quoted.ReplaceAllString(err.Error(), "(...)")
}

// ValidateSecret checks a webhook secret: at most [MaxSecretLength] bytes,
// no control characters, and no leading or trailing space or tab, since
// it is sent in a header, where those would be lost. The empty secret is
// valid. The error never quotes the secret.
func ValidateSecret(s string) error {
	if len(s) > MaxSecretLength {
		return invalidf("Webhook.Secret must be at most %d bytes, got %d", MaxSecretLength, len(s))
	}
	if s != "" && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		return invalidf("Webhook.Secret must not start or end with a space or tab (HTTP would drop it)")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return invalidf("Webhook.Secret has control byte 0x%02x at %d", c, i)
		}
	}
	return nil
}

// idEpoch is the origin of the time part of generated IDs, as in Misskey's
// "aid" ids.
var idEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var idCounter atomic.Uint32

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewID returns a new 16-character identifier in the shape of Misskey's
// "aidx" ids: 8 base-36 digits of milliseconds since 2000, then 8 digits
// of randomness and a counter, so that IDs sort by creation time.
func NewID(now time.Time) string {
	var b [16]byte
	ms := uint64(max(now.Sub(idEpoch).Milliseconds(), 0))
	for i := 7; i >= 0; i-- {
		b[i] = base36[ms%36]
		ms /= 36
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	n := uint64(r[0])<<24 | uint64(r[1])<<16 | uint64(r[2])<<8 | uint64(r[3])
	n = n<<12 | uint64(idCounter.Add(1)&0xfff)
	for i := 15; i >= 8; i-- {
		b[i] = base36[n%36]
		n /= 36
	}
	return string(b[:])
}
