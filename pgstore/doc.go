// Package pgstore is a durable [webhook.Store] on PostgreSQL, through
// [github.com/jackc/pgx/v5]. Several Dispatchers, in one process or many,
// can share one database: they split the deliveries between them, and no
// attempt is made twice while its lease holds.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	store, err := pgstore.New(pool, nil)
//	...
//	if err := store.Migrate(ctx); err != nil { ... }
//	d, err := webhook.New(store, &webhook.Config{Host: "example.tld"})
//
// # Schema and migrations
//
// The store keeps its data in tables whose names start with "fedihook_",
// in [Config.Schema] (which Migrate creates if needed) or, by default, in
// the first schema of the connection's search_path. They are laid out for
// throughput: fedihook_events holds each event's body once, shared by its
// deliveries; fedihook_queue holds one narrow row a pending delivery,
// what claiming needs, under two indexes; fedihook_deliveries is one row
// a delivery, appended at enqueue and written once more when it finishes
// (listing, history, redelivery); fedihook_attempts keeps the attempts
// before the final one; fedihook_hook_status each webhook's latest
// attempt and failing streak; fedihook_hooks the webhooks, and
// fedihook_schema_migrations the applied migrations. The queue is
// indexed by when each row can next be claimed (the later of its due time
// and its lease), so a claim starts at the first row it can take rather
// than stepping over the deliveries in flight; a finished delivery's
// queue row is deleted.
//
// The queue's statements are planned as the key lookups they are
// (sequential scans, and for a claim hash and merge joins, are off for
// their transactions, and so is JIT): those tables change by thousands of
// rows a second, faster than PostgreSQL's statistics follow, and a
// connection keeps the plan it made for a prepared statement while a
// table was small.
//
// [Store.Migrate] creates and upgrades the tables with the versioned
// migrations shipped in this module, in one transaction: an upgrade keeps
// every webhook, every pending delivery (its lease, attempts and due
// time) and all history. It is idempotent, and safe when several
// processes run it at once (they serialise on a transaction-level
// advisory lock). Call it at start-up, before the Dispatcher starts, and
// stop the processes of an older version first: they do not know the new
// tables. The store needs PostgreSQL 11 or later, and is tested on 15.
//
// # Sharing the work
//
// [Store.Claim] leases due deliveries in one statement, using
// FOR UPDATE SKIP LOCKED so that concurrent claimers never wait for each
// other nor take the same row. A lease expires: deliveries claimed by a
// process that died are claimed again once it has. A claim's commit does
// not wait for the disk (synchronous_commit is off for it alone): a claim
// lost in a crash of the server only frees its delivery sooner, while
// every enqueue and settle is durable. [Store.Settle] applies
// a whole batch of results in one statement; a result whose lease has been
// taken over by another claim is refused with [webhook.ErrLeaseLost].
//
// Of an Ordered webhook, only the earliest enqueued pending delivery is
// ever claimable, so its deliveries go out one at a time, in emit order,
// whichever process claims them.
//
// # Push, and the webhooks in memory
//
// [Store] is a [webhook.Notifier]: Enqueue sends a NOTIFY on the store's
// channel in the same transaction as its insert, and [Store.Listen] waits
// for it on one connection of the pool, so that an idle Dispatcher in
// another process starts a delivery within milliseconds of the Emit. A
// rolled-back transaction notifies nobody.
//
// Every change of a webhook notifies the channel too. While Listen is
// connected, [Store.MatchHooks] answers Emit from an in-process view of
// each user's active webhooks, which those notifications keep current
// across processes: Emit costs no round trip to find webhooks (none at
// all for a user who has none). A change is seen by the next Emit once
// its notification has arrived (milliseconds after its commit); a change
// made through this Store, at once. Every claim and enqueue also reads a
// counter of the webhooks' changes, so that a notification missed for
// any reason empties the view. Without a listener, MatchHooks reads the
// database.
//
// # Transactional outbox
//
// [Store.InTx] binds the store to the caller's pgx transaction, and
// [Store.InSQLTx] to a database/sql transaction on pgx's stdlib driver
// (github.com/jackc/pgx/v5/stdlib, as bun, sqlx and GoToSocial use):
// emitting through either (with [webhook.Dispatcher.EmitVia]) enqueues
// the deliveries in that transaction, so they exist if and only if it
// commits.
//
// # Operations
//
// Besides [webhook.Store] and [webhook.Notifier], a Store is a
// [webhook.History] (a webhook's deliveries, newest first, and each
// delivery's attempts with the start of the receiver's answer), a
// [webhook.Redeliverer] and a [webhook.StatsReporter].
//
// # Retention
//
// Delivered and failed deliveries stay in the table, with their last
// status and error and their attempts, so an operator can inspect and
// redeliver them; [Store.Prune] removes the ones created and finished
// more than [Config.Retention] ago, with their attempts and, with the
// last of them, their event's body. A started Dispatcher calls it every
// Config.PruneInterval.
//
// # Batching
//
// Concurrent Enqueue calls, and concurrent Settle calls, are merged into
// one statement each while an earlier one runs, so that many Emits share
// one round trip and one commit. No goroutine does this: the first caller
// runs the batch. A Store is also a [webhook.SettleClaimer]: a started
// Dispatcher settles its workers' results in batches through
// [Store.SettleAndClaim], which claims the next deliveries in the same
// round trip and transaction. It is also a [webhook.EnqueueClaimer]: while
// the Dispatcher's workers have room and nothing older is due, an Emit's
// deliveries are inserted already leased to this process, in the
// enqueue's statement, and go straight to its workers, with no claim and
// no notification of their own.
//
// # Pools
//
// The store never closes the pool it was given. [Store.Listen] holds one
// of the pool's connections while it runs, so size the pool for it.
package pgstore
