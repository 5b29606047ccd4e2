package pgstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

// A noteTx is the application's transaction: it inserts a note, and
// gives the Outbox that enqueues in it.
type noteTx struct {
	insert           func(id, text string) error
	outbox           webhook.Outbox
	commit, rollback func() error
}

// TestOutboxThroughDispatcher: a note inserted in a transaction that
// rolls back is never delivered; one that commits is, promptly, without
// a poll (the store's NOTIFY wakes the Dispatcher) and without Notify;
// through a pgx transaction (InTx) and a database/sql one on pgx's
// stdlib driver (InSQLTx), as bun, sqlx and GoToSocial use.
func TestOutboxThroughDispatcher(t *testing.T) {
	t.Parallel()
	t.Run("pgx", func(t *testing.T) {
		t.Parallel()
		testOutboxThroughDispatcher(t, func(t *testing.T, s *pgstore.Store, notes string) noteTx {
			ctx := context.Background()
			tx, err := newPool(t, nil).Begin(ctx)
			require.NoError(t, err)
			return noteTx{
				insert: func(id, text string) error {
					_, err := tx.Exec(ctx, "INSERT INTO "+notes+" (id, text) VALUES ($1, $2)", id, text)
					return err
				},
				outbox:   s.InTx(tx),
				commit:   func() error { return tx.Commit(ctx) },
				rollback: func() error { return tx.Rollback(ctx) },
			}
		})
	})
	t.Run("database/sql", func(t *testing.T) {
		t.Parallel()
		var db *sql.DB
		testOutboxThroughDispatcher(t, func(t *testing.T, s *pgstore.Store, notes string) noteTx {
			if db == nil {
				db = stdlib.OpenDBFromPool(newPool(t, nil))
				t.Cleanup(func() { _ = db.Close() })
			}
			tx, err := db.BeginTx(context.Background(), nil)
			require.NoError(t, err)
			return noteTx{
				insert: func(id, text string) error {
					_, err := tx.Exec("INSERT INTO "+notes+" (id, text) VALUES ($1, $2)", id, text)
					return err
				},
				outbox:   s.InSQLTx(tx),
				commit:   tx.Commit,
				rollback: tx.Rollback,
			}
		})
	})
}

func testOutboxThroughDispatcher(t *testing.T, begin func(t *testing.T, s *pgstore.Store, notes string) noteTx) {
	ctx := context.Background()
	schema := newSchema(t)
	s := newStoreIn(t, schema, nil)
	pool := newPool(t, nil)
	notes := pgx.Identifier{schema, "notes"}.Sanitize()
	_, err := pool.Exec(ctx, "CREATE TABLE "+notes+" (id text PRIMARY KEY, text text NOT NULL)")
	require.NoError(t, err)

	got := make(chan webhook.Request, 10)
	d, err := webhook.New(s, &webhook.Config{
		Host:         "example.tld",
		PollInterval: time.Hour, // only a wake-up can start a delivery
		Transport: webhook.TransportFunc(func(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
			got <- *req
			return &webhook.Response{StatusCode: 204}, nil
		}),
	})
	require.NoError(t, err)
	w, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "alice", Name: "notes",
		On: []webhook.Event{webhook.EventNote}, URL: "https://receiver.example/hook", Active: true})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			require.NoError(t, d.Shutdown(ctx))
		})
	}
	t.Cleanup(shutdown)

	post := func(id, text string, commit bool) {
		t.Helper()
		tx := begin(t, s, notes)
		require.NoError(t, tx.insert(id, text))
		body := map[string]any{"note": map[string]string{"id": id, "text": text}}
		require.NoError(t, d.EmitVia(ctx, tx.outbox, "alice", webhook.EventNote, body))
		if commit {
			require.NoError(t, tx.commit())
		} else {
			require.NoError(t, tx.rollback())
		}
	}
	post("n1", "rolled back", false)
	post("n2", "committed", true)
	select {
	case req := <-got:
		require.Equal(t, w.ID, req.Header.Get("X-Misskey-Hook-Id"))
		require.Contains(t, string(req.Body), `"committed"`)
	case <-time.After(10 * time.Second):
		t.Fatal("the committed note's webhook was not delivered")
	}
	shutdown()
	require.Empty(t, got, "only the committed note was delivered")
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "fedihook_deliveries"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n)
	hooks, err := s.ListHooks(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.NotNil(t, hooks[0].LatestStatus)
	require.Equal(t, 204, *hooks[0].LatestStatus)
}

// TestSQLOutbox: through a database/sql transaction, deliveries are
// claimable once it commits and never after a rollback, one
// notification goes out per committed transaction, and an Enqueue of an
// unknown webhook fails with ErrNotFound and aborts the transaction.
func TestSQLOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := testHook("h1", "alice")
	require.NoError(t, s.CreateHook(ctx, w, 0))
	pool := newPool(t, nil)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	listener := listenConn(t, newPool(t, nil), s.Channel())

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	gone := testDelivery(w, t0, []byte(`{"n":1}`))
	require.NoError(t, s.InSQLTx(tx).Enqueue(ctx, []*webhook.Delivery{gone}))
	require.NoError(t, tx.Rollback())
	_, err = s.GetDelivery(ctx, gone.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound)

	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	kept := testDelivery(w, t0, []byte(`{"n":2}`))
	require.NoError(t, s.InSQLTx(tx).Enqueue(ctx, []*webhook.Delivery{kept}))
	em := &webhook.Emission{Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0, NextAttemptAt: t0,
		Body: []byte(`{"n":3}`), Hooks: []*webhook.Webhook{w}, IDs: []uuid.UUID{uuid.New()}}
	require.NoError(t, s.InSQLTx(tx).EnqueueEvent(ctx, em))
	cs, err := s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, cs, "not before the commit")
	require.NoError(t, tx.Commit())
	cs, err = s.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{kept.ID, em.IDs[0]}, claimIDs(cs))
	require.Equal(t, []string{"", "marker"}, notificationsUntilMarker(t, pool, listener, s.Channel()))

	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	err = s.InSQLTx(tx).Enqueue(ctx, []*webhook.Delivery{testDelivery(testHook("nope", "alice"), t0, []byte(`{}`))})
	require.ErrorIs(t, err, webhook.ErrNotFound)
	require.Error(t, tx.Commit(), "the failed statement aborted the transaction")
}
