package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (standardwebhooks.com) signatures, sent beside
// Misskey's secret header when a webhook has a signing secret.
const (
	// SigningSecretPrefix starts every signing secret.
	SigningSecretPrefix = "whsec_"
	// MinSigningKeyBytes and MaxSigningKeyBytes bound a signing key.
	MinSigningKeyBytes = 24
	MaxSigningKeyBytes = 64
	// HeaderWebhookID, HeaderWebhookTimestamp and HeaderWebhookSignature
	// are the Standard Webhooks headers.
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// A PreviousSecret is a signing secret being rotated out: requests carry
// a signature by it, beside the current one, until Expires.
type PreviousSecret struct {
	Secret  string    `json:"secret"`
	Expires time.Time `json:"expires"`
}

// NewSigningSecret returns a new random signing secret: "whsec_" and the
// standard padded base64 of 32 random bytes.
func NewSigningSecret() string {
	var key [32]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never fails
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(key[:])
}

// ParseSigningSecret returns the key of a signing secret of the form
// "whsec_" + standard padded base64 of 24 to 64 bytes. The error matches
// [ErrInvalid] and never quotes the secret.
func ParseSigningSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SigningSecretPrefix)
	if !ok {
		return nil, invalidf("signing secret must start with %q", SigningSecretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, invalidf("signing secret is not standard padded base64 after %q", SigningSecretPrefix)
	}
	if len(key) < MinSigningKeyBytes || len(key) > MaxSigningKeyBytes {
		return nil, invalidf("signing secret must hold %d to %d bytes, got %d", MinSigningKeyBytes, MaxSigningKeyBytes, len(key))
	}
	return key, nil
}

// Sign returns the Standard Webhooks signature of body, "v1," and the
// base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	return string(AppendSignature(nil, key, id, timestamp, body))
}

// AppendSignature appends Sign's result to dst.
func AppendSignature(dst, key []byte, id string, timestamp int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	var ts [20]byte
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	var sum [sha256.Size]byte
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, mac.Sum(sum[:0]))
}

// validateSigning checks a webhook's signing secrets.
func validateSigning(w *Webhook) error {
	if w.SigningSecret != "" {
		if _, err := ParseSigningSecret(w.SigningSecret); err != nil {
			return fmt.Errorf("webhook: Webhook.SigningSecret: %w", err)
		}
	}
	for i, p := range w.PreviousSigningSecrets {
		if _, err := ParseSigningSecret(p.Secret); err != nil {
			return fmt.Errorf("webhook: Webhook.PreviousSigningSecrets[%d]: %w", i, err)
		}
		if p.Expires.IsZero() {
			return invalidf("Webhook.PreviousSigningSecrets[%d].Expires must be set", i)
		}
	}
	if len(w.PreviousSigningSecrets) > 0 && w.SigningSecret == "" {
		return invalidf("Webhook.PreviousSigningSecrets needs a current Webhook.SigningSecret")
	}
	return nil
}

// signatureHeader returns the Webhook-Signature value for a request with
// the given id, timestamp and body: one signature per valid secret,
// current first, space-separated. It returns "" when there is no secret.
func signatureHeader(current string, previous []PreviousSecret, now time.Time, id string, ts int64, body []byte) (string, error) {
	if current == "" {
		return "", nil
	}
	key, err := ParseSigningSecret(current)
	if err != nil {
		return "", err
	}
	b := AppendSignature(make([]byte, 0, 48*(1+len(previous))), key, id, ts, body)
	for _, p := range previous {
		if !now.Before(p.Expires) {
			continue
		}
		pk, err := ParseSigningSecret(p.Secret)
		if err != nil {
			return "", err
		}
		b = append(b, ' ')
		b = AppendSignature(b, pk, id, ts, body)
	}
	return string(b), nil
}
