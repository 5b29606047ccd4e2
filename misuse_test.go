package webhook_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// taggedStore is a Store passed by value whose type cannot be compared
// (it holds a slice), as a host's wrapper may be.
type taggedStore struct {
	webhook.Store
	tags []string
}

// TestEmitWithUncomparableStore: Emit compared its Outbox with the
// Dispatcher's Store to decide whether to wake the workers, which panics
// for a Store of an uncomparable type, after the deliveries were enqueued.
func TestEmitWithUncomparableStore(t *testing.T) {
	t.Parallel()
	tr, clk := webhooktest.NewTransport(), webhooktest.NewClock(webhooktest.Epoch)
	ms, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	d, err := webhook.New(taggedStore{Store: ms, tags: []string{"a"}}, &webhook.Config{Host: "example.tld", Transport: tr, Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	require.NotPanics(t, func() {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
		require.NoError(t, d.EmitVia(ctx, d.Store(), "u", webhook.EventNote, noteBody("y")))
	})
	require.Equal(t, 2, webhooktest.Flush(t, d))
	require.Len(t, tr.To(h.ID), 2)
}

// recordHandler is a slog.Handler keeping its records.
type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, b.String())
	return nil
}

func (h *recordHandler) all() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.msgs, "\n")
}

// TestNilLoggerIsSlogDefault: with no Logger, a delivery the guard refused
// left no trace. Not parallel: it sets slog's default logger.
func TestNilLoggerIsSlogDefault(t *testing.T) {
	rec := &recordHandler{}
	prev := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(prev) })
	d, tr, _ := newTestDispatcher(t, &webhook.Config{RetryPolicy: noJitter})
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	tr.Script(h.URL, webhooktest.Reply{Err: webhook.ErrBlockedAddress})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	require.Equal(t, 1, webhooktest.Flush(t, d))
	require.Contains(t, rec.all(), "WARN webhook: attempt hook="+h.ID)
}

// TestUnknownEventMatchesErrUnknownEvent: an unknown event name matched
// ErrInvalid only.
func TestUnknownEventMatchesErrUnknownEvent(t *testing.T) {
	t.Parallel()
	d, _, _ := newTestDispatcher(t, nil)
	bogus := webhook.Event("notee")
	_, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{bogus}, URL: "https://r.example/", Active: true})
	for name, err := range map[string]error{
		"CreateHook":     err,
		"Emit":           d.Emit(ctx, "u", bogus, noteBody("x")),
		"EmitSystem":     d.EmitSystem(ctx, bogus, noteBody("x")),
		"EmitVia":        d.EmitVia(ctx, d.Store(), "u", bogus, noteBody("x")),
		"EmitVia system": d.EmitVia(ctx, d.Store(), "", bogus, noteBody("x")),
	} {
		require.ErrorIs(t, err, webhook.ErrUnknownEvent, name)
		require.ErrorIs(t, err, webhook.ErrInvalid, name)
		require.Contains(t, err.Error(), `"notee"`, name)
	}
	// A known event of the other kind is invalid, not unknown.
	err = d.Emit(ctx, "u", webhook.EventAbuseReport, noteBody("x"))
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.NotErrorIs(t, err, webhook.ErrUnknownEvent)
}

// countingBody counts its encodings.
type countingBody struct{ n *int }

func (b countingBody) MarshalJSON() ([]byte, error) {
	*b.n++
	return []byte(`{"note":{}}`), nil
}

// TestBodyNeverAnObjectRefused: a body that can never encode to a JSON
// object passed while no webhook matched, so the bug surfaced only once a
// user subscribed. It is refused whether or not any webhook matches, and
// nothing is encoded when none does.
func TestBodyNeverAnObjectRefused(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, nil)
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	var nilMap map[string]any
	var nilPtr *struct{ A int }
	for _, user := range []string{"nobody", "u"} {
		for name, body := range map[string]any{
			"nil": nil, "a channel": make(chan int), "a func": func() {}, "an array": []int{1}, "a string": "x",
			"a number": 42, "a bool": true, "a nil map": nilMap, "a nil pointer": nilPtr,
			"raw JSON array": json.RawMessage(`[1]`), "raw JSON string": []byte(` "x"`), "empty raw JSON": json.RawMessage(nil),
			"a map with bool keys": map[bool]int{true: 1},
		} {
			err := d.Emit(ctx, user, webhook.EventNote, body)
			require.ErrorIs(t, err, webhook.ErrInvalid, "%s to %s", name, user)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
		}
	}
	n := 0
	require.NoError(t, d.Emit(ctx, "nobody", webhook.EventNote, countingBody{&n}))
	require.NoError(t, d.Emit(ctx, "nobody", webhook.EventNote, &struct{ A int }{1}))
	require.NoError(t, d.Emit(ctx, "nobody", webhook.EventNote, map[string]any{"a": 1}))
	require.Zero(t, n, "nothing is encoded when no webhook matches")
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, countingBody{&n}))
	require.Equal(t, 1, n)
	require.Equal(t, 1, webhooktest.Flush(t, d))
	tr.RequireReceived(t, h.ID, webhook.EventNote, json.RawMessage(`{"note":{}}`))
}

