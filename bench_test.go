package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/storetest"
)

func benchDispatcher(b *testing.B, hooks int) *webhook.Dispatcher {
	b.Helper()
	ok := &webhook.Response{StatusCode: 204}
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld",
		Transport: webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) { return ok, nil })})
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

// benchEmit runs Emit b.N times against a queue kept at a steady size, as
// in a server whose workers keep up: every 10,000 Emits the queue is
// delivered (untimed), so the figure is Emit's cost, not the garbage
// collector's over an ever-growing queue.
func benchEmit(b *testing.B, hooks int, body any) {
	d := benchDispatcher(b, hooks)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%10_000 == 0 {
			b.StopTimer()
			if _, err := d.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := d.Emit(ctx, "9alice", webhook.EventNote, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmit measures Emit's cost on the host's hot path: matching,
// encoding the body once and enqueueing one delivery per webhook.
func BenchmarkEmit(b *testing.B) {
	text := "a realistic note of some length, with an emoji 🎉 and a link https://example.tld/notes/9abc"
	body := misskey.NoteBody{Note: &misskey.Note{ID: "9note", CreatedAt: misskey.Time(time.Unix(1700000000, 0)), Text: &text, UserID: "9alice", Visibility: misskey.VisibilityPublic,
		User: misskey.User{ID: "9alice", Username: "alice", AvatarURL: "https://example.tld/avatar/9alice"}}}
	for _, n := range []int{1, 3, 100} {
		b.Run(fmt.Sprintf("hooks=%d", n), func(b *testing.B) { benchEmit(b, n, body) })
	}
}

// BenchmarkEmitRaw is Emit with an already-encoded 1 KiB body: the
// Dispatcher's own cost, without the host's encoding.
func BenchmarkEmitRaw(b *testing.B) {
	body := json.RawMessage(`{"note":{"text":"` + strings.Repeat("x", 1000) + `"}}`)
	for _, n := range []int{1, 3, 100} {
		b.Run(fmt.Sprintf("hooks=%d", n), func(b *testing.B) { benchEmit(b, n, body) })
	}
}

// BenchmarkQueuedDeliveryHeap reports the heap each queued delivery of
// the in-memory store takes beyond the body bytes it shares: 1,000,000
// deliveries, from Emits of one 1 KiB body to 4 webhooks.
func BenchmarkQueuedDeliveryHeap(b *testing.B) {
	const deliveries, hooks = 1_000_000, 4
	body := json.RawMessage(`{"note":{"text":"` + strings.Repeat("x", 1000) + `"}}`)
	for b.Loop() {
		store, err := webhook.NewMemoryStore(&webhook.MemoryStoreConfig{Capacity: deliveries})
		if err != nil {
			b.Fatal(err)
		}
		d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: webhook.TransportFunc(nil)})
		if err != nil {
			b.Fatal(err)
		}
		for i := range hooks {
			_, err := d.CreateHook(context.Background(), &webhook.Webhook{UserID: "9alice", Name: "n", Active: true,
				On: []webhook.Event{webhook.EventNote}, URL: fmt.Sprintf("https://r%d.example/", i)})
			if err != nil {
				b.Fatal(err)
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range deliveries / hooks {
			// A fresh body each time, as a host encodes each event anew.
			if err := d.Emit(context.Background(), "9alice", webhook.EventNote, bytes.Clone(body)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bodies := float64(deliveries / hooks * roundUpToSizeClass(len(body)))
		b.ReportMetric((float64(after.HeapAlloc-before.HeapAlloc)-bodies)/deliveries, "heapB/delivery")
		runtime.KeepAlive(store)
		_ = d.Shutdown(context.Background())
	}
}

// roundUpToSizeClass is the heap a body of n bytes takes: the runtime's
// size class above 1 KiB here.
func roundUpToSizeClass(n int) int {
	for _, c := range []int{1024, 1152, 1280, 1408, 1536} {
		if n <= c {
			return c
		}
	}
	return n
}

// BenchmarkPipeline measures the Dispatcher's own cost per delivery from
// Emit to settled, with a Transport that answers 204 at once: matching,
// encoding, enqueueing, claiming, the fairness gate, building the
// payload and headers, settling and the attempt history, for a note of
// 1 KiB. 32 workers; the emitting goroutine keeps at most 1,024
// deliveries queued. The Transport is not an HTTPTransport, so each
// attempt gets fresh request storage, as any custom Transport's does.
func BenchmarkPipeline(b *testing.B) {
	ok := &webhook.Response{StatusCode: 204}
	var done atomic.Int64
	tr := webhook.TransportFunc(func(context.Context, *webhook.Request) (*webhook.Response, error) {
		return ok, nil
	})
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, MaxInFlightPerHook: 32, MaxInFlightPerHost: 32,
		OnAttempt: func(webhook.AttemptReport) { done.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		if _, err := d.CreateHook(ctx, &webhook.Webhook{UserID: fmt.Sprintf("9user%d", i), Name: "n", Active: true,
			On: []webhook.Event{webhook.EventNote}, URL: "http://127.0.0.1:1/hook"}); err != nil {
			b.Fatal(err)
		}
	}
	users := make([]string, 100)
	for i := range users {
		users[i] = fmt.Sprintf("9user%d", i)
	}
	text := strings.Repeat("a note of about one KiB, ", 40)
	body := misskey.NoteBody{Note: &misskey.Note{ID: "9note", CreatedAt: misskey.Time(time.Unix(1700000000, 0)), Text: &text, UserID: "9user0", Visibility: misskey.VisibilityPublic,
		User: misskey.User{ID: "9user0", Username: "alice", AvatarURL: "https://example.tld/avatar/9user0"}}}
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		for n-done.Load() >= 1024 {
			runtime.Gosched()
		}
		if err := d.Emit(ctx, users[n%100], webhook.EventNote, body); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for done.Load() < n {
		runtime.Gosched()
	}
	b.StopTimer()
	if err := d.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOrdered: one Ordered webhook's deliveries per second on the
// memory store, each sent once the one before is settled.
//
//	go test -run '^$' -bench Ordered -benchtime 2000x
func BenchmarkOrdered(b *testing.B) {
	s, err := webhook.NewMemoryStore(nil)
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchOrdered(b, s)
}
