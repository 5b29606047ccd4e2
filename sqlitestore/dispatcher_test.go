package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
	"github.com/fedihook/webhook/webhooktest"
)

// TestDispatcherOutbox emits through the Dispatcher inside the
// application's own transactions: an Emit whose transaction rolls back is
// never delivered, one whose transaction commits is, also by a Dispatcher
// started after a restart.
func TestDispatcherOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	db := openDB(t, path)
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
	store2 := openStore(t, path, nil)
	d2, tr2 := newDispatcher(store2)
	require.Equal(t, 1, webhooktest.Flush(t, d2))
	tr2.RequireReceived(t, hook.ID, webhook.EventNote, body)
	require.Zero(t, webhooktest.Flush(t, d))
	h, err := store2.GetHook(ctx, hook.ID)
	require.NoError(t, err)
	require.NotNil(t, h.LatestStatus)
	require.Equal(t, 204, *h.LatestStatus)
}
