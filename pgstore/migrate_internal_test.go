package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func TestMigrationFiles(t *testing.T) {
	ms, err := migrations()
	require.NoError(t, err)
	require.Len(t, ms, SchemaVersion, "SchemaVersion is the last migration")
}

// TestMigrateUpgrade upgrades a schema holding data, one migration at a
// time, and checks the data survives each step.
func TestMigrateUpgrade(t *testing.T) {
	dsn := os.Getenv("FEDIHOOK_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FEDIHOOK_PG_DSN is not set but CI=true: the PostgreSQL tests must run under CI")
		}
		t.Skip("set FEDIHOOK_PG_DSN=postgres://... to run; .ci/pg.sh starts a throwaway server")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "fh_" + hex.EncodeToString(b[:])
	defer func() {
		_, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
		require.NoError(t, err)
	}()
	s, err := New(pool, &Config{Schema: schema})
	require.NoError(t, err)

	require.NoError(t, s.migrate(ctx, 1))
	// Version 1's rows, written with version 1's columns.
	_, err = pool.Exec(ctx, `INSERT INTO "`+schema+`".fedihook_hooks (id, user_id, name, events, url, secret, active)
		VALUES ('h1', 'u', 'n', '{note}', 'https://x.example/', 's', true)`)
	require.NoError(t, err)
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	for i, id := range ids {
		_, err = pool.Exec(ctx, `INSERT INTO "`+schema+`".fedihook_deliveries
			(id, hook_id, user_id, type, server, created_at, body, state, next_attempt_at, available_at)
			VALUES ($1, 'h1', 'u', 'note', 'https://example.tld', $2, '{}', 1, $2, $2)`, [16]byte(id), time.Unix(int64(i), 0))
		require.NoError(t, err)
	}

	for v := 2; v <= SchemaVersion; v++ {
		require.NoError(t, s.migrate(ctx, v), "to version %d", v)
	}
	require.NoError(t, s.Migrate(ctx))
	w, err := s.GetHook(ctx, "h1")
	require.NoError(t, err)
	require.False(t, w.Ordered)
	require.Nil(t, w.FailingSince)
	cs, err := s.Claim(ctx, time.Unix(10, 0), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Equal(t, ids[0], cs[0].Delivery.ID)
	rs := []webhook.Result{{ID: ids[0], HookID: "h1", Lease: cs[0].Lease, State: webhook.StateDelivered,
		Attempt: webhook.Attempt{At: time.Unix(11, 0), Status: 200}}}
	require.NoError(t, s.Settle(ctx, rs))
	as, err := s.ListAttempts(ctx, ids[0])
	require.NoError(t, err)
	require.Len(t, as, 1)
}
