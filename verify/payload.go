package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/fedihook/webhook"
)

// The payload keys ParsePayload requires, in Misskey's order.
var requiredKeys = [...]string{"server", "hookId", "eventId", "createdAt", "type", "body"}

// ParsePayload parses a webhook request body strictly. It must be one
// JSON object, with nothing after it and no key twice, holding:
//
//   - "server", "hookId" and "eventId": non-empty strings ("server"
//     is sent by Misskey since 2023.9.0);
//   - "createdAt": an integer (UNIX milliseconds);
//   - "type": a known [webhook.Event];
//   - "body": an object, kept as raw JSON in [webhook.Payload.Body] (see
//     [webhook.Payload.DecodeBody]);
//   - "userId": a non-empty string for a user event, absent for a system
//     event.
//
// Other keys are ignored, so that keys a later Misskey adds do not break
// receivers. Anything else yields an error matching
// [ErrMalformedPayload] that names the key; an unknown type matches
// [webhook.ErrUnknownEvent] too.
//
// ParsePayload does not authenticate the body: check its signature or
// secret first, over these same raw bytes ([Middleware] does both).
func ParsePayload(body []byte) (*webhook.Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed("not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, malformed("not a JSON object")
	}
	var (
		p    webhook.Payload
		seen = make(map[string]bool, len(requiredKeys)+1)
		typ  string
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("not JSON")
		}
		key, _ := tok.(string) // the decoder yields only strings as keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed("not JSON")
		}
		if seen[key] {
			return nil, malformed("key %q appears twice", truncate(key))
		}
		seen[key] = true
		switch key {
		case "server":
			err = decodeString(key, raw, &p.Server)
		case "hookId":
			err = decodeString(key, raw, &p.HookID)
		case "userId":
			err = decodeString(key, raw, &p.UserID)
		case "eventId":
			err = decodeString(key, raw, &p.EventID)
		case "type":
			err = decodeString(key, raw, &typ)
		case "createdAt":
			p.CreatedAt, err = strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				err = malformed("%q must be an integer", key)
			}
		case "body":
			if raw[0] != '{' {
				err = malformed("%q must be an object", key)
			}
			p.Body = raw
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed("not JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("data after the object")
	}
	for _, k := range requiredKeys {
		if !seen[k] {
			return nil, malformed("missing %q", k)
		}
	}
	e, err := webhook.ParseEvent(typ)
	if err != nil {
		return nil, fmt.Errorf("%w: \"type\": %w %q", ErrMalformedPayload, webhook.ErrUnknownEvent, truncate(typ))
	}
	p.Type = e
	switch {
	case e.IsUser() && !seen["userId"]:
		return nil, malformed("missing \"userId\", required for the user event %q", e)
	case e.IsSystem() && seen["userId"]:
		return nil, malformed("\"userId\" present in the system event %q", e)
	}
	return &p, nil
}

// decodeString decodes raw, the value of key, into a non-empty string.
func decodeString(key string, raw json.RawMessage, dst *string) error {
	if raw[0] != '"' {
		return malformed("%q must be a string", key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return malformed("%q must be a string", key)
	}
	if *dst == "" {
		return malformed("%q must not be empty", key)
	}
	return nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedPayload}, args...)...)
}

// truncate shortens s, which came from a request, for an error message.
func truncate(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
