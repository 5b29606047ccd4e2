// Package verify is for the receiving end of Misskey-compatible webhooks:
// Go servers and bots that get the requests a Misskey server or a
// [webhook.Dispatcher] sends, and must know they are genuine before
// acting on them.
//
// # Checking a request
//
// A Misskey request carries the webhook's secret in plain text in the
// X-Misskey-Hook-Secret header; [CheckSecret] compares it in constant
// time. A sender that also signs (a Dispatcher whose webhook has a
// SigningSecret) adds the Standard Webhooks headers webhook-id,
// webhook-timestamp and webhook-signature; [VerifySignature] checks them
// against one or more candidate "whsec_" secrets, with a timestamp
// tolerance of [DefaultTolerance] unless told otherwise ([NoTolerance]
// disables it). A signature proves who sent the exact bytes received,
// and when: unlike the secret header, seeing one request does not let
// anyone forge another. Signatures are computed over the raw body, so
// verify the bytes as read from the wire, never JSON re-encoded.
//
// [ParsePayload] then parses the body strictly into a [webhook.Payload],
// whose DecodeBody method decodes the event body into the typed bodies
// of package webhook ([misskey.NoteBody], [misskey.UserBody], ...).
//
// # The middleware
//
// [New] builds a [Middleware] from a [Config]; its Wrap method returns an
// [http.Handler] that does all of the above: it accepts only POST, reads
// at most Config.MaxBodyBytes, checks the secret and the signature as
// configured, parses the payload, and answers 405, 413, 401 or 400 with a
// plain-text reason when something is wrong. The wrapped handler finds
// the payload with [PayloadFrom] and the raw body in r.Body. Servers not
// built on net/http call [Middleware.Check] with the header and body.
//
// # Rotating secrets
//
// A sender rotating its signing secret signs each request with both the
// new and the old one for a while. List both in Config.SigningSecrets
// (the new one first) until the sender drops the old one, then remove it.
//
// # Errors
//
// Every failed check returns an error matching one of the sentinels
// [ErrMissingHeader], [ErrMalformedHeader], [ErrBadSecret],
// [ErrBadSignature], [ErrStaleTimestamp] or [ErrMalformedPayload]; a bad
// argument or Config field matches [webhook.ErrInvalid] and names it. No
// error quotes a secret.
package verify