// TestURLValidation: a port out of range was accepted, and an URL that
// did not parse was quoted whole in the error, user info and query
// included.
func TestURLValidation(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://r.example:99999/", "https://r.example:0/", "http://r.example:65536/x", "https://r.example:-1/"} {
		require.ErrorIs(t, webhook.ValidateURL(u), webhook.ErrInvalid, u)
	}
	for _, u := range []string{"https://r.example:65535/", "https://r.example:1/", "https://[::1]:8080/", "https://r.example/"} {
		require.NoError(t, webhook.ValidateURL(u), u)
	}
	for _, u := range []string{
		"https://alice:hunter2@r.exa mple/?token=tok3n",
		"https://alice:hunter2@r.example:port/?token=tok3n",
		"https://r.example/%zz?token=tok3n",
		"https://alice:hunter2@[::1/?token=tok3n",
	} {
		err := webhook.ValidateURL(u)
		require.ErrorIs(t, err, webhook.ErrInvalid, u)
		for _, secret := range []string{"hunter2", "tok3n", "alice"} {
			require.NotContains(t, err.Error(), secret, u)
		}
	}
}

// TestNilArguments: nil webhooks and a nil or zero Dispatcher panicked
// with nil dereferences.
func TestNilArguments(t *testing.T) {
	t.Parallel()
	d, _, _ := newTestDispatcher(t, nil)
	_, err := d.CreateHook(ctx, nil)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorIs(t, d.UpdateHook(ctx, nil), webhook.ErrInvalid)
	require.ErrorIs(t, d.EmitVia(ctx, nil, "u", webhook.EventNote, noteBody("x")), webhook.ErrInvalid)

	for name, d := range map[string]*webhook.Dispatcher{"nil": nil, "zero": {}} {
		require.NotPanics(t, func() {
			errs := map[string]error{}
			_, errs["CreateHook"] = d.CreateHook(ctx, &webhook.Webhook{})
			errs["UpdateHook"] = d.UpdateHook(ctx, &webhook.Webhook{ID: "x"})
			_, errs["GetHook"] = d.GetHook(ctx, "x")
			_, errs["ListHooks"] = d.ListHooks(ctx, "u")
			errs["DeleteHook"] = d.DeleteHook(ctx, "x")
			errs["Emit"] = d.Emit(ctx, "u", webhook.EventNote, noteBody("x"))
			errs["EmitSystem"] = d.EmitSystem(ctx, webhook.EventUserCreated, noteBody("x"))
			errs["EmitVia"] = d.EmitVia(ctx, webhook.Outbox(nil), "u", webhook.EventNote, noteBody("x"))
			errs["Start"] = d.Start(ctx)
			errs["Shutdown"] = d.Shutdown(ctx)
			_, errs["Drain"] = d.Drain(ctx)
			_, errs["TestHook"] = d.TestHook(ctx, "x", webhook.EventNote, nil)
			_, errs["ListDeliveries"] = d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: "x"})
			errs["Redeliver"] = d.Redeliver(ctx, [16]byte{})
			_, errs["RecoverFailed"] = d.RecoverFailed(ctx, "x", webhooktest.Epoch, 1)
			for method, err := range errs {
				require.ErrorIs(t, err, webhook.ErrInvalid, "%s %s", name, method)
				require.Contains(t, err.Error(), "webhook.New", "%s %s", name, method)
			}
			d.Notify()
			require.Nil(t, d.Store())
			require.Empty(t, d.Host())
		}, name)
	}
}

// signalHandler is a slog.Handler that sends each message on a channel.
type signalHandler chan string

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h signalHandler) WithGroup(string) slog.Handler            { return h }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Level.String() + " " + r.Message:
	default: // nobody waits for it
	}
	return nil
}

// TestStartContextEndIsLoud: when the context given to Start ended,
// deliveries silently stopped while Emit went on returning nil.
func TestStartContextEndIsLoud(t *testing.T) {
	t.Parallel()
	logs := make(signalHandler, 16)
	d, _, _ := newTestDispatcher(t, &webhook.Config{Logger: slog.New(logs)})
	webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	startCtx, cancel := context.WithCancel(ctx)
	require.NoError(t, d.Start(startCtx))
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("before")))
	cancel()
	err := d.Emit(ctx, "u", webhook.EventNote, noteBody("after"))
	require.ErrorIs(t, err, webhook.ErrClosed)
	require.Contains(t, err.Error(), "context given to Start ended")
	_, err = d.Drain(ctx)
	require.ErrorIs(t, err, webhook.ErrClosed)
	require.ErrorIs(t, d.Start(ctx), webhook.ErrClosed)
	// The workers say why they stopped.
	for msg := range logs {
		if strings.HasPrefix(msg, "WARN webhook: the context given to Start ended") {
			break
		}
	}
	err = d.Shutdown(ctx)
	require.ErrorIs(t, err, webhook.ErrUndelivered, "the delivery emitted before is left in the memory store")
	require.NotErrorIs(t, err, context.Canceled, "Shutdown's own context did not end")
}
