package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/textproto"
)

// HeaderHookSecret is the header in which Misskey sends a webhook's
// secret, in plain text.
const HeaderHookSecret = "X-Misskey-Hook-Secret"

// CheckSecret checks that the X-Misskey-Hook-Secret header of h equals
// secret. It compares SHA-256 digests of both in constant time, so that
// neither the secret's content nor its length leaks through timing. A
// missing header yields [ErrMissingHeader] (an empty one is a value, the
// empty secret, as Misskey sends for a webhook without one); a mismatch
// yields [ErrBadSecret]. The error never quotes either value.
//
// Misskey's secret travels in clear with every request: anyone who sees
// one request can forge the next. Prefer signatures ([VerifySignature])
// where the sender makes them.
func CheckSecret(h http.Header, secret string) error {
	values, ok := h[textproto.CanonicalMIMEHeaderKey(HeaderHookSecret)]
	if !ok || len(values) == 0 {
		return missingHeader(HeaderHookSecret)
	}
	// Two headers would be two secrets; only one can be the sender's.
	got := values[0]
	if len(values) > 1 {
		return ErrBadSecret
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadSecret
	}
	return nil
}
