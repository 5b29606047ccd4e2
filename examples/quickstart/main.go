// Command quickstart is fedihook's main job in miniature: it starts a
// webhook receiver on loopback, registers webhooks for two users, emits
// note, reply, follow and mention events as a server's handlers would,
// prints what the receiver got (headers and body) and the webhooks'
// latest status, and exits 0.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type received struct {
	header http.Header
	body   []byte
}

func run(ctx context.Context, out io.Writer) error {
	// 1. A receiver, as a user's Discord bridge or bot would run it.
	got := make(chan received, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w.WriteHeader(http.StatusNoContent)
		got <- received{r.Header.Clone(), body}
	})}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(ctx)
		<-serveErr
	}()
	receiverURL := "http://" + ln.Addr().String() + "/webhook"

	// 2. The server's Dispatcher. The private-network guard refuses
	// loopback receivers by default; this demo allows 127.0.0.0/8.
	loopback, err := webhook.ParseAllowRule("127.0.0.0/8")
	if err != nil {
		return err
	}
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: []webhook.AllowRule{loopback}})
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	d, err := webhook.New(nil, &webhook.Config{
		Host:      "social.example",
		Transport: tr,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}
	defer d.Shutdown(ctx)

	// 3. Two users register webhooks, as through i/webhooks/create.
	alice, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "9alice", Name: "alice's bot", Active: true,
		On: []webhook.Event{webhook.EventNote, webhook.EventReply, webhook.EventFollow}, URL: receiverURL, Secret: "alice-secret"})
	if err != nil {
		return err
	}
	bob, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "9bob", Name: "bob's bridge", Active: true,
		On: []webhook.Event{webhook.EventMention}, URL: receiverURL, Secret: "bob-secret"})
	if err != nil {
		return err
	}

	// 4. The server's handlers emit events.
	aliceUser := user("9alice", "alice")
	bobUser := user("9bob", "bob")
	now := misskey.Time(time.Now())
	hello := note("9n1", "hello, fediverse", aliceUser, now)
	reply := note("9n2", "@alice welcome!", bobUser, now)
	reply.Reply = hello // the parent travels with the reply, as in Misskey
	mention := note("9n3", "@bob are you there?", aliceUser, now)
	followee := &misskey.UserDetailed{User: *bobUser, CreatedAt: now,
		FollowingVisibility: misskey.FollowVisibilityPublic, FollowersVisibility: misskey.FollowVisibilityPublic,
		ChatScope: misskey.ChatScopeEveryone,
		Relation:  &misskey.UserRelation{IsFollowing: true}} // bob as alice sees him

	emits := []struct {
		user  string
		event webhook.Event
		body  any
	}{
		{"9alice", webhook.EventNote, misskey.NoteBody{Note: hello}},
		{"9alice", webhook.EventReply, misskey.NoteBody{Note: reply}},
		{"9alice", webhook.EventFollow, misskey.UserBody{User: followee}},
		{"9bob", webhook.EventMention, misskey.NoteBody{Note: mention}},
	}
	for _, e := range emits {
		if err := d.Emit(ctx, e.user, e.event, e.body); err != nil {
			return err
		}
	}

	// 5. What the receiver got.
	var all []received
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for len(all) < len(emits) {
		select {
		case r := <-got:
			all = append(all, r)
		case <-timeout.C:
			return fmt.Errorf("receiver got %d of %d webhooks in 30 s", len(all), len(emits))
		}
	}
	for _, r := range all {
		fmt.Fprintln(out, "--- received")
		for _, h := range []string{"Content-Type", "User-Agent", "X-Misskey-Host", "X-Misskey-Hook-Id", "X-Misskey-Hook-Secret"} {
			fmt.Fprintf(out, "%s: %s\n", h, r.header.Get(h))
		}
		var pretty json.RawMessage = r.body
		b, _ := json.MarshalIndent(pretty, "", "  ")
		fmt.Fprintln(out, string(b))
	}

	// 6. The webhooks' latest status, as i/webhooks/show reports it. The
	// receiver answered before the worker settled, so wait for that.
	if err := d.Shutdown(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "--- webhooks")
	for _, h := range []*webhook.Webhook{alice, bob} {
		w, err := d.GetHook(ctx, h.ID)
		if err != nil {
			return err
		}
		status := "never sent"
		if w.LatestStatus != nil {
			status = fmt.Sprintf("%d at %s", *w.LatestStatus, w.LatestSentAt.Format(time.RFC3339))
		}
		fmt.Fprintf(out, "%s (%s, on %v): latestStatus %s\n", w.Name, w.ID, w.On, status)
		if w.LatestStatus == nil || *w.LatestStatus != http.StatusNoContent {
			return fmt.Errorf("webhook %s: want latest status 204", w.ID)
		}
	}
	if !slices.ContainsFunc(all, func(r received) bool { return r.header.Get("X-Misskey-Hook-Id") == bob.ID }) {
		return fmt.Errorf("bob's webhook got nothing")
	}
	return nil
}

func user(id, username string) *misskey.User {
	return &misskey.User{ID: id, Username: username, AvatarURL: "https://social.example/avatar/" + id,
		OnlineStatus: misskey.OnlineStatusUnknown}
}

func note(id, text string, by *misskey.User, at misskey.Time) *misskey.Note {
	return &misskey.Note{ID: id, CreatedAt: at, Text: &text, UserID: by.ID, User: *by, Visibility: misskey.VisibilityPublic}
}
