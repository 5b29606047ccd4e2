// Package sqlitestore is a durable [webhook.Store] in a SQLite database:
// webhooks and their queued deliveries survive a restart, and several
// Dispatchers (in one process or several on one machine) can share the
// database file without delivering an attempt twice.
//
// It works over any database/sql SQLite driver and imports none: the
// application chooses pure Go (modernc.org/sqlite, or
// github.com/ncruces/go-sqlite3, which runs SQLite in wazero and is
// GoToSocial's default) or cgo (github.com/mattn/go-sqlite3), opens the
// *sql.DB, and hands it to [New]. The Store never closes it. Its tests
// run on both pure-Go drivers. SQLite 3.35 or newer is required (RETURNING,
// UPDATE ... FROM).
//
//	db, err := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
//	...
//	store, err := sqlitestore.New(db, nil)
//	...
//	if err := store.Migrate(ctx); err != nil { ... }
//	d, err := webhook.New(store, &webhook.Config{Host: "example.tld"})
//
// # Opening the database
//
// Open the database with these settings; the Store does not change them,
// as they belong to the application's connections:
//
//   - journal_mode=WAL: readers never wait for the writer, and a commit
//     is one append to the log. (It is stored in the file: setting it
//     once is enough, but it does no harm on every connection.)
//   - synchronous=FULL for durable commits: each commit is on disk when
//     it returns, so not even a power cut loses an enqueued delivery or
//     repeats a settled one. synchronous=NORMAL is faster and still safe
//     against a crash of the process (the data is in the OS's cache) and
//     never corrupts the database, but a power cut or OS crash can lose
//     the last commits before a checkpoint.
//   - busy_timeout, say 10000 (ms): how long a connection waits for the
//     write lock held by another connection or process. Without it,
//     concurrent writers fail at once with SQLITE_BUSY.
//   - _txlock=immediate: transactions begun with db.BeginTx take the
//     write lock at BEGIN (waiting up to busy_timeout), so that a
//     transaction that reads and then writes, such as an Emit through
//     [Store.InTx], cannot fail with SQLITE_BUSY part-way. The Store's own
//     transactions take the write lock first thing, whatever the DSN says.
//   - temp_store=MEMORY: the Store writes some of the writes it groups
//     (those of [Store.Tx], and all of them after one failed) in a
//     savepoint, whose undo log SQLite otherwise spills to a temporary
//     file once it outgrows 64 KiB: a write system call per page.
//   - foreign_keys is not needed: the schema declares no foreign keys.
//
// For modernc.org/sqlite (driver name "sqlite") and
// github.com/ncruces/go-sqlite3/driver (driver name "sqlite3", with its
// embed package imported for the SQLite build):
//
//	file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate
//
// For github.com/mattn/go-sqlite3 (driver name "sqlite3"; recent
// modernc.org/sqlite versions accept this form too):
//
//	file:app.db?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate
//
// A pool of a few connections is plenty: the Store's writes go through
// one transaction at a time (see below), and readers never wait in WAL
// mode. While writes keep coming, the Store keeps one connection of the
// pool for them, so that its page cache stays warm (SQLite empties a
// connection's cache when another connection has committed since); it
// gives it back when no write is waiting. db.SetMaxOpenConns(1) works
// too. Do not use ":memory:" databases
// with a pool (each connection gets its own database); use a file.
//
// # Grouped writes
//
// SQLite has one writer at a time, and with synchronous=FULL each commit
// waits for the disk. So the Store groups its writes: one goroutine runs
// the Store's write transactions one after the other, while writes keep
// coming; the writes that queue while one runs join it before its commit
// if they are the Store's own, else run in the next, and each still
// succeeds or fails alone. Concurrent Enqueues are merged into one multi-row
// INSERT and concurrent Settles into one UPDATE. One fsync then commits
// the Settles of many workers and the Emits of many requests. Hot
// statements stay prepared. The Store's own writes run one after the
// other without savepoints (a savepoint copies every page its write
// touches); should one fail, which is rare (an Enqueue for a webhook
// deleted meanwhile, a taken ID), the transaction is rolled back and the
// batch runs again, each write in a savepoint of its own. The
// application's function given to [Store.Tx] always runs in a savepoint,
// after the Store's writes, and so only once.
//
// Emit finds its webhooks in memory: the Store keeps the webhooks it has
// read, and trusts them as long as a change counter in the database
// (bumped by triggers on every change to a webhook that matching or
// sending uses, whoever makes it) has not moved. Emit does not read the
// counter first ([Store.MatchHooksCached]): the grouped transaction that
// enqueues its deliveries reads it, under the write lock, and refuses an
// Emit whose webhooks it has made stale, which then matches again from
// the database. An Emit that finds no webhook in memory reads the counter
// before it trusts that (concurrent ones share one read). Either way, a
// change committed in any process is seen by the next Emit that starts
// after it.
//
// Writes of other processes, and of the application's own transactions,
// wait for the write lock in SQLite's busy handler, which sleeps (1, 2,
// 5, 10 ms and more) between tries: under load, many small transactions
// of the application beside the Store's are slow. [Store.Tx] avoids that
// for transactions that emit.
//
// # Schema and migrations
//
// [Store.Migrate] creates the tables, or upgrades them, from versioned
// migrations shipped inside the package, and records each version applied
// in webhook_migrations; running it again is a no-op. Every table's name
// starts with webhook_, so the store can live in the application's own
// database, which the transactional outbox requires. Times are stored as
// INTEGER unix nanoseconds. Version 7 rebuilds webhook_deliveries (see
// eventIds below) within Migrate's transaction: about 6 s per million
// deliveries on a 2-core machine, during which other writers wait, and
// the file needs room for a second copy of that table meanwhile.
//
//   - webhook_hooks: one row per webhook, On as a comma-separated list.
//   - webhook_hook_events: (user_id, event, hook_pk) for every active
//     webhook and each event it subscribes to, the primary key of a
//     WITHOUT ROWID table: [Store.MatchHooks] reads one short range of it,
//     whatever the number of webhooks.
//   - webhook_payloads: bodies, stored once per Emit however many
//     webhooks it fans out to (deliveries sharing their Body bytes share a
//     row), and kept apart so that claiming and settling rewrite small
//     rows only. Each counts the deliveries that use it, so that deleting
//     deliveries finds the payloads left unused without an index of
//     deliveries by payload.
//   - webhook_hook_version: the change counter of the webhooks.
//   - webhook_deliveries: one row per delivery, with a partial index on
//     (run_at, due_at) of the pending ones, from which Claim takes the
//     head, a partial index on (hook_pk, created_at, id) that lists a
//     webhook's deliveries newest first, and a partial index of the
//     pending deliveries of ordered webhooks by (hook_pk, pk), their
//     order. A delivery is enqueued unlisted, outside the listing index,
//     and the Store lists the unlisted ones in bulk, about a thousand at
//     a time, so that a busy webhook's page of that index is written
//     once for many of its deliveries rather than once for nearly each;
//     the unlisted ones have the highest pks, above the mark kept in
//     webhook_listed, and [Store.ListDeliveries] reads them from there.
//     A unique index on coalesce(seq, id) finds a delivery by its
//     eventId (see below).
//   - webhook_event_ids: the database's eventId key, and how many Stores
//     have taken a range of eventIds.
//   - webhook_attempts: every attempt, with the first
//     [webhook.MaxResponseRecord] bytes of the response, for
//     [Store.ListAttempts].
//
// # eventIds
//
// Misskey's eventIds are random version 4 UUIDs, and a unique index on
// random keys puts each new delivery at a random page of it; SQLite's log
// holds every page a commit changes whole, so that index was about half
// of what each commit wrote. The Store therefore makes the eventIds of
// what it enqueues ([Store.MintEventIDs], which Emit calls): each is a
// sequence number run through a permutation of the 122 free bits of a
// version 4 UUID, keyed by a secret that the first Migrate stores in the
// database (32 bytes from crypto/rand). Receivers see version 4 UUIDs
// that nobody without the key can tell from random ones; the Store keeps
// the number in the delivery's seq column, and its index entries go at
// the end of a range. Each Migrate takes its Store the next range (2^40
// eventIds), so that Stores over one database, in one process or
// several, never mint the same one. An eventId the Store did not make (a
// delivery of an older release, one enqueued with the caller's own
// IDs, or minted by a Store that never ran Migrate, which mints random
// ones) has no seq and is indexed by its bytes, as before: every lookup
// by eventId finds both kinds. The key must stay with the deliveries and
// never change: the Store finds a delivery it minted, to settle it as
// well as to show it, only through the key. A copy of the whole database
// keeps both; do not move deliveries to another database without it.
//
// Besides [webhook.Store], the Store implements the operators'
// interfaces [webhook.History], [webhook.Redeliverer] and
// [webhook.StatsReporter].
//
// # Claiming and leases
//
// [Store.Claim] is one UPDATE ... RETURNING statement, which SQLite runs
// under the database's write lock, so two claims never take the same
// delivery, from any connection or process. A claimed delivery's run_at
// becomes its lease's expiry: if the worker dies, the delivery is
// claimable again from then on, with a new lease. Settling with the old
// lease then fails with an error wrapping [webhook.ErrLeaseLost].
//
// Of an ordered webhook ([webhook.Webhook.Ordered]), only the head, its
// earliest-enqueued pending delivery, is in the claim index: the others
// wait "held", with a run_at no time reaches, until the head is delivered
// or fails and the settling transaction makes the next one the head. So
// the claim statement is the same for ordered and unordered webhooks, and
// costs the same; a head waiting for its retry, or leased, holds back its
// webhook alone. A redelivered finished delivery of an ordered webhook
// takes a new pk, the highest, and so goes to the end of its webhook's
// order; a redelivered pending one keeps its place.
//
// The Store is also a [webhook.EnqueueClaimer]: while a Dispatcher's
// workers have room and nothing older is due, its Emit inserts the
// deliveries it can take already leased to it (lease 1, run_at the
// lease's expiry, as a first claim would leave them), in the enqueue's
// own statement and so in the grouped transaction that commits it, and
// hands them to its workers: no claim, and no commit of their own. Only
// then does the transaction read the webhooks' failing streaks, from the
// in-memory webhooks after one read of the change counter.
//
// The Store is a [webhook.Notifier]: a Dispatcher over it is woken as soon
// as a transaction of the Store's that enqueued deliveries left to claim
// commits, whether through [Store.Enqueue] or [Store.Tx], and whichever
// Dispatcher of the process made it; deliveries claimed as they were
// enqueued wake nobody. SQLite has no way to tell another process, so Dispatchers in
// other processes find those deliveries when they poll, and so do they
// the deliveries of a transaction begun by the application ([Store.InTx]):
// call the Dispatcher's Notify after committing it.
//
// # Transactional outbox
//
// [Store.Tx] runs a transaction of the application as one of the Store's
// grouped writes, with an Outbox bound to it: the note and the
// deliveries of its Emit exist if and only if fn returns nil.
//
//	err := store.Tx(ctx, func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
//		if _, err := q.ExecContext(ctx, `INSERT INTO notes ...`); err != nil {
//			return err
//		}
//		return dispatcher.EmitVia(ctx, o, note.UserID, webhook.EventNote, body)
//	})
//
// [Store.InTx] binds an Outbox to a *sql.Tx the application began itself,
// for code that already manages its transactions:
//
//	tx, err := db.BeginTx(ctx, nil)
//	...
//	_, err = tx.ExecContext(ctx, `INSERT INTO notes ...`)
//	...
//	err = dispatcher.EmitVia(ctx, store.InTx(tx), note.UserID, webhook.EventNote, body)
//	...
//	err = tx.Commit()
//	...
//	dispatcher.Notify()
//
// Either way, inside the transaction use only the Outbox and the
// transaction: the Store's other methods, and the Dispatcher's Emit,
// write outside it and would wait for it to end.
//
// # Retention
//
// Delivered and failed deliveries are kept, a failed one with its last
// error and its attempts, until [Store.Prune] deletes those whose last
// attempt is older than Config.Retention ([DefaultRetention], 7 days),
// with their attempts and the payloads no other delivery uses. Pending
// deliveries are never pruned. Call Prune periodically from one process.
package sqlitestore
