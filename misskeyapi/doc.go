// Package misskeyapi serves Misskey's HTTP API for webhooks over a
// [webhook.Dispatcher], so that Misskey clients (misskey-js's APIClient,
// Misskey's own web client, scripts written for Misskey) manage a Go
// server's webhooks unchanged, and so that webhook receivers find the
// endpoints they call back.
//
// Mount the [Handler] at /api/:
//
//	h, err := misskeyapi.New(d, &misskeyapi.Config{
//		Authenticate: func(ctx context.Context, token string) (misskeyapi.Account, error) {
//			// look the token up; misskeyapi.ErrUnknownToken if it names no one
//		},
//		Meta: &misskeyapi.Meta{URI: "https://example.tld", Version: "2025.12.2"},
//	})
//	mux.Handle("/api/", h)
//
// # Endpoints
//
// All take JSON by POST, as Misskey's, with the credential as "i" in the
// body or in an "Authorization: Bearer" header:
//
//   - i/webhooks/create {name, url, secret?, on}, list {}, show {webhookId},
//     update {webhookId, name?, url?, secret?, on?, active?},
//     delete {webhookId}, test {webhookId, type, override?: {url?, secret?}}:
//     the caller's own webhooks. Another user's webhook, or a system
//     webhook, is NO_SUCH_WEBHOOK, never a permission error. create
//     enforces webhook.Config.MaxWebhooksPerUser (Misskey's webhookLimit
//     policy) with TOO_MANY_WEBHOOKS.
//   - admin/system-webhook/create {isActive, name, on, url, secret?},
//     list {isActive?, on?}, show {id}, update {id, isActive, name, on,
//     url, secret?}, delete {id}, test {webhookId, type, override?}: the
//     system webhooks, for accounts that are moderators or administrators
//     (others get ROLE_PERMISSION_DENIED).
//   - meta {detail?} (also GET), when Config.Meta is set: the server's
//     MetaDetailed, or MetaLite.
//   - users/show {userId} | {userIds} | {username, host?}, when
//     Config.LookupUser is set: packed users.
//
// Parameters are checked as Misskey's schemas check them (lengths, the
// events each kind of webhook takes, ID format), and more strictly where
// fedihook's record needs it (an absolute http or https URL, a secret that
// survives an HTTP header); unknown parameters are ignored, as Misskey
// does. Responses are Misskey's entities ([UserWebhook], [SystemWebhook])
// with dates as JavaScript's toISOString writes them, and 204 with no body
// where Misskey returns nothing.
//
// test sends one delivery with Misskey's dummy body of the given event
// through [webhook.Dispatcher.TestHook], to the override's URL and secret
// where given, and answers 204 once the receiver answered (or failed);
// like Misskey, it does not report the receiver's answer. Each account may
// test Config.TestLimit times per Config.TestWindow (Misskey's 60 per 15
// minutes), then gets RATE_LIMIT_EXCEEDED with Retry-After.
//
// # Errors
//
// Errors are Misskey's: the body {"error": {"message", "code", "id",
// "kind", "info"?}} with Misskey's HTTP status, code and id at that place
// (see the [Error] values), which misskey-js turns into an APIError.
// Requests refused before Misskey's code runs are answered as Misskey's
// HTTP server (fastify) answers them: GET on an endpoint that is POST-only
// 405 with no body; a body over Config.MaxBodyBytes (1 MiB) 413; a content
// type other than JSON 415; malformed JSON 400. An unknown endpoint is 404
// UNKNOWN_API_ENDPOINT. A failure of the store or of a host function is
// INTERNAL_ERROR, whose info holds only an id that the log line has too.
// Request parameters, which hold webhook secrets and credentials, are never
// logged.
//
// Like Misskey's, the API answers CORS requests from any origin, without
// credentials (Config.NoCORS turns that off).
//
// # Host endpoints
//
// [Handler.Handle] adds the host's own endpoints (notes/create, ...) with
// the same decoding, credentials and errors.
//
// # Known differences from Misskey
//
// SystemWebhook.updatedAt is the creation time held in the webhook's ID,
// since fedihook's record keeps no update time. A test send leaves the
// webhook's latestSentAt and latestStatus as they were (Misskey's test
// delivery sets them, as any delivery does). admin/system-webhook/update
// and delete of an unknown ID answer NO_SUCH_SYSTEM_WEBHOOK, where
// Misskey fails with INTERNAL_ERROR. An event listed twice in "on" is kept
// once. Misskey's "secure" endpoints (test, admin/*) refuse application
// tokens; a Handler cannot tell those apart, so Config.Authenticate should
// refuse tokens that must not manage webhooks.
package misskeyapi
