package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fedihook/webhook"
)

func benchDispatcher(b *testing.B, hooks int) *webhook.Dispatcher {
	b.Helper()
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: webhook.TransportFunc(nil)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	for i := range hooks {
		_, err := d.CreateHook(context.Background(), &webhook.Webhook{UserID: "9alice", Name: "n", Active: true,
			On: []webhook.Event{webhook.EventNote}, URL: fmt.Sprintf("https://r%d.example/", i)})
		if err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// BenchmarkEmit measures Emit's cost on the host's hot path: matching,
// encoding the body once and enqueueing one delivery per webhook.
func BenchmarkEmit(b *testing.B) {
	text := "a realistic note of some length, with an emoji 🎉 and a link https://example.tld/notes/9abc"
	body := webhook.NoteBody{Note: &webhook.Note{ID: "9note", Text: &text, UserID: "9alice", Visibility: webhook.VisibilityPublic,
		User: webhook.User{ID: "9alice", Username: "alice", AvatarURL: "https://example.tld/avatar/9alice"}}}
	for _, n := range []int{1, 3, 100} {
		b.Run(fmt.Sprintf("hooks=%d", n), func(b *testing.B) {
			d := benchDispatcher(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Emit(ctx, "9alice", webhook.EventNote, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEmitRaw is Emit with an already-encoded 1 KiB body: the
// Dispatcher's own cost, without the host's encoding.
func BenchmarkEmitRaw(b *testing.B) {
	body := json.RawMessage(`{"note":{"text":"` + strings.Repeat("x", 1000) + `"}}`)
	for _, n := range []int{1, 3, 100} {
		b.Run(fmt.Sprintf("hooks=%d", n), func(b *testing.B) {
			d := benchDispatcher(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Emit(ctx, "9alice", webhook.EventNote, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
