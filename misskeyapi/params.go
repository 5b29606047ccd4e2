package misskeyapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/fedihook/webhook"
)

// A reader checks request parameters against an endpoint's schema as
// Misskey's Ajv does: required properties first, then each property in
// the schema's order, stopping at the first failure, which it reports as
// INVALID_PARAM with Ajv's schema path and message. Unknown properties
// are ignored, as Misskey's schemas allow them.
type reader struct {
	p    map[string]json.RawMessage
	base string // schema path of p, "#" or "#/properties/override"
	err  *Error
}

func newReader(p map[string]json.RawMessage) *reader { return &reader{p: p, base: "#"} }

func (r *reader) fail(path, reason string) {
	if r.err == nil {
		r.err = invalidParam(r.base+path, reason)
	}
}

// require checks that each name is present (null counts, as in Ajv).
func (r *reader) require(names ...string) {
	for _, n := range names {
		if _, ok := r.p[n]; !ok {
			r.fail("/required", fmt.Sprintf("must have required property '%s'", n))
			return
		}
	}
}

// raw returns the value of name, unless absent or after a failure.
func (r *reader) raw(name string) (json.RawMessage, bool) {
	if r.err != nil {
		return nil, false
	}
	v, ok := r.p[name]
	return v, ok
}

// str reads a string of minLen to maxLen characters (maxLen < 0: any).
func (r *reader) str(name string, minLen, maxLen int) (string, bool) {
	s, set, null := r.nullableStr(name, minLen, maxLen, false)
	return s, set && !null
}

// nullableStr reads a string, or null when nullable.
func (r *reader) nullableStr(name string, minLen, maxLen int, nullable bool) (s string, set, null bool) {
	v, ok := r.raw(name)
	if !ok {
		return "", false, false
	}
	if nullable && string(v) == "null" {
		return "", true, true
	}
	if err := json.Unmarshal(v, &s); err != nil || string(v) == "null" {
		r.fail("/properties/"+name+"/type", "must be string")
		return "", false, false
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		r.fail("/properties/"+name+"/minLength", fmt.Sprintf("must NOT have fewer than %d characters", minLen))
		return "", false, false
	}
	if maxLen >= 0 && n > maxLen {
		r.fail("/properties/"+name+"/maxLength", fmt.Sprintf("must NOT have more than %d characters", maxLen))
		return "", false, false
	}
	return s, true, false
}

// id reads an ID of Misskey's "misskey:id" format, [a-zA-Z0-9]+.
func (r *reader) id(name string) (string, bool) {
	s, ok := r.str(name, 0, -1)
	if !ok {
		return "", false
	}
	if !isMisskeyID(s) {
		r.fail("/properties/"+name+"/format", `must match format "misskey:id"`)
		return "", false
	}
	return s, true
}

func isMisskeyID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func (r *reader) boolean(name string) (bool, bool) {
	v, ok := r.raw(name)
	if !ok {
		return false, false
	}
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	r.fail("/properties/"+name+"/type", "must be boolean")
	return false, false
}

// event reads one event name that allowed accepts.
func (r *reader) event(name string, allowed func(webhook.Event) bool) (webhook.Event, bool) {
	s, ok := r.str(name, 0, -1)
	if !ok {
		return "", false
	}
	if !allowed(webhook.Event(s)) {
		r.fail("/properties/"+name+"/enum", "must be equal to one of the allowed values")
		return "", false
	}
	return webhook.Event(s), true
}

// events reads an array of event names that allowed accepts. A name
// listed twice is kept once (Misskey stores both; fedihook's record is a
// set).
func (r *reader) events(name string, allowed func(webhook.Event) bool) ([]webhook.Event, bool) {
	items, ok := r.strings(name, func(s string) bool { return allowed(webhook.Event(s)) }, "enum",
		"must be equal to one of the allowed values")
	if !ok {
		return nil, false
	}
	out := make([]webhook.Event, 0, len(items))
	for _, s := range items {
		if e := webhook.Event(s); !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, true
}

// object reads a nested object, returning a reader for its properties.
func (r *reader) object(name string) (*reader, bool) {
	v, ok := r.raw(name)
	if !ok {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		r.fail("/properties/"+name+"/type", "must be object")
		return nil, false
	}
	return &reader{p: m, base: r.base + "/properties/" + name}, true
}

// strings reads an array of strings, each checked by item; a failing
// item is reported under itemKeyword ("enum", "format") with itemReason.
func (r *reader) strings(name string, item func(string) bool, itemKeyword, itemReason string) ([]string, bool) {
	v, ok := r.raw(name)
	if !ok {
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil || string(v) == "null" {
		r.fail("/properties/"+name+"/type", "must be array")
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil || string(it) == "null" {
			r.fail("/properties/"+name+"/items/type", "must be string")
			return nil, false
		}
		if !item(s) {
			r.fail("/properties/"+name+"/items/"+itemKeyword, itemReason)
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
