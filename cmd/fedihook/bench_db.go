package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/ncruces/go-sqlite3/driver" // SQLite in WebAssembly, run by wazero: "sqlite3"
	_ "github.com/ncruces/go-sqlite3/embed"  // its SQLite build
	_ "modernc.org/sqlite"                   // SQLite translated to Go: "sqlite"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/pgstore"
	"github.com/fedihook/webhook/sqlitestore"
)

// This file opens the durable stores for bench, and measures the
// database ceilings: the same schema operations as the stores' (insert
// the deliveries, claim them, settle them, each in a transaction of its
// own, in batches), written directly against the stores' own tables.

// sqliteDSN returns the DSN of a bench database at path, in WAL mode
// with the given synchronous setting, as sqlitestore's documentation
// asks.
func sqliteDSN(path, synchronous string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" +
		synchronous + ")&_pragma=temp_store(MEMORY)&_txlock=immediate"
}

// openSQLite opens and migrates a new SQLite database in a temporary
// directory; cleanup closes it and removes the directory.
func openSQLite(ctx context.Context, spec *runSpec) (*sql.DB, *sqlitestore.Store, func(), error) {
	dir, err := os.MkdirTemp("", "fedihook-bench-sqlite-")
	if err != nil {
		return nil, nil, nil, err
	}
	driver := "sqlite" // modernc.org/sqlite
	if spec.SQLiteDriver == "ncruces" {
		driver = "sqlite3" // github.com/ncruces/go-sqlite3/driver
	}
	db, err := sql.Open(driver, sqliteDSN(filepath.Join(dir, "bench.db"), spec.SQLiteSync))
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	cleanup := func() {
		db.Close()
		os.RemoveAll(dir)
	}
	db.SetMaxOpenConns(spec.SQLiteConns)
	db.SetMaxIdleConns(spec.SQLiteConns)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		cleanup()
		return nil, nil, nil, fmt.Errorf("sqlite: journal_mode is %q, not wal: %v", mode, err)
	}
	store, err := sqlitestore.New(db, nil)
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return db, store, cleanup, nil
}

// openSQLiteStore is openSQLite for the sqlite contender.
func openSQLiteStore(ctx context.Context, spec *runSpec) (webhook.Store, func(), error) {
	_, store, cleanup, err := openSQLite(ctx, spec)
	return store, cleanup, err
}

// openPostgres connects to spec.PGDSN with a pool of spec.PGConns
// connections and migrates a store in a new schema of its own; cleanup
// drops the schema and closes the pool.
func openPostgres(ctx context.Context, spec *runSpec) (*pgxpool.Pool, *pgstore.Store, string, func(), error) {
	cfg, err := pgxpool.ParseConfig(spec.PGDSN)
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("postgres: bad DSN: %w", err)
	}
	cfg.MaxConns = int32(spec.PGConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("postgres: %w", err)
	}
	schema := fmt.Sprintf("fedihook_bench_%d", os.Getpid())
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	}
	store, err := pgstore.New(pool, &pgstore.Config{Schema: schema})
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		cleanup()
		return nil, nil, "", nil, err
	}
	return pool, store, schema, cleanup, nil
}

// openPostgresStore is openPostgres for the postgres contender.
func openPostgresStore(ctx context.Context, spec *runSpec) (webhook.Store, func(), error) {
	_, store, _, cleanup, err := openPostgres(ctx, spec)
	return store, cleanup, err
}

// createCeilingHooks creates spec.Hooks webhooks for each bench user in
// store and returns their IDs, user by user.
func createCeilingHooks(ctx context.Context, spec *runSpec, store webhook.HookStore) (ids, owners []string, err error) {
	for u := range benchUsers {
		user := fmt.Sprintf("9k2m4q8z7xu%05d", u)
		for h := range spec.Hooks {
			w := &webhook.Webhook{
				ID: webhook.NewID(time.Now()), UserID: user, Name: fmt.Sprintf("bench %d", h),
				On: []webhook.Event{webhook.EventNote}, URL: spec.URL + "/hook", Secret: benchSecret, Active: true,
			}
			if err := store.CreateHook(ctx, w, 0); err != nil {
				return nil, nil, fmt.Errorf("creating webhooks: %w", err)
			}
			ids, owners = append(ids, w.ID), append(owners, user)
		}
	}
	return ids, owners, nil
}

// ceilingBody returns the event body the ceilings store: the bench note's.
func ceilingBody(spec *runSpec) ([]byte, error) {
	note, err := benchNote(spec.BodySize)
	if err != nil {
		return nil, err
	}
	return webhook.EncodeBody(misskey.NoteBody{Note: note})
}

// ceilingBatch is how many deliveries one ceiling transaction inserts,
// and claims at most: as many as the Dispatcher's workers, whose number
// bounds its claims, and at most 64, within SQLite's limit on a
// statement's parameters.
func ceilingBatch(spec *runSpec) int { return min(spec.Concurrency, 64) }

