package webhook_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// countingOutbox is an Outbox over a store that counts how it was
// written to.
type countingOutbox struct {
	webhook.Store
	enqueues, events int
}

func (o *countingOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	o.enqueues++
	return o.Store.Enqueue(ctx, ds)
}

// eventOutbox is a countingOutbox that also takes events whole, as a
// wrapper of an EventEnqueuer forwards them.
type eventOutbox struct{ *countingOutbox }

func (o eventOutbox) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	o.events++
	return o.Store.(webhook.EventEnqueuer).EnqueueEvent(ctx, em)
}

// TestEmitUsesEventEnqueuer checks that Emit hands an event whole to any
// Outbox that takes it so, not only to the MemoryStore, and builds a
// Delivery per webhook for the others; both give the same deliveries.
func TestEmitUsesEventEnqueuer(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{false, true} {
		d, tr, _ := newTestDispatcher(t, nil)
		a := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
		b := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
		co := &countingOutbox{Store: d.Store()}
		var o webhook.Outbox = co
		if whole {
			o = eventOutbox{co}
		}
		require.NoError(t, d.EmitVia(ctx, o, "alice", webhook.EventNote, noteBody("hi")))
		if whole {
			require.Equal(t, [2]int{0, 1}, [2]int{co.enqueues, co.events}, "EnqueueEvent, once")
		} else {
			require.Equal(t, [2]int{1, 0}, [2]int{co.enqueues, co.events}, "Enqueue, once")
		}
		require.Equal(t, 2, webhooktest.Flush(t, d))
		ra := tr.RequireReceived(t, a.ID, webhook.EventNote, noteBody("hi"))
		rb := tr.RequireReceived(t, b.ID, webhook.EventNote, noteBody("hi"))
		require.NotEqual(t, ra.Payload.EventID, rb.Payload.EventID, "each webhook its own eventId")
		require.Equal(t, ra.Payload.CreatedAt, rb.Payload.CreatedAt)
	}
}
