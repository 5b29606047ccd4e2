// Package webui is an embeddable web page for fedihook's webhooks: the
// screens a server's users manage their webhooks with, and its operators
// watch the queue with. It is one [http.Handler], rendered on the server
// with html/template, that works without JavaScript and needs no asset
// build step.
//
// # Mounting
//
// The host says who a request comes from (a [UserFunc] reading its own
// session) and where the pages live:
//
//	ui, err := webui.New(dispatcher, func(r *http.Request) (webui.User, bool) {
//		s, ok := sessions.Get(r) // the host's own sign-in
//		return webui.User{ID: s.UserID, Operator: s.IsModerator}, ok
//	}, &webui.Config{Prefix: "/settings/webhooks", LoginURL: "/login"})
//	mux.Handle("/settings/webhooks/", ui)
//
// # What a user sees
//
// Their webhooks with whether each is active, its latest answer and since
// when it has been failing; forms to create (the signing secret is shown
// once, then only on an explicit "Reveal secrets"), edit, rotate the
// signing secret (the former one keeps signing for
// Config.RotationOverlap) and delete (after a page that asks); "Send test"
// with the receiver's answer; a chart of the last 24 hours' deliveries;
// the delivery log, filtered by state and paged, with each delivery's
// attempts and a Redeliver button; and "Recover failed" for the
// deliveries that gave up. Operators also get the system webhooks, on the
// same screens, and the queue's health: pending deliveries, how late the
// oldest due one is, and the failing webhooks.
//
// # Safety
//
// Every state-changing form carries an anti-forgery token tied to a
// cookie and to the user, and passes [http.CrossOriginProtection]. Pages
// are sent with a Content-Security-Policy that allows no script, no
// inline style and no framing, and with Cache-Control: no-store. A user
// asking for another user's webhook or delivery gets "not found", never
// "forbidden". Errors are shown as sentences, in English or, when the
// browser prefers it, Japanese.
//
// The log, the chart, Redeliver and the queue's health need a store that
// keeps history ([webhook.History], [webhook.Redeliverer],
// [webhook.StatsReporter]: the memory store, sqlitestore and pgstore do);
// with another, the page says what it cannot show.
package webui
