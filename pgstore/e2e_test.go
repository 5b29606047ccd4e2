package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestOutboxThroughDispatcher: a note inserted in a transaction that
// rolls back is never delivered; one that commits is, promptly, without
// a poll (the store's NOTIFY wakes the Dispatcher) and without Notify.
func TestOutboxThroughDispatcher(t *testing.T) {
	t.Parallel()
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
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "INSERT INTO "+notes+" (id, text) VALUES ($1, $2)", id, text)
		require.NoError(t, err)
		body := map[string]any{"note": map[string]string{"id": id, "text": text}}
		require.NoError(t, d.EmitVia(ctx, s.InTx(tx), "alice", webhook.EventNote, body))
		if commit {
			require.NoError(t, tx.Commit(ctx))
		} else {
			require.NoError(t, tx.Rollback(ctx))
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
