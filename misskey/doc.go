// Package misskey is Misskey's data model as its webhooks carry it: the
// packed objects ([Note], [User], [UserDetailed], [AbuseReport], ...) in
// the shape of Misskey's packed JSON, the event bodies ([NoteBody],
// [UserBody], [ReactionBody], ...), and the dummy bodies of test sends
// ([DummyBody]).
//
// The webhook package delivers any JSON object; this package is what a
// host hands it to speak Misskey:
//
//	d.Emit(ctx, userID, webhook.EventNote, misskey.NoteBody{Note: n})
//
// # Encoding
//
// Every type here encodes itself by hand, without reflection, as
// Misskey's packers write it (see each type for the keys): the keys in
// Misskey's order, strings escaped as JavaScript's JSON.stringify does,
// dates as Date.toISOString writes them. The bodies and packed objects
// implement webhook.JSONAppender, which webhook.EncodeBody (and so Emit)
// probes for, so they are encoded once, straight into the payload's
// buffer; MarshalJSON returns the same bytes for encoding/json.
//
// A value that Misskey's packer could not have written (a required field
// left empty, an enumerated field holding an unknown value) fails to
// encode with an error matching [ErrInvalid] that names the field; Emit
// then returns it, matching webhook.ErrInvalid too, and enqueues nothing.
//
// # Decoding
//
// Receivers may unmarshal a payload's body into these types with
// encoding/json: the struct tags name the keys.
//
// # Packages
//
// This package imports nothing of the webhook package, which imports it
// (for the dummy bodies that Dispatcher.TestHook sends): event names are
// plain strings here, such as string(webhook.EventNote).
package misskey