// runCeiling drives cycle, one insert, claim and settle round, for the
// window, then drains what is left with drainCycle, and measures.
func runCeiling(ctx context.Context, spec *runSpec, workers int, ready func() error,
	cycle func(ctx context.Context, worker int, c *counters), drainCycle func(ctx context.Context, c *counters) (int, error)) (*runResult, error) {
	var c counters
	// Warm-up: one round per worker.
	for w := range workers {
		cycle(ctx, w, &c)
	}
	for range 1000 {
		n, err := drainCycle(ctx, &c)
		if err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if p := c.firstErr.Load(); p != nil {
		return nil, fmt.Errorf("warm-up: %s", *p)
	}
	c.reset()
	if err := ready(); err != nil {
		return nil, err
	}
	m, err := startMeter(spec)
	if err != nil {
		return nil, err
	}
	ws := *spec
	ws.Mode, ws.Concurrency = modeSaturation, workers
	win := drive(ctx, &ws, &c, func(_ context.Context, w int) { cycle(ctx, w, &c) })
	deadline := time.Now().Add(drainTimeout)
	for c.done() < c.emitted.Load() && time.Now().Before(deadline) {
		n, err := drainCycle(ctx, &c)
		if err != nil {
			c.fail(err)
			break
		}
		if n == 0 {
			time.Sleep(time.Millisecond) // rows leased by a cycle still running
		}
	}
	res := result(&c, win)
	if err := m.stop(res); err != nil {
		return nil, err
	}
	return res, nil
}

// runSQLiteCeiling measures SQLite's ceiling for the sqlitestore schema:
// insert a batch of payloads and deliveries, claim a batch, settle it,
// each in a transaction of its own, from one goroutine (SQLite has one
// writer at a time).
func runSQLiteCeiling(ctx context.Context, spec *runSpec, ready func() error) (*runResult, error) {
	db, store, cleanup, err := openSQLite(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if _, _, err := createCeilingHooks(ctx, spec, store); err != nil {
		return nil, err
	}
	body, err := ceilingBody(spec)
	if err != nil {
		return nil, err
	}
	var hookPKs []int64
	rows, err := db.QueryContext(ctx, `SELECT pk FROM webhook_hooks ORDER BY pk`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			rows.Close()
			return nil, err
		}
		hookPKs = append(hookPKs, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	batch := ceilingBatch(spec)
	events := (batch + spec.Hooks - 1) / spec.Hooks
	prep := func(q string) (*sql.Stmt, error) { return db.PrepareContext(ctx, q) }
	insPayloads, err := prep(`INSERT INTO webhook_payloads (body, refs) VALUES ` + placeholders(events, 2, false) + ` RETURNING pk`)
	if err != nil {
		return nil, err
	}
	// As sqlitestore writes them: a random-looking eventId, and an
	// increasing sequence number that webhook_deliveries_id indexes.
	insDeliveries, err := prep(`INSERT INTO webhook_deliveries
		(id, seq, hook_pk, payload_pk, user_id, type, server, created_at, state, due_at, run_at) VALUES ` + placeholders(batch, 11, false))
	if err != nil {
		return nil, err
	}
	claim, err := prep(`UPDATE webhook_deliveries SET lease = abs(lease) + 1, run_at = ?
		WHERE pk IN (SELECT pk FROM webhook_deliveries WHERE state = 1 AND run_at <= ? ORDER BY run_at LIMIT ?)
		RETURNING pk, (SELECT body FROM webhook_payloads p WHERE p.pk = payload_pk)`)
	if err != nil {
		return nil, err
	}
	settle, err := prep(`UPDATE webhook_deliveries SET state = 2, attempts = attempts + 1, lease = -lease,
		last_status = 204, finished_at = ? WHERE pk IN (` + placeholders(batch, 1, true) + `)`)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, st := range []*sql.Stmt{insPayloads, insDeliveries, claim, settle} {
			st.Close()
		}
	}()

	var next atomic.Int64
	insert := func(ctx context.Context) (int, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback() //nolint:errcheck // a no-op after Commit
		args := make([]any, 0, 2*events)
		for range events {
			args = append(args, body, spec.Hooks)
		}
		rows, err := tx.StmtContext(ctx, insPayloads).QueryContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		var payloads []int64
		for rows.Next() {
			var pk int64
			if err := rows.Scan(&pk); err != nil {
				rows.Close()
				return 0, err
			}
			payloads = append(payloads, pk)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		now := time.Now().UnixNano()
		args = make([]any, 0, 11*batch)
		for i := range batch {
			id := uuid.New()
			n := next.Add(1)
			h := int(n) % len(hookPKs)
			args = append(args, id[:], 1<<40|n, hookPKs[h], payloads[i/spec.Hooks], fmt.Sprintf("9k2m4q8z7xu%05d", h/spec.Hooks),
				"note", "https://"+benchHost, now, 1, now, now)
		}
		if _, err := tx.StmtContext(ctx, insDeliveries).ExecContext(ctx, args...); err != nil {
			return 0, err
		}
		return batch, tx.Commit()
	}
	claimSettle := func(ctx context.Context) (int, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback() //nolint:errcheck // a no-op after Commit
		now := time.Now()
		rows, err := tx.StmtContext(ctx, claim).QueryContext(ctx, now.Add(time.Minute).UnixNano(), now.UnixNano(), batch)
		if err != nil {
			return 0, err
		}
		args := make([]any, 1, batch+1)
		for rows.Next() {
			var (
				pk   int64
				body []byte
			)
			if err := rows.Scan(&pk, &body); err != nil {
				rows.Close()
				return 0, err
			}
			args = append(args, pk)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		n := len(args) - 1
		if n == 0 {
			return 0, nil
		}
		args[0] = time.Now().UnixNano()
		for len(args) < batch+1 {
			args = append(args, 0) // no delivery has pk 0
		}
		tx, err = db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback() //nolint:errcheck // a no-op after Commit
		if _, err := tx.StmtContext(ctx, settle).ExecContext(ctx, args...); err != nil {
			return 0, err
		}
		return n, tx.Commit()
	}
	cycle := func(ctx context.Context, _ int, c *counters) {
		n, err := insert(ctx)
		if err != nil {
			c.fail(err)
			return
		}
		c.events.Add(int64(events))
		c.emitted.Add(int64(n))
		if n, err = claimSettle(ctx); err != nil {
			c.fail(err)
			return
		}
		c.delivered.Add(int64(n))
	}
	drainCycle := func(ctx context.Context, c *counters) (int, error) {
		n, err := claimSettle(ctx)
		c.delivered.Add(int64(n))
		return n, err
	}
	return runCeiling(ctx, spec, 1, ready, cycle, drainCycle)
}

// placeholders returns rows rows of cols "?" each: "(?,?),(?,?)", or,
// flat, "?,?,?".
func placeholders(rows, cols int, flat bool) string {
	row := strings.TrimSuffix(strings.Repeat("?,", cols), ",")
	if flat {
		return strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
	}
	return strings.TrimSuffix(strings.Repeat("("+row+"),", rows), ",")
}

// runPostgresCeiling measures PostgreSQL's ceiling for pgstore: the
// store's own statements without HTTP or Dispatcher. spec.Concurrency
// goroutines each enqueue a batch of deliveries (one statement), claim a
// batch (one statement) and settle it as delivered (one statement), each
// statement its own transaction.
func runPostgresCeiling(ctx context.Context, spec *runSpec, ready func() error) (*runResult, error) {
	_, store, _, cleanup, err := openPostgres(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	hookIDs, owners, err := createCeilingHooks(ctx, spec, store)
	if err != nil {
		return nil, err
	}
	body, err := ceilingBody(spec)
	if err != nil {
		return nil, err
	}
	batch := ceilingBatch(spec)
	var next atomic.Int64
	claimSettle := func(ctx context.Context) (int, error) {
		now := time.Now()
		cs, err := store.Claim(ctx, now, batch, time.Minute)
		if err != nil || len(cs) == 0 {
			return 0, err
		}
		at := time.Now()
		rs := make([]webhook.Result, len(cs))
		for i, c := range cs {
			rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
				State: webhook.StateDelivered, Attempt: webhook.Attempt{At: at, Status: 204}}
		}
		return len(rs), store.Settle(ctx, rs)
	}
	cycle := func(ctx context.Context, _ int, c *counters) {
		now := time.Now()
		created := time.UnixMilli(now.UnixMilli())
		ds := make([]*webhook.Delivery, batch)
		for i := range batch {
			h := int(next.Add(1)) % len(hookIDs)
			ds[i] = &webhook.Delivery{ID: uuid.New(), HookID: hookIDs[h], UserID: owners[h], Type: webhook.EventNote,
				Server: "https://" + benchHost, CreatedAt: created, Body: body, State: webhook.StatePending, NextAttemptAt: now}
		}
		if err := store.Enqueue(ctx, ds); err != nil {
			c.fail(err)
			return
		}
		c.events.Add(int64((batch + spec.Hooks - 1) / spec.Hooks))
		c.emitted.Add(int64(batch))
		n, err := claimSettle(ctx)
		if err != nil {
			c.fail(err)
		}
		c.delivered.Add(int64(n))
	}
	drainCycle := func(ctx context.Context, c *counters) (int, error) {
		n, err := claimSettle(ctx)
		c.delivered.Add(int64(n))
		return n, err
	}
	return runCeiling(ctx, spec, spec.Concurrency, ready, cycle, drainCycle)
}
