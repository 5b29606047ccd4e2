package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func validHook() *webhook.Webhook {
	return &webhook.Webhook{ID: "9abcdef", UserID: "9user", Name: "n",
		On: []webhook.Event{webhook.EventNote}, URL: "https://r.example/hook", Secret: "s", Active: true}
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		modify func(w *webhook.Webhook)
		want   string // "" = valid
	}{
		{"valid", func(*webhook.Webhook) {}, ""},
		{"no id yet", func(w *webhook.Webhook) { w.ID = "" }, ""},
		{"empty secret", func(w *webhook.Webhook) { w.Secret = "" }, ""},
		{"100 char name", func(w *webhook.Webhook) { w.Name = strings.Repeat("é", 100) }, ""},
		{"no events", func(w *webhook.Webhook) { w.On = nil }, ""},
		{"system", func(w *webhook.Webhook) { w.UserID, w.On = "", []webhook.Event{webhook.EventAbuseReport} }, ""},
		{"http url", func(w *webhook.Webhook) { w.URL = "http://r.example:8080/x?y=1" }, ""},
		{"ipv6 url", func(w *webhook.Webhook) { w.URL = "https://[2001:db8::1]/x" }, ""},
		{"empty name", func(w *webhook.Webhook) { w.Name = "" }, "Webhook.Name must be 1-100"},
		{"long name", func(w *webhook.Webhook) { w.Name = strings.Repeat("a", 101) }, "Webhook.Name"},
		{"255 char system name", func(w *webhook.Webhook) {
			w.UserID, w.On, w.Name = "", []webhook.Event{webhook.EventAbuseReport}, strings.Repeat("é", 255)
		}, ""},
		{"long system name", func(w *webhook.Webhook) {
			w.UserID, w.On, w.Name = "", []webhook.Event{webhook.EventAbuseReport}, strings.Repeat("a", 256)
		}, "Webhook.Name must be 1-255"},
		{"invalid utf8 name", func(w *webhook.Webhook) { w.Name = "\xff" }, "Webhook.Name"},
		{"empty url", func(w *webhook.Webhook) { w.URL = "" }, "Webhook.URL must be 1-1024"},
		{"long url", func(w *webhook.Webhook) { w.URL = "https://r.example/" + strings.Repeat("a", 1024) }, "Webhook.URL must be 1-1024"},
		{"ftp url", func(w *webhook.Webhook) { w.URL = "ftp://r.example/" }, "http or https"},
		{"relative url", func(w *webhook.Webhook) { w.URL = "/hook" }, "Webhook.URL"},
		{"no host", func(w *webhook.Webhook) { w.URL = "https:///x" }, "must have a host"},
		{"userinfo", func(w *webhook.Webhook) { w.URL = "https://u:p@r.example/" }, "user info"},
		{"newline in url", func(w *webhook.Webhook) { w.URL = "https://r.example/\nx" }, "control byte"},
		{"opaque", func(w *webhook.Webhook) { w.URL = "https:r.example" }, "Webhook.URL"},
		{"long secret", func(w *webhook.Webhook) { w.Secret = strings.Repeat("s", 1025) }, "Webhook.Secret must be at most 1024"},
		{"crlf secret", func(w *webhook.Webhook) { w.Secret = "a\r\nX-Evil: 1" }, "Webhook.Secret has control byte"},
		{"nul secret", func(w *webhook.Webhook) { w.Secret = "a\x00" }, "Webhook.Secret has control byte"},
		{"padded secret", func(w *webhook.Webhook) { w.Secret = " s " }, "Webhook.Secret must not start or end"},
		{"unknown event", func(w *webhook.Webhook) { w.On = []webhook.Event{"poke"} }, `Webhook.On[0]: unknown event "poke"`},
		{"system event on user hook", func(w *webhook.Webhook) { w.On = []webhook.Event{webhook.EventUserCreated} }, "is a system event"},
		{"user event on system hook", func(w *webhook.Webhook) { w.UserID = "" }, "is a user event"},
		{"duplicate event", func(w *webhook.Webhook) { w.On = []webhook.Event{webhook.EventNote, webhook.EventNote} }, "listed twice"},
		{"id with space", func(w *webhook.Webhook) { w.ID = "a b" }, "Webhook.ID must be printable"},
		{"user id with newline", func(w *webhook.Webhook) { w.UserID = "u\n" }, "Webhook.UserID"},
		{"long id", func(w *webhook.Webhook) { w.ID = strings.Repeat("i", 129) }, "Webhook.ID must be at most 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := validHook()
			tc.modify(w)
			err := w.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
			if w.Secret != "" && len(w.Secret) > 2 {
				require.NotContains(t, err.Error(), w.Secret)
			}
		})
	}
}

func FuzzWebhookValidate(f *testing.F) {
	f.Add("https://r.example/x", "secret", "name", "note")
	f.Add("http://[::1]:80/", "", "n", "abuseReport")
	f.Add("https://u@h/", "a\r\n", "", "x")
	f.Add("%zz://", "\x00", "\xff", "")
	f.Fuzz(func(t *testing.T, url, secret, name, event string) {
		w := &webhook.Webhook{UserID: "u", Name: name, URL: url, Secret: secret, On: []webhook.Event{webhook.Event(event)}}
		err := w.Validate()
		if err == nil {
			// What passes must be safe to put in headers and payloads.
			require.NotContains(t, url+secret, "\n")
			require.NotContains(t, url+secret, "\r")
			require.NoError(t, webhook.ValidateURL(url))
			return
		}
		require.ErrorIs(t, err, webhook.ErrInvalid)
		if len(secret) >= 8 {
			require.NotContains(t, err.Error(), secret)
		}
	})
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := webhook.NewID(t1), webhook.NewID(t1.Add(time.Millisecond))
	require.Len(t, a, 16)
	require.Less(t, a, b)
	require.NotEqual(t, webhook.NewID(t1), webhook.NewID(t1))
	require.NoError(t, (&webhook.Webhook{ID: a, UserID: "u", Name: "n", URL: "https://x/"}).Validate())
}

func TestEvents(t *testing.T) {
	t.Parallel()
	require.Len(t, webhook.UserEvents(), 8)
	require.Len(t, webhook.SystemEvents(), 5)
	for _, e := range webhook.UserEvents() {
		require.True(t, e.IsUser())
		require.False(t, e.IsSystem())
		got, err := webhook.ParseEvent(string(e))
		require.NoError(t, err)
		require.Equal(t, e, got)
	}
	for _, e := range webhook.SystemEvents() {
		require.True(t, e.IsSystem())
		require.False(t, e.IsUser())
	}
	for _, s := range []string{"", "Note", "notes", "abusereport", "reaction "} {
		_, err := webhook.ParseEvent(s)
		require.ErrorIs(t, err, webhook.ErrUnknownEvent, s)
	}
	ev := webhook.UserEvents()
	ev[0] = "mutated"
	require.Equal(t, webhook.EventNote, webhook.UserEvents()[0], "callers own the returned slice")
}
