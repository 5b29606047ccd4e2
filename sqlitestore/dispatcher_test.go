package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
	"github.com/fedihook/webhook/webhooktest"
)

// TestDispatcherOutbox emits, on each driver, through the Dispatcher
// inside the application's own transactions: an Emit whose transaction rolls back is
// never delivered, one whose transaction commits is, also by a Dispatcher
// started after a restart.
func TestDispatcherOutbox(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driverLabel(driver), func(t *testing.T) {
			t.Parallel()
			testDispatcherOutbox(t, driver)
		})
	}
}

func testDispatcherOutbox(t *testing.T, driver string) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	db := openDBWith(t, driver, path)
	store, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx))
	_, err = db.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, text TEXT NOT NULL)`)
	require.NoError(t, err)

	newDispatcher := func(s webhook.Store) (*webhook.Dispatcher, *webhooktest.Transport) {
		tr := webhooktest.NewTransport()
		d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: tr, Clock: webhooktest.NewClock(webhooktest.Epoch)})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
		return d, tr
	}
	d, tr := newDispatcher(store)
	hook, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "alice", Name: "notes", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/alice", Secret: "s", Active: true})
	require.NoError(t, err)

	// post writes a note and emits its webhook in one transaction.
	post := func(d *webhook.Dispatcher, id string, commit bool) map[string]any {
		body := map[string]any{"note": map[string]any{"id": id, "text": "hello " + id}}
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO notes VALUES (?, 'alice', ?)`, id, "hello "+id)
		require.NoError(t, err)
		require.NoError(t, d.EmitVia(ctx, store.InTx(tx), "alice", webhook.EventNote, body))
		if commit {
			require.NoError(t, tx.Commit())
		} else {
			require.NoError(t, tx.Rollback())
		}
		return body
	}

	post(d, "rolled-back", false)
	require.Zero(t, webhooktest.Flush(t, d))
	tr.RequireNone(t, hook.ID)

	body := post(d, "committed", true)
	require.Equal(t, 1, webhooktest.Flush(t, d))
	got := tr.RequireReceived(t, hook.ID, webhook.EventNote, body)
	require.Equal(t, hook.Secret, got.Header.Get("X-Misskey-Hook-Secret"))

	// A committed Emit not yet delivered survives a restart: a new
	// Store and Dispatcher over a new handle deliver it.
	body = post(d, "before-restart", true)
	store2 := openStoreWith(t, driver, path, nil)
	d2, tr2 := newDispatcher(store2)
	require.Equal(t, 1, webhooktest.Flush(t, d2))
	tr2.RequireReceived(t, hook.ID, webhook.EventNote, body)
	require.Zero(t, webhooktest.Flush(t, d))
	h, err := store2.GetHook(ctx, hook.ID)
	require.NoError(t, err)
	require.NotNil(t, h.LatestStatus)
	require.Equal(t, 204, *h.LatestStatus)

	// The Store minted every eventId, through the outbox as through a
	// plain Emit: version 4 UUIDs, each delivery keeping its sequence
	// number.
	plain := map[string]any{"note": map[string]any{"id": "plain", "text": "hello"}}
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, plain))
	require.Equal(t, 1, webhooktest.Flush(t, d))
	sent := tr.To(hook.ID)
	require.Len(t, sent, 2, "committed, then plain")
	for _, r := range sent {
		id, err := uuid.Parse(r.Payload.EventID)
		require.NoError(t, err)
		require.EqualValues(t, 4, id.Version())
	}
	var rows, minted int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*), count(seq) FROM webhook_deliveries`).Scan(&rows, &minted))
	require.Equal(t, 3, rows)
	require.Equal(t, rows, minted)
}

// TestDispatcherListen: a started Dispatcher over the Store is woken by
// the commit of a Store.Tx that emitted, with no Notify and no poll (its
// clock never moves), and Shutdown with a context that never ends
// returns once the workers are idle, ending the Store's Listen.
func TestDispatcherListen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := newStore(t, nil)
	tr := webhooktest.NewTransport()
	sent := make(chan webhooktest.Received, 1)
	tr.OnSend(func(r webhooktest.Received) { sent <- r })
	const poll = 7 * time.Minute
	clock := webhooktest.NewClock(webhooktest.Epoch)
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr, Clock: clock, PollInterval: poll})
	require.NoError(t, err)
	hook, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "alice", Name: "notes", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/alice", Secret: "s", Active: true})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	// The Dispatcher found nothing and waits for its poll timer; its clock
	// never moves.
	require.NoError(t, clock.WaitForTimers(ctx, 1))

	body := map[string]any{"note": map[string]any{"id": "n1"}}
	require.NoError(t, store.Tx(ctx, func(_ sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
		return d.EmitVia(ctx, o, "alice", webhook.EventNote, body)
	}))
	select {
	case r := <-sent:
		require.Equal(t, hook.URL, r.URL)
	case <-time.After(30 * time.Second): // a bound on failure, not a wait for success
		t.Fatal("the commit of Tx did not wake the Dispatcher")
	}

	done := make(chan error, 1)
	go func() { done <- d.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown(context.Background()) did not return: the Store's Listen was not ended")
	}
}

// TestOneConnection: over a pool of one connection, which the Store's
// writes keep while they flow, concurrent Emits, reads and a started
// Dispatcher's claims and settles all complete: the writing connection is
// given back whenever no write waits.
func TestOneConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "one.db"))
	db.SetMaxOpenConns(1)
	store, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx))
	tr := webhooktest.NewTransport()
	var delivered sync.WaitGroup
	const emitters, perEmitter = 8, 25
	delivered.Add(emitters * perEmitter)
	tr.OnSend(func(webhooktest.Received) { delivered.Done() })
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr, Workers: 4})
	require.NoError(t, err)
	hook, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "alice", Name: "notes", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/alice", Secret: "s", Active: true})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	defer func() { require.NoError(t, d.Shutdown(ctx)) }()

	var wg sync.WaitGroup
	errs := make(chan error, emitters)
	for e := range emitters {
		wg.Go(func() {
			for i := range perEmitter {
				body := map[string]any{"note": map[string]any{"id": fmt.Sprintf("n%d-%d", e, i)}}
				if err := d.Emit(ctx, "alice", webhook.EventNote, body); err != nil {
					errs <- err
					return
				}
				if _, err := store.GetHook(ctx, hook.ID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	delivered.Wait() // the test's deadline bounds a deadlock
	page, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hook.ID, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 1)
}
