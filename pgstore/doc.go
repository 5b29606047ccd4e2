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
// the first schema of the connection's search_path: fedihook_hooks (one
// row a webhook), fedihook_deliveries (one row a delivery, pending or
// finished, with its body, state, lease and last attempt),
// fedihook_attempts (one row an attempt, for [Store.ListAttempts]) and
// fedihook_schema_migrations. [Store.Migrate] creates and upgrades them
// with the versioned migrations shipped in this module; it is idempotent,
// and safe when several processes run it at once (they serialise on a
// transaction-level advisory lock). Call it at start-up, before the
// Dispatcher starts. The store needs PostgreSQL 11 or later, and is
// tested on 15.
//
// # Sharing the work
//
// [Store.Claim] leases due deliveries in one statement, using
// FOR UPDATE SKIP LOCKED so that concurrent claimers never wait for each
// other nor take the same row. A lease expires: deliveries claimed by a
// process that died are claimed again once it has. [Store.Settle] applies
// a whole batch of results in one statement; a result whose lease has been
// taken over by another claim is refused with [webhook.ErrLeaseLost].
//
// Of an Ordered webhook, only the earliest enqueued pending delivery is
// ever claimable, so its deliveries go out one at a time, in emit order,
// whichever process claims them.
//
// # Push
//
// [Store] is a [webhook.Notifier]: Enqueue sends a NOTIFY on the store's
// channel in the same transaction as its insert, and [Store.Listen] waits
// for it on one connection of the pool, so that an idle Dispatcher in
// another process starts a delivery within milliseconds of the Emit. A
// rolled-back transaction notifies nobody.
//
// # Transactional outbox
//
// [Store.InTx] binds the store to the caller's pgx transaction: emitting
// through it (with [webhook.Dispatcher.EmitVia]) enqueues the deliveries
// in that transaction, so they exist if and only if it commits.
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
// redeliver them; [Store.Prune] removes the ones finished more than
// [Config.Retention] ago. Call it now and then,
// for instance hourly.
//
// # Batching
//
// Concurrent Enqueue calls, and concurrent Settle calls, are merged into
// one statement each while an earlier one runs, so that many Emits, or a
// Dispatcher's many workers, share one round trip and one commit. No
// goroutine does this: the first caller runs the batch.
//
// # Pools
//
// The store never closes the pool it was given. [Store.Listen] holds one
// of the pool's connections while it runs, so size the pool for it.
package pgstore
