package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/webhooktest"
)

// A server registers a user's webhook, emits a note event from its note
// handler, and the Dispatcher delivers it. Here a Transport that prints
// stands in for the network, and Drain delivers at once; a server calls
// Start instead.
func Example() {
	ctx := context.Background()
	printer := webhook.TransportFunc(func(_ context.Context, req *webhook.Request) (*webhook.Response, error) {
		fmt.Println("POST", req.URL)
		for _, h := range []string{"Content-Type", "User-Agent", "X-Misskey-Host", "X-Misskey-Hook-Id", "X-Misskey-Hook-Secret"} {
			fmt.Printf("%s: %s\n", h, req.Header.Get(h))
		}
		return &webhook.Response{StatusCode: 204}, nil
	})
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: printer})
	if err != nil {
		panic(err)
	}
	defer d.Shutdown(ctx)

	hook, err := d.CreateHook(ctx, &webhook.Webhook{
		ID: "9hook", UserID: "9alice", Name: "to Discord", Active: true,
		On:  []webhook.Event{webhook.EventNote, webhook.EventMention},
		URL: "https://bridge.example/hooks/1", Secret: "s3cret",
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
	got, _ := d.GetHook(ctx, hook.ID)
	fmt.Println("latestStatus:", *got.LatestStatus)
	// Output:
	// POST https://bridge.example/hooks/1
	// Content-Type: application/json
	// User-Agent: Misskey-Hooks
	// X-Misskey-Host: example.tld
	// X-Misskey-Hook-Id: 9hook
	// X-Misskey-Hook-Secret: s3cret
	// latestStatus: 204
}

// Failed deliveries are retried on Misskey's schedule. A fake clock shows
// it without waiting.
func ExampleDispatcher_Drain() {
	ctx := context.Background()
	tr := webhooktest.NewTransport()
	clk := webhooktest.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	d, _ := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, Clock: clk,
		OnAttempt: func(r webhook.AttemptReport) {
			fmt.Printf("attempt %d at %s: status %d, %s\n", r.Attempt, clk.Now().Format("15:04:05"), r.Status, r.State)
		}})
	defer d.Shutdown(ctx)
	hook, _ := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventFollowed},
		URL: "https://r.example/", Active: true})
	tr.Script(hook.URL, webhooktest.Reply{Status: 503}, webhooktest.Reply{Status: 502})

	_ = d.Emit(ctx, "u", webhook.EventFollowed, map[string]any{"user": map[string]any{"id": "9bob"}})
	for range 12 {
		_, _ = d.Drain(ctx)
		clk.Advance(time.Minute)
	}
	// Output:
	// attempt 1 at 00:00:00: status 503, pending
	// attempt 2 at 00:02:00: status 502, pending
	// attempt 3 at 00:06:00: status 204, delivered
}

// Shutdown delivers what is due before it returns, as http.Server's
// Shutdown finishes the requests under way; its context bounds how long
// that may take. A memory store's deliveries that are still pending then
// (here a retry due in a minute) would be lost with the process, and
// Shutdown says how many.
func ExampleDispatcher_Shutdown() {
	var sent atomic.Int64
	receiver := webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) {
		if sent.Add(1) == 1 {
			return &webhook.Response{StatusCode: 503}, nil // the first is retried later
		}
		return &webhook.Response{StatusCode: 204}, nil
	})
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: receiver, Workers: 1})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if _, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "9alice", Name: "bot", Active: true,
		On: []webhook.Event{webhook.EventNote}, URL: "https://bot.example/hook"}); err != nil {
		panic(err)
	}
	if err := d.Start(ctx); err != nil {
		panic(err)
	}
	for i := range 3 {
		if err := d.Emit(ctx, "9alice", webhook.EventNote, map[string]any{"note": map[string]any{"id": i}}); err != nil {
			panic(err)
		}
	}

	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = d.Shutdown(stop)
	var left *webhook.UndeliveredError
	if errors.As(err, &left) {
		fmt.Println("left pending:", left.Pending)
	}
	fmt.Println("attempts:", sent.Load())
	fmt.Println(errors.Is(d.Emit(ctx, "9alice", webhook.EventNote, map[string]any{}), webhook.ErrClosed))
	// Output:
	// left pending: 1
	// attempts: 3
	// true
}

// TestHook sends Misskey's dummy body once and reports the outcome.
func ExampleDispatcher_TestHook() {
	ctx := context.Background()
	tr := webhooktest.NewTransport()
	d, _ := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr})
	defer d.Shutdown(ctx)
	hook, _ := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote},
		URL: "https://r.example/", Active: false})
	tr.Script(hook.URL, webhooktest.Reply{Status: 404})

	res, err := d.TestHook(ctx, hook.ID, webhook.EventMention, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, res.Err != nil, tr.Requests()[0].Payload.Type)
	// Output: 404 true mention
}

func ExampleClassify() {
	for _, status := range []int{204, 404, 429, 503} {
		fmt.Println(status, webhook.Classify(status, nil))
	}
	// Output:
	// 204 delivered
	// 404 give up
	// 429 retry
	// 503 retry
}
