package verify

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fedihook/webhook"
)

const (
	// DefaultTolerance is how far webhook-timestamp may be from the
	// current time, before or after it, when the tolerance given is 0.
	// It is the Standard Webhooks libraries' default.
	DefaultTolerance = 5 * time.Minute
	// NoTolerance, given as the tolerance, disables the timestamp check:
	// any timestamp is accepted, however old, and replays of a captured
	// request verify forever. Use it for fixed test vectors, not in
	// production. It is the only negative tolerance allowed.
	NoTolerance time.Duration = -1
)

// VerifySignature checks the Standard Webhooks signature of a request
// with header h and raw body body, as received (never re-encoded JSON):
//
//   - the webhook-id, webhook-timestamp and webhook-signature headers
//     must be present and not empty ([ErrMissingHeader]);
//   - webhook-timestamp must be a UNIX time in seconds written in
//     decimal digits, without sign or leading zeros
//     ([ErrMalformedHeader]);
//   - it must be at most tolerance away from now, before or after
//     ([ErrStaleTimestamp]). A tolerance of 0 means [DefaultTolerance];
//     [NoTolerance] disables the check;
//   - one of the space-separated "v1,<base64>" entries of
//     webhook-signature (of all its lines, if it came several times)
//     must equal the signature by one of the candidate
//     secrets ([ErrBadSignature]). Entries of other versions are
//     ignored. Comparisons take constant time.
//
// The secrets are "whsec_" secrets as [webhook.ParseSigningSecret] takes
// them: pass the current secret and, while rotating, the previous ones.
// A bad secret, no secret at all or a bad tolerance yields an error
// matching [webhook.ErrInvalid].
//
// VerifySignature parses the secrets on every call; a [Middleware]
// parses them once. It does not remember webhook-ids: a receiver that
// must not act twice on one event deduplicates by webhook-id (the
// payload's eventId) within the tolerance.
func VerifySignature(h http.Header, body []byte, now time.Time, tolerance time.Duration, secrets ...string) error {
	keys, err := parseSigningSecrets("signing secret", secrets)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return invalidf("VerifySignature needs at least one signing secret")
	}
	tolerance, err = checkTolerance("tolerance", tolerance)
	if err != nil {
		return err
	}
	return verifySignature(h, body, now, tolerance, keys)
}

// parseSigningSecrets parses each secret; an error names it as what[i].
func parseSigningSecrets(what string, secrets []string) ([][]byte, error) {
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		key, err := webhook.ParseSigningSecret(s)
		if err != nil {
			return nil, &configError{msg: fmt.Sprintf("%s[%d]", what, i), err: err}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// checkTolerance returns the tolerance to use for t: DefaultTolerance for
// 0, t itself when positive or NoTolerance, and an error naming field
// for any other negative value (which would disable the check by
// mistake).
func checkTolerance(field string, t time.Duration) (time.Duration, error) {
	switch {
	case t == 0:
		return DefaultTolerance, nil
	case t > 0, t == NoTolerance:
		return t, nil
	}
	return 0, invalidf("%s must be > 0, 0 for DefaultTolerance or NoTolerance, got %v", field, t)
}

// verifySignature is VerifySignature with parsed keys and a checked
// tolerance.
func verifySignature(h http.Header, body []byte, now time.Time, tolerance time.Duration, keys [][]byte) error {
	id := h.Get(webhook.HeaderWebhookID)
	if id == "" {
		return missingHeader(strings.ToLower(webhook.HeaderWebhookID))
	}
	tsText := h.Get(webhook.HeaderWebhookTimestamp)
	if tsText == "" {
		return missingHeader(strings.ToLower(webhook.HeaderWebhookTimestamp))
	}
	sigs := h.Values(webhook.HeaderWebhookSignature)
	if strings.TrimSpace(strings.Join(sigs, "")) == "" {
		return missingHeader(strings.ToLower(webhook.HeaderWebhookSignature))
	}
	ts, ok := parseTimestamp(tsText)
	if !ok {
		return fmt.Errorf("%w %s: not a UNIX time in seconds", ErrMalformedHeader, strings.ToLower(webhook.HeaderWebhookTimestamp))
	}
	if tolerance != NoTolerance {
		age := now.Sub(time.Unix(ts, 0))
		switch {
		case age > tolerance:
			return fmt.Errorf("%w: %v old, over the tolerance of %v", ErrStaleTimestamp, age.Truncate(time.Second), tolerance)
		case age < -tolerance:
			return fmt.Errorf("%w: %v in the future, over the tolerance of %v", ErrStaleTimestamp, -age.Truncate(time.Second), tolerance)
		}
	}
	// The expected signature by each key, computed when first needed.
	var (
		buf      [4][]byte
		expected = buf[:0]
	)
	v1 := false
	for _, value := range sigs {
		for entry := range strings.SplitSeq(value, " ") {
			version, _, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" {
				continue // empty (repeated spaces), unversioned or another version
			}
			v1 = true
			for i, key := range keys {
				if i == len(expected) {
					expected = append(expected, webhook.AppendSignature(nil, key, id, ts, body))
				}
				if subtle.ConstantTimeCompare([]byte(entry), expected[i]) == 1 {
					return nil
				}
			}
		}
	}
	if !v1 {
		return fmt.Errorf("%w: no v1 signature", ErrBadSignature)
	}
	return ErrBadSignature
}

func missingHeader(name string) error {
	return fmt.Errorf("%w %s", ErrMissingHeader, name)
}

// parseTimestamp parses a webhook-timestamp: decimal digits only, no sign
// or leading zero, so that one number has one spelling and the signed
// text is the one in the header.
func parseTimestamp(s string) (int64, bool) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	return ts, err == nil
}
