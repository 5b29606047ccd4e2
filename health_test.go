package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// racingStore lets an owner's update land while the Dispatcher disables a
// webhook: after it read the webhook (GetHook), or just before it writes
// (DisableHook), whichever comes first.
type racingStore struct {
	webhook.Store
	armed  bool
	once   sync.Once
	update func()
}

func (s *racingStore) land() {
	if s.armed {
		s.once.Do(s.update)
	}
}

func (s *racingStore) GetHook(ctx context.Context, id string) (*webhook.Webhook, error) {
	w, err := s.Store.GetHook(ctx, id)
	s.land()
	return w, err
}

func (s *racingStore) DisableHook(ctx context.Context, id, url string, failingBefore time.Time) (*webhook.Webhook, error) {
	s.land()
	return s.Store.DisableHook(ctx, id, url, failingBefore)
}

// TestAutoDisableKeepsOwnersUpdate: auto-disable read the webhook and
// wrote the whole record back, so an owner's update in between (a new
// URL) was undone and the webhook disabled at its old URL.
func TestAutoDisableKeepsOwnersUpdate(t *testing.T) {
	t.Parallel()
	ms, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	s := &racingStore{Store: ms}
	tr, clk := webhooktest.NewTransport(), webhooktest.NewClock(webhooktest.Epoch)
	var disabled []string
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: tr, Clock: clk,
		OnDisable: func(w *webhook.Webhook, _ error) { disabled = append(disabled, w.ID) }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
	h, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote},
		URL: "https://old.example/", Active: true})
	require.NoError(t, err)
	s.update = func() {
		moved := h.Clone()
		moved.URL = "https://new.example/"
		require.NoError(t, ms.UpdateHook(ctx, moved))
	}
	s.armed = true
	tr.Script(h.URL, webhooktest.Reply{Status: 410})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("x")))
	require.Equal(t, 1, webhooktest.Flush(t, d))
	got, err := d.GetHook(ctx, h.ID)
	require.NoError(t, err)
	require.Equal(t, "https://new.example/", got.URL, "the owner's update stands")
	require.True(t, got.Active, "the owner moved the webhook away from the URL that answered 410")
	require.Empty(t, disabled)
}
