package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook/internal/jsonenc"
)

// A Payload is the JSON object POSTed to a webhook. Marshalled, its keys
// come in Misskey's order: server, hookId, userId, eventId, createdAt,
// type, body. UserID is omitted for system webhooks.
//
// Receivers decode requests into it; the Dispatcher writes the same bytes
// without building one (see [AppendPayload]).
type Payload struct {
	// Server is the emitting server's origin, such as "https://example.tld".
	Server string `json:"server"`
	// HookID is the webhook's ID.
	HookID string `json:"hookId"`
	// UserID is the ID of the webhook's owner, empty for system webhooks.
	UserID string `json:"userId,omitempty"`
	// EventID is a random UUID fixed when the delivery was created.
	EventID string `json:"eventId"`
	// CreatedAt is the delivery's creation time in UNIX milliseconds.
	CreatedAt int64 `json:"createdAt"`
	// Type is the event type.
	Type Event `json:"type"`
	// Body is the event's body, a JSON object.
	Body json.RawMessage `json:"body"`
}

// Time returns CreatedAt as a time.Time.
func (p *Payload) Time() time.Time { return time.UnixMilli(p.CreatedAt) }

// DecodeBody unmarshals the payload's body into v, such as a
// *misskey.NoteBody (package [github.com/fedihook/webhook/misskey]).
func (p *Payload) DecodeBody(v any) error {
	if err := json.Unmarshal(p.Body, v); err != nil {
		return fmt.Errorf("webhook: decoding %s body: %w", truncate(string(p.Type), 64), err)
	}
	return nil
}

// A JSONAppender is an event body that appends its own JSON encoding to
// dst and returns the extended buffer, as [EncodeBody] probes for it (the
// way io.Copy probes for io.WriterTo). The packed objects and bodies of
// package [github.com/fedihook/webhook/misskey] implement it; a host's own
// body type may too.
//
// AppendJSON must append exactly one valid, compact JSON value (a body
// must be an object) and nothing else: EncodeBody checks only its first
// byte, not the rest, as encoding/json would check MarshalJSON's output.
// On error it may return any buffer; EncodeBody discards it and reports
// the error as an invalid body.
type JSONAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// EncodeBody encodes an event body the way the Dispatcher does: as JSON,
// without escaping <, > and & (as JavaScript's JSON.stringify, which
// Misskey uses), with no trailing newline. A []byte or [json.RawMessage]
// is taken as already-encoded JSON, checked and compacted. A
// [JSONAppender] encodes itself; its errors match [ErrInvalid]. Any other
// value goes through encoding/json. The result must be a JSON object;
// anything else yields an error matching [ErrInvalid].
func EncodeBody(body any) ([]byte, error) {
	if _, ok := body.(JSONAppender); !ok {
		return appendBody(nil, body) // a buffer of its own
	}
	// The appender writes into a pooled buffer, and the body gets an
	// allocation of its exact size, kept as long as its deliveries are.
	sp := scratchPool.Get().(*[]byte)
	out, err := appendBody((*sp)[:0], body)
	var b []byte
	if err == nil {
		b = bytes.Clone(out)
	}
	putScratch(sp, out)
	return b, err
}

// appendBody appends the encoding of body, as EncodeBody returns it, to
// dst, and returns the extended buffer.
func appendBody(dst []byte, body any) ([]byte, error) {
	var out []byte
	switch v := body.(type) {
	case nil:
		return nil, invalidf("event body must be a JSON object, got nil")
	case json.RawMessage:
		return appendRaw(dst, v)
	case []byte:
		return appendRaw(dst, v)
	case JSONAppender:
		// encoding/json would check the output once more, which costs
		// more than the encoding; JSONAppender's contract says it is
		// valid.
		var err error
		if out, err = v.AppendJSON(dst); err != nil {
			return nil, fmt.Errorf("webhook: encoding event body: %w: %w", ErrInvalid, err)
		}
	default:
		buf := bytes.NewBuffer(dst)
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			// Only the value can fail here (the buffer cannot): a bad body.
			return nil, fmt.Errorf("webhook: encoding event body: %w: %w", ErrInvalid, err)
		}
		out = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	if len(out) == len(dst) || out[len(dst)] != '{' {
		return nil, invalidf("event body must be a JSON object")
	}
	return out, nil
}

// scratchPool holds the buffers bodies are encoded into before they are
// copied; those that grew past maxScratch are dropped.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxScratch = 256 << 10

// putScratch gives sp back to scratchPool, holding out (the buffer
// appended to it, which may have grown) unless it grew too large.
func putScratch(sp *[]byte, out []byte) {
	if cap(out) > maxScratch {
		return
	}
	if cap(out) > cap(*sp) {
		*sp = out[:0]
	}
	scratchPool.Put(sp)
}

// appendRaw checks already-encoded JSON and appends it to dst compacted,
// as JSON.stringify would have written it.
func appendRaw(dst, raw []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	buf.Grow(len(raw))
	if err := json.Compact(buf, raw); err != nil {
		return nil, invalidf("event body is not valid JSON")
	}
	out := buf.Bytes()
	if len(out) == len(dst) || out[len(dst)] != '{' {
		return nil, invalidf("event body must be a JSON object")
	}
	return out, nil
}

// AppendPayload appends the JSON payload of d, as sent to the webhook, to
// dst. The bytes are a function of d alone, so every retry of a delivery
// sends the same bytes.
func AppendPayload(dst []byte, d *Delivery) []byte {
	dst = append(dst, `{"server":`...)
	dst = jsonenc.AppendString(dst, d.Server)
	dst = append(dst, `,"hookId":`...)
	dst = jsonenc.AppendString(dst, d.HookID)
	if d.UserID != "" {
		dst = append(dst, `,"userId":`...)
		dst = jsonenc.AppendString(dst, d.UserID)
	}
	dst = append(dst, `,"eventId":"`...)
	dst = appendUUID(dst, d.ID)
	dst = append(dst, `","createdAt":`...)
	dst = strconv.AppendInt(dst, d.CreatedAt.UnixMilli(), 10)
	dst = append(dst, `,"type":`...)
	dst = jsonenc.AppendString(dst, string(d.Type))
	dst = append(dst, `,"body":`...)
	dst = append(dst, d.Body...)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendUUID appends u in its canonical 36-character form.
func appendUUID(dst []byte, u uuid.UUID) []byte {
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return dst
}
