package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
)

// A bot receives note events. The Middleware checks the Misskey secret
// and the signature before the bot's handler runs, and hands it the
// payload. Here a Dispatcher delivers straight into the handler; a real
// bot serves it with http.Handle("/webhook", handler).
func Example() {
	const (
		secret        = "s3cret"                                 // the webhook's Secret
		signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // its SigningSecret
	)

	// The receiving bot.
	mw, err := verify.New(&verify.Config{Secret: secret, SigningSecrets: []string{signingSecret}})
	if err != nil {
		panic(err)
	}
	handler := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := verify.PayloadFrom(r.Context())
		var body misskey.NoteBody
		if err := p.DecodeBody(&body); err != nil {
			http.Error(w, "not a note", http.StatusBadRequest)
			return
		}
		fmt.Printf("%s by @%s: %s\n", p.Type, body.Note.User.Username, *body.Note.Text)
		w.WriteHeader(http.StatusNoContent)
	}))

	// The sending server, with a Transport that calls the handler, and
	// sends each request a second time with its body tampered with.
	deliver := func(req *webhook.Request, body []byte) int {
		r := httptest.NewRequest(http.MethodPost, req.URL, bytes.NewReader(body))
		r.Header = req.Header.Clone()
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			fmt.Printf("rejected: %d %s\n", w.Code, strings.TrimSpace(w.Body.String()))
		}
		return w.Code
	}
	transport := webhook.TransportFunc(func(_ context.Context, req *webhook.Request) (*webhook.Response, error) {
		deliver(req, bytes.Replace(req.Body, []byte("hello"), []byte("HELLO"), 1))
		return &webhook.Response{StatusCode: deliver(req, req.Body)}, nil
	})
	ctx := context.Background()
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: transport})
	if err != nil {
		panic(err)
	}
	defer d.Shutdown(ctx)
	_, err = d.CreateHook(ctx, &webhook.Webhook{
		UserID: "9alice", Name: "bot", On: []webhook.Event{webhook.EventNote}, Active: true,
		URL: "https://bot.example/webhook", Secret: secret, SigningSecret: signingSecret,
	})
	if err != nil {
		panic(err)
	}
	text := "hello, fediverse"
	note := &misskey.Note{ID: "9note", CreatedAt: misskey.Time(time.Now()), Text: &text, Visibility: misskey.VisibilityPublic,
		User: misskey.User{ID: "9alice", Username: "alice", AvatarURL: "https://example.tld/avatar/9alice"}}
	if err := d.Emit(ctx, "9alice", webhook.EventNote, misskey.NoteBody{Note: note}); err != nil {
		panic(err)
	}
	if _, err := d.Drain(ctx); err != nil {
		panic(err)
	}
	// Output:
	// rejected: 401 bad signature
	// note by @alice: hello, fediverse
}
