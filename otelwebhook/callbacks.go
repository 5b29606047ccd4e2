package otelwebhook

import (
	"context"

	"github.com/fedihook/webhook"
)

// OnAttempt records an attempt in webhook.attempts and, when the delivery
// is finished, in webhook.deliveries. Put it in [webhook.Config.OnAttempt]
// (see the package documentation to call a callback of your own too).
func (in *Instrumentation) OnAttempt(r webhook.AttemptReport) {
	var typ webhook.Event
	if r.Delivery != nil {
		typ = r.Delivery.Type
	}
	ctx := context.Background()
	switch r.State {
	case webhook.StateDelivered:
		in.attempts.Add(ctx, 1, in.attrs(typ, outcomeDelivered))
		in.deliveries.Add(ctx, 1, in.attrs(typ, outcomeDelivered))
	case webhook.StateFailed:
		in.attempts.Add(ctx, 1, in.attrs(typ, outcomeFailed))
		in.deliveries.Add(ctx, 1, in.attrs(typ, outcomeGaveUp))
	default:
		in.attempts.Add(ctx, 1, in.attrs(typ, outcomeRetry))
	}
}

// OnDisable counts a webhook the Dispatcher set inactive in
// webhook.disabled. Put it in [webhook.Config.OnDisable].
func (in *Instrumentation) OnDisable(w *webhook.Webhook, reason error) {
	in.disabled.Add(context.Background(), 1)
}
