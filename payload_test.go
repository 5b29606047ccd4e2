package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// marshalPayload is the reference encoding: encoding/json without HTML
// escaping, as JSON.stringify.
func marshalPayload(t testing.TB, p *webhook.Payload) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(p))
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func TestAppendPayloadMatchesReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ server, hook, user string }{
		{"https://example.tld", "9abc", "9user"},
		{"https://example.tld:8443", "hook", ""},
		{"https://ex\"ample", "h\\k", "u\n\t\r\x01\x1f"},
		{"https://例え.jp", "<&>", "\xff"},
	} {
		d := &webhook.Delivery{ID: uuid.New(), HookID: tc.hook, UserID: tc.user, Type: webhook.EventNote,
			Server: tc.server, CreatedAt: time.UnixMilli(1700000000123), Body: []byte(`{"note":{"text":"<b>"}}`)}
		got := webhook.AppendPayload(nil, d)
		want := marshalPayload(t, &webhook.Payload{Server: tc.server, HookID: tc.hook, UserID: tc.user,
			EventID: d.ID.String(), CreatedAt: 1700000000123, Type: webhook.EventNote, Body: d.Body})
		require.Equal(t, string(want), string(got))
	}
}

func FuzzAppendPayload(f *testing.F) {
	f.Add("https://example.tld", "9abc", "9user", `{"a":1}`)
	f.Add("", "", "", `{}`)
	f.Add("\xff\xfe", "\"", "\x00", `{"x":"\u0000"}`)
	f.Fuzz(func(t *testing.T, server, hook, user, body string) {
		b, err := webhook.EncodeBody(json.RawMessage(body)) // as Emit takes it
		if err != nil {
			return
		}
		body = string(b)
		d := &webhook.Delivery{ID: uuid.New(), HookID: hook, UserID: user, Type: webhook.EventMention,
			Server: server, CreatedAt: time.UnixMilli(42), Body: b}
		got := webhook.AppendPayload(nil, d)
		require.True(t, json.Valid(got), "%q", got)
		var p webhook.Payload
		require.NoError(t, json.Unmarshal(got, &p))
		require.Equal(t, d.ID.String(), p.EventID)
		require.Equal(t, int64(42), p.CreatedAt)
		require.Equal(t, webhook.EventMention, p.Type)
		require.Equal(t, body, string(p.Body))
		// The same bytes as encoding/json, but for U+2028 and U+2029,
		// which JSON.stringify leaves alone and encoding/json escapes.
		valid := utf8.ValidString(server) && utf8.ValidString(hook) && utf8.ValidString(user)
		if valid && !strings.ContainsAny(server+hook+user, "\u2028\u2029") {
			require.Equal(t, string(marshalPayload(t, &p)), string(got))
		}
	})
}

func TestEncodeBody(t *testing.T) {
	t.Parallel()
	b, err := webhook.EncodeBody(map[string]string{"html": "<a href=\"x\">&</a>"})
	require.NoError(t, err)
	require.Equal(t, `{"html":"<a href=\"x\">&</a>"}`, string(b))
	b, err = webhook.EncodeBody([]byte("  {\"a\":1}\n"))
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(b))
	for _, bad := range []any{nil, 3, "str", []int{}, json.RawMessage(`[1]`), []byte(`{`), make(chan int),
		map[string]any{"c": make(chan int)}, map[string]any{"n": math.NaN()}} {
		_, err := webhook.EncodeBody(bad)
		require.ErrorIs(t, err, webhook.ErrInvalid, "%T", bad)
	}
	// A value inside the body that fails to encode itself (a misskey
	// type missing a required field) is a bad body too, and keeps its
	// own error.
	own := errors.New("misskey: Note.ID is required")
	_, err = webhook.EncodeBody(map[string]any{"note": failingMarshaler{own}})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorIs(t, err, own)
}

// failingMarshaler is a value whose MarshalJSON fails with err.
type failingMarshaler struct{ err error }

func (f failingMarshaler) MarshalJSON() ([]byte, error) { return nil, f.err }

// appenderBody is a host's body type with a fast path of its own: it
// writes what AppendJSON returns, or fails with err.
type appenderBody struct {
	out string
	err error
}

func (a appenderBody) AppendJSON(dst []byte) ([]byte, error) {
	if a.err != nil {
		return dst, a.err
	}
	return append(dst, a.out...), nil
}

// MarshalJSON differs from AppendJSON, to show which one EncodeBody used.
func (a appenderBody) MarshalJSON() ([]byte, error) { return []byte(`{"via":"MarshalJSON"}`), nil }

func TestEncodeBodyJSONAppender(t *testing.T) {
	t.Parallel()
	var _ webhook.JSONAppender = appenderBody{}
	b, err := webhook.EncodeBody(appenderBody{out: `{"via":"AppendJSON"}`})
	require.NoError(t, err)
	require.Equal(t, `{"via":"AppendJSON"}`, string(b))

	// An encoder's error is a bad body: it matches ErrInvalid and keeps
	// the encoder's own error.
	own := errors.New("misskey: Note.ID is required")
	_, err = webhook.EncodeBody(appenderBody{err: own})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorIs(t, err, own)
	require.ErrorContains(t, err, "Note.ID is required")

	_, err = webhook.EncodeBody(appenderBody{out: `[1]`})
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

func BenchmarkAppendPayload(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1000)
	d := &webhook.Delivery{ID: uuid.New(), HookID: "9abcdefghijklmno", UserID: "9userabcdefghijk", Type: webhook.EventNote,
		Server: "https://example.tld", CreatedAt: time.Now(), Body: append(append([]byte(`{"t":"`), body...), `"}`...)}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = webhook.AppendPayload(buf[:0], d)
	}
}

// TestAppendStringEveryByte puts each byte value at each place of strings
// long enough for the eight-bytes-at-a-time scan, and checks the result
// against encoding/json (which also writes invalid UTF-8 as U+FFFD).
func TestAppendStringEveryByte(t *testing.T) {
	t.Parallel()
	base := "abcdefghijklmnopqrstuvw" // 23 bytes: two words and a tail
	for c := range 256 {
		for at := range len(base) {
			s := base[:at] + string([]byte{byte(c)}) + base[at+1:]
			d := &webhook.Delivery{ID: uuid.Nil, HookID: s, Type: webhook.EventNote, Server: "https://x",
				CreatedAt: time.UnixMilli(1), Body: []byte(`{}`)}
			want := marshalPayload(t, &webhook.Payload{Server: "https://x", HookID: s, EventID: uuid.Nil.String(),
				CreatedAt: 1, Type: webhook.EventNote, Body: d.Body})
			require.Equal(t, string(want), string(webhook.AppendPayload(nil, d)), "byte %#x at %d", c, at)
		}
	}
}
