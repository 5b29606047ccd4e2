package webui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrf protects the forms from cross-site request forgery. The browser
// holds a random nonce in an HttpOnly, SameSite=Strict cookie; each form
// carries HMAC(key, nonce, user ID) in its "csrf" field. A forger knows
// neither the nonce nor the key, and a nonce planted through a sibling
// subdomain is useless without the key. Beside it, every POST passes
// [http.CrossOriginProtection], which refuses requests a browser marks as
// coming from another origin.
type csrf struct {
	key    []byte
	cookie string
	path   string
	secure bool
}

// nonceLen is the length of an encoded nonce (32 random bytes).
const nonceLen = 43

// csrfField is the name of the form field that carries the token.
const csrfField = "csrf"

// nonce returns the browser's nonce, setting a new cookie when it has
// none (or a malformed one).
func (c *csrf) nonce(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookie); err == nil && validNonce(ck.Value) {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	n := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: n, Path: c.path, HttpOnly: true,
		Secure: c.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return n
}

func validNonce(s string) bool {
	if len(s) != nonceLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// token returns the token of the forms for nonce and userID.
func (c *csrf) token(nonce, userID string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("fedihook webui csrf\x00"))
	m.Write([]byte(nonce))
	m.Write([]byte{0})
	m.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// valid reports whether a posted form's token matches the request's
// cookie and user. r.ParseForm must have been called.
func (c *csrf) valid(r *http.Request, userID string) bool {
	ck, err := r.Cookie(c.cookie)
	if err != nil || !validNonce(ck.Value) {
		return false
	}
	got := r.PostForm.Get(csrfField)
	return got != "" && hmac.Equal([]byte(got), []byte(c.token(ck.Value, userID)))
}
