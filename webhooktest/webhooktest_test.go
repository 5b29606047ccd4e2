package webhooktest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTransportScriptsPerURL(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	tr.Script("https://a/", webhooktest.Reply{Status: 500}, webhooktest.Reply{Err: errors.New("reset")})
	send := func(url string) (*webhook.Response, error) {
		body := []byte(`{"server":"s","hookId":"h","eventId":"e","createdAt":1,"type":"note","body":{}}`)
		return tr.Send(context.Background(), &webhook.Request{URL: url, Body: body})
	}
	r, err := send("https://a/")
	require.NoError(t, err)
	require.Equal(t, 500, r.StatusCode)
	_, err = send("https://a/")
	require.EqualError(t, err, "reset")
	r, err = send("https://a/")
	require.NoError(t, err)
	require.Equal(t, 204, r.StatusCode, "then the default")
	r, err = send("https://b/")
	require.NoError(t, err)
	require.Equal(t, 204, r.StatusCode)
	tr.SetDefault(webhooktest.Reply{Status: 410})
	r, err = send("https://b/")
	require.NoError(t, err)
	require.Equal(t, 410, r.StatusCode)
	require.Len(t, tr.Requests(), 5)
	require.Len(t, tr.To("h"), 5)
	_, err = tr.Send(context.Background(), &webhook.Request{URL: "https://a/", Body: []byte("not json")})
	require.Error(t, err)
}

func TestClockTimers(t *testing.T) {
	t.Parallel()
	clk := webhooktest.NewClock(webhooktest.Epoch)
	t1 := clk.NewTimer(time.Second)
	t2 := clk.NewTimer(time.Minute)
	stopped := clk.NewTimer(time.Second)
	require.True(t, stopped.Stop())
	require.False(t, stopped.Stop())
	clk.Advance(999 * time.Millisecond)
	select {
	case <-t1.C():
		t.Fatal("fired early")
	default:
	}
	clk.Advance(time.Millisecond)
	require.Equal(t, webhooktest.Epoch.Add(time.Second), <-t1.C())
	require.False(t, t1.Stop(), "already fired")
	select {
	case <-t2.C():
		t.Fatal("fired early")
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	clk.Advance(time.Hour)
	<-t2.C()
	now := clk.NewTimer(0)
	<-now.C()
}

// TestClockWaitForTimers: a test learns that the code under test waits on
// the clock without polling, and is told when it never does.
func TestClockWaitForTimers(t *testing.T) {
	t.Parallel()
	clk := webhooktest.NewClock(webhooktest.Epoch)
	require.Zero(t, clk.Timers())
	fired := make(chan time.Time)
	go func() {
		a, b := clk.NewTimer(time.Second), clk.NewTimer(time.Minute)
		fired <- <-a.C()
		b.Stop()
	}()
	require.NoError(t, clk.WaitForTimers(context.Background(), 2))
	require.Equal(t, 2, clk.Timers())
	clk.Advance(time.Second)
	require.Equal(t, webhooktest.Epoch.Add(time.Second), <-fired)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, clk.WaitForTimers(ctx, 3), context.Canceled)
	var zero webhooktest.Clock
	require.NoError(t, zero.WaitForTimers(context.Background(), 0))
}

func TestRequireHelpersFail(t *testing.T) {
	t.Parallel()
	d, tr, _ := webhooktest.New(t, nil)
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	require.NoError(t, d.Emit(context.Background(), "u", webhook.EventNote, map[string]any{"n": 1}))
	require.Equal(t, 1, webhooktest.Flush(t, d))

	// The assertions must be able to fail: run them on a recorder.
	for name, check := range map[string]func(tb testing.TB){
		"wrong body":  func(tb testing.TB) { tr.RequireReceived(tb, h.ID, webhook.EventNote, map[string]any{"n": 2}) },
		"wrong event": func(tb testing.TB) { tr.RequireReceived(tb, h.ID, webhook.EventMention, nil) },
		"wrong hook":  func(tb testing.TB) { tr.RequireReceived(tb, "other", webhook.EventNote, nil) },
		"not none":    func(tb testing.TB) { tr.RequireNone(tb, h.ID) },
	} {
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); check(rec) }() // FailNow ends this goroutine
		<-done
		require.True(t, rec.failed, name)
	}
	tr.RequireReceived(t, h.ID, webhook.EventNote, map[string]any{"n": 1})
}

// recorder is a testing.TB whose failures are recorded, not reported.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(string, ...any)     { r.failed = true }
func (r *recorder) FailNow()                  { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); r.FailNow() }

// A host's handler test: the handler emits, Flush delivers, the fake
// Transport answers and records.
func Example() {
	ctx := context.Background()
	tr := webhooktest.NewTransport()
	d, _ := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, Clock: webhooktest.NewClock(webhooktest.Epoch)})
	defer d.Shutdown(ctx)
	hook, _ := d.CreateHook(ctx, &webhook.Webhook{UserID: "9alice", Name: "bot", Active: true,
		On: []webhook.Event{webhook.EventFollowed}, URL: "https://bot.example/hook"})

	// The follow handler:
	_ = d.Emit(ctx, "9alice", webhook.EventFollowed, map[string]any{"user": map[string]any{"id": "9bob"}})

	_, _ = d.Drain(ctx) // webhooktest.Flush(t, d) in a test
	for _, r := range tr.To(hook.ID) {
		fmt.Println(r.Payload.Type, string(r.Payload.Body), r.Payload.CreatedAt == webhooktest.Epoch.UnixMilli())
	}
	// Output: followed {"user":{"id":"9bob"}} true
}
