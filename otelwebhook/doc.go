// Package otelwebhook reports what a [webhook.Dispatcher] does as
// OpenTelemetry metrics and traces: one span and one latency measurement
// per attempt, counters of attempts, finished deliveries and disabled
// webhooks, and the queue's depth and lag as observable gauges.
//
// It is its own Go module, so that the webhook module does not depend on
// OpenTelemetry. It registers nothing global and starts no goroutine: it
// uses the MeterProvider and TracerProvider of its [Config] (the otel
// globals when they are nil) and hooks into a Dispatcher through the
// Dispatcher's Config:
//
//	inst, err := otelwebhook.New(&otelwebhook.Config{
//		MeterProvider:  mp,
//		TracerProvider: tp,
//	})
//	if err != nil { ... }
//	tr, err := webhook.NewHTTPTransport(nil)
//	if err != nil { ... }
//	d, err := webhook.New(store, &webhook.Config{
//		Host:      "example.tld",
//		Transport: inst.Transport(tr),
//		OnAttempt: inst.OnAttempt,
//		OnDisable: inst.OnDisable,
//	})
//	if err != nil { ... }
//	unregister, err := inst.ObserveQueue(store) // a webhook.StatsReporter
//	if err != nil { ... }
//	defer unregister()
//
// A host that has callbacks of its own calls both from one function:
//
//	OnAttempt: func(r webhook.AttemptReport) {
//		inst.OnAttempt(r)
//		myOnAttempt(r)
//	},
//
// # Metrics
//
// The instruments belong to the meter named
// "github.com/fedihook/webhook/otelwebhook" ([ScopeName]). No metric
// carries a webhook's ID or URL, whose number has no bound; event types
// are Misskey's few.
//
//   - webhook.attempts (counter, {attempt}): attempts made, recorded by
//     [Instrumentation.OnAttempt]. Attributes: webhook.event.type, and
//     webhook.outcome: "delivered" (a 2xx answer), "retry" (failed, another
//     attempt is scheduled) or "failed" (failed, no attempt will follow).
//   - webhook.deliveries (counter, {delivery}): deliveries finished, by
//     their final outcome, recorded by [Instrumentation.OnAttempt].
//     Attributes: webhook.event.type, and webhook.outcome: "delivered" or
//     "gave_up".
//   - webhook.attempt.duration (histogram, s): how long each attempt took,
//     from the request to the response or error, recorded by
//     [Instrumentation.Transport] (test sends of
//     [webhook.Dispatcher.TestHook] included). Attributes: webhook.event.type, and
//     webhook.outcome as [webhook.Classify] judges the attempt alone:
//     "delivered", "retry" (a failure that may pass) or "failed" (a final
//     one). The Transport cannot know whether the retry policy has an
//     attempt left, so the last attempt of a delivery that gives up after
//     a 503 is "retry" here and "failed" in webhook.attempts. An attempt
//     interrupted by the Dispatcher's Shutdown is not recorded, as the
//     Dispatcher does not count it either.
//   - webhook.disabled (counter, {webhook}): webhooks the Dispatcher set
//     inactive, recorded by [Instrumentation.OnDisable]. No attributes.
//   - webhook.queue.depth (gauge, {delivery}): deliveries pending in the
//     store, in flight included, observed by [Instrumentation.ObserveQueue].
//   - webhook.queue.oldest_due_age (gauge, s): how long the earliest due
//     pending delivery has been due; 0 when the queue is empty or nothing
//     is due yet. Observed by [Instrumentation.ObserveQueue].
//
// # Traces
//
// [Instrumentation.Transport] starts one span per attempt, test sends
// included, as a child of the context the Dispatcher passes (so spans a
// wrapped Transport starts are its children). Its name is
// "webhook.deliver", its kind client, and its attributes:
//
//   - webhook.hook.id: the webhook's ID.
//   - webhook.event.type: the event type, such as "note".
//   - webhook.event.id: the delivery's eventId.
//   - webhook.attempt: the attempt's number, from 1; 0 for a test send.
//   - http.request.method: "POST".
//   - server.address and server.port: the host and port of the webhook's
//     URL. Nothing else of the URL is recorded: its path and query may
//     hold a token.
//   - http.response.status_code: the receiver's status, when it answered.
//   - error.type: when the attempt failed, the status code ("503"), or for
//     an attempt without a response one of "timeout", "canceled", "dns",
//     "tls", "connection", "blocked_address", "permanent" or "_OTHER".
//
// The span's status is Error when there was no response, or when
// [webhook.Classify] does not call the status delivered; its description
// is "HTTP 503" or "no response: timeout". The error's message is not
// recorded, since a Transport's error may quote the URL, and no header is
// recorded, since the request's headers carry the webhook's secret.
//
// The trace context is not sent to the receiver: Misskey's receivers do
// not expect it.
package otelwebhook
