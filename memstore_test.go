package webhook_test

import (
	"context"
	"testing"

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
