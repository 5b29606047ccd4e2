package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
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

// DecodeBody unmarshals the payload's body into v, such as a *[NoteBody].
func (p *Payload) DecodeBody(v any) error {
	if err := json.Unmarshal(p.Body, v); err != nil {
		return fmt.Errorf("webhook: decoding %s body: %w", truncate(string(p.Type), 64), err)
	}
	return nil
}

// EncodeBody encodes an event body the way the Dispatcher does: as JSON,
// without escaping <, > and & (as JavaScript's JSON.stringify, which
// Misskey uses), with no trailing newline. A []byte or [json.RawMessage]
// is taken as already-encoded JSON, checked and compacted. The result
// must be a JSON object; anything else yields an error matching
// [ErrInvalid].
func EncodeBody(body any) ([]byte, error) {
	var b []byte
	switch v := body.(type) {
	case nil:
		return nil, invalidf("event body must be a JSON object, got nil")
	case json.RawMessage:
		return encodeRaw(v)
	case []byte:
		return encodeRaw(v)
	case jsonAppender:
		// This package's body types write valid JSON by construction;
		// encoding/json would check it once more. They write into a
		// pooled buffer, and the body gets an allocation of its exact
		// size, kept as long as its deliveries are.
		sp := scratchPool.Get().(*[]byte)
		out, err := v.appendJSON((*sp)[:0])
		if err != nil {
			return nil, fmt.Errorf("webhook: encoding event body: %w", err)
		}
		b = bytes.Clone(out)
		if cap(out) <= maxScratch {
			*sp = out
			scratchPool.Put(sp)
		}
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return nil, fmt.Errorf("webhook: encoding event body: %w", err)
		}
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, invalidf("event body must be a JSON object")
	}
	return b, nil
}

// scratchPool holds the buffers EncodeBody writes into; those that grew
// past maxScratch are dropped.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxScratch = 256 << 10

// encodeRaw checks already-encoded JSON and compacts it, as
// JSON.stringify would have written it.
func encodeRaw(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, invalidf("event body is not valid JSON")
	}
	b := buf.Bytes()
	if len(b) == 0 || b[0] != '{' {
		return nil, invalidf("event body must be a JSON object")
	}
	return b, nil
}

// AppendPayload appends the JSON payload of d, as sent to the webhook, to
// dst. The bytes are a function of d alone, so every retry of a delivery
// sends the same bytes.
func AppendPayload(dst []byte, d *Delivery) []byte {
	dst = append(dst, `{"server":`...)
	dst = appendString(dst, d.Server)
	dst = append(dst, `,"hookId":`...)
	dst = appendString(dst, d.HookID)
	if d.UserID != "" {
		dst = append(dst, `,"userId":`...)
		dst = appendString(dst, d.UserID)
	}
	dst = append(dst, `,"eventId":"`...)
	dst = appendUUID(dst, d.ID)
	dst = append(dst, `","createdAt":`...)
	dst = strconv.AppendInt(dst, d.CreatedAt.UnixMilli(), 10)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, string(d.Type))
	dst = append(dst, `,"body":`...)
	dst = append(dst, d.Body...)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

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

// appendString appends s as a JSON string, escaping as JSON.stringify
// does (quotes, backslashes and control characters; invalid UTF-8 becomes
// U+FFFD). Unlike encoding/json, and like JSON.stringify, it leaves
// U+2028 and U+2029 unescaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while all are ASCII that a JSON string
		// holds as is: no control character, '"', '\\' or byte above
		// 0x7f. Each term is the classic "some byte is less than n" test
		// on the word, exact for the word as a whole; the eight loads
		// combine into one.
		for i+8 <= len(s) {
			t := s[i : i+8]
			w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
				uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
			q, bs := w^('"'*ones), w^('\\'*ones)
			if ((w-0x20*ones)&^w|(q-ones)&^q|(bs-ones)&^bs|w)&highs != 0 {
				break
			}
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
