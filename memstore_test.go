package webhook_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/storetest"
	"github.com/fedihook/webhook/webhooktest"
)

func newMemoryStore(t *testing.T) webhook.Store {
	s, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	return s
}

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newMemoryStore)
	storetest.RunOperations(t, newMemoryStore)
}

func TestMemoryStoreCapacity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := webhook.NewMemoryStore(&webhook.MemoryStoreConfig{Capacity: 3})
	require.NoError(t, err)
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: webhooktest.NewTransport()})
	require.NoError(t, err)
	defer d.Shutdown(ctx)
	for range 2 {
		webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	}
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, map[string]any{}))
	err = d.Emit(ctx, "u", webhook.EventNote, map[string]any{})
	require.ErrorIs(t, err, webhook.ErrQueueFull, "2 pending + 2 more would pass 3")
	st, err := s.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), st.Pending, "the refused Emit enqueued nothing")
	n, err := d.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, map[string]any{}), "room again once delivered")
	_, err = webhook.NewMemoryStore(&webhook.MemoryStoreConfig{Capacity: -1})
	require.ErrorIs(t, err, webhook.ErrInvalid)
}

func TestMemoryStoreHistoryBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := webhook.NewMemoryStore(&webhook.MemoryStoreConfig{History: 3})
	require.NoError(t, err)
	d2, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: webhooktest.NewTransport()})
	require.NoError(t, err)
	defer d2.Shutdown(ctx)
	webhooktest.CreateHook(t, d2, "u", webhook.EventNote)
	for i := range 5 {
		require.NoError(t, d2.Emit(ctx, "u", webhook.EventNote, map[string]int{"n": i}))
		_, err := d2.Drain(ctx)
		require.NoError(t, err)
	}
	hooks, err := d2.ListHooks(ctx, "u")
	require.NoError(t, err)
	page, err := d2.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hooks[0].ID})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 3, "only the newest History finished deliveries are kept")
	oldest := page.Deliveries[2]
	require.NoError(t, d2.Redeliver(ctx, oldest.ID))
	page, err = d2.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hooks[0].ID, State: webhook.StateDelivered})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 2, "a redelivered one leaves the history")
	_, err = d2.Drain(ctx)
	require.NoError(t, err)
	page, err = d2.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hooks[0].ID})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 3, "and comes back once finished again")
	require.Contains(t, []uuid.UUID{page.Deliveries[0].ID, page.Deliveries[1].ID, page.Deliveries[2].ID}, oldest.ID)
}
