package webhook_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// TestOrderedNextWithoutPoll: once an Ordered webhook's delivery was
// settled, its next one waited for the next poll (a second by default),
// so one webhook got about a delivery per PollInterval. The clock here
// never moves: every delivery must follow the previous one at once.
func TestOrderedNextWithoutPoll(t *testing.T) {
	t.Parallel()
	tr := webhooktest.NewTransport()
	sent := make(chan webhooktest.Received, 100)
	tr.OnSend(func(r webhooktest.Received) { sent <- r })
	clk := webhooktest.NewClock(webhooktest.Epoch)
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, Clock: clk})
	require.NoError(t, err)
	w, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "fifo", On: []webhook.Event{webhook.EventNote},
		URL: "https://fifo.example/", Active: true, Ordered: true})
	require.NoError(t, err)
	const n = 20
	for i := range n {
		require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, map[string]int{"n": i}))
	}
	require.NoError(t, d.Start(ctx))
	for i := range n {
		select {
		case r := <-sent:
			require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(r.Payload.Body))
		case <-time.After(30 * time.Second): // a bound on failure, not a wait for success
			t.Fatalf("delivery %d of %s waited for a poll that never comes", i, w.ID)
		}
	}
	require.NoError(t, d.Shutdown(ctx))
}
