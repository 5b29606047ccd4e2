// Package webhook lets a Go fediverse server emit Misskey-compatible
// webhooks: receivers written for Misskey (Discord bridges, Gotify
// plugins, bots) get the same requests, headers and bodies, and keep
// working unchanged.
//
// # Emitting
//
// A server makes one [Dispatcher] with [New], giving it a [Store] (the
// in-memory [MemoryStore] by default; the sqlitestore and pgstore modules
// keep deliveries across restarts) and a [Config] whose Host names the
// server. Its note, follow and moderation handlers call
// [Dispatcher.Emit] or [Dispatcher.EmitSystem] with an [Event] and a body:
// Misskey's, from package [github.com/fedihook/webhook/misskey]
// (misskey.NoteBody, misskey.UserBody, ...), or any JSON object of the
// host's own ([EncodeBody] says how it is encoded). Emit
// finds the active webhooks subscribed to the event, encodes the body once
// and enqueues one [Delivery] per webhook, each with its own eventId. It
// does no network I/O.
//
// # Delivering
//
// [Dispatcher.Start] runs workers that POST due deliveries through the
// [Transport] ([HTTPTransport] by default: 5 s timeout, no redirects, a
// private-network guard) with Misskey's headers, and settle each attempt
// in the Store, which also records the webhook's latest status.
// [Dispatcher.Shutdown] stops them as http.Server.Shutdown stops a
// server: it delivers what is due until its context ends, and reports with
// an [UndeliveredError] what a memory store is left with.
// [Dispatcher.Drain] delivers what is due and returns, for tests and
// one-shot tools.
//
// # Retrying
//
// [Classify] sorts each outcome as Misskey does: 2xx delivered, 4xx but
// 429 given up, anything else retried. A [RetryPolicy] spaces the
// retries; [DefaultRetryPolicy] is Misskey's (4 attempts, about 60 s,
// 180 s and 420 s apart). A Retry-After header replaces the wait.
//
// # Testing
//
// The webhooktest package has a recording fake Transport and a fake
// Clock, so a host's handler tests check the webhooks they emit in a few
// lines, and storetest is the conformance suite of Store implementations.
package webhook
