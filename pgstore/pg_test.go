package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook/pgstore"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(childMain(role))
	}
	goleak.VerifyTestMain(m)
}

// dsn returns the DSN of the test server, from FEDIHOOK_PG_DSN. Without
// it the test is skipped, except under CI, where it fails: there the
// PostgreSQL tests must run.
func dsn(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("FEDIHOOK_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FEDIHOOK_PG_DSN is not set but CI=true: the PostgreSQL tests must run under CI; " +
				".ci/run should start a server with pg_start from .ci/pg.sh")
		}
		t.Skip("set FEDIHOOK_PG_DSN=postgres://... to run; .ci/pg.sh starts a throwaway server")
	}
	return dsn
}

// newPool returns a pool on the test database, closed when t ends. mod,
// if not nil, adjusts its configuration.
func newPool(t testing.TB, mod func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn(t))
	require.NoError(t, err)
	if mod != nil {
		mod(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// newSchema returns the name of a fresh schema, dropped with everything
// in it when t ends. Tests are isolated by schema: each gets its own
// tables (and so its own NOTIFY channel), in one database.
func newSchema(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "fh_" + hex.EncodeToString(b[:])
	admin := newPool(t, func(c *pgxpool.Config) { c.MaxConns = 1 })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := admin.Exec(ctx, `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`)
		require.NoError(t, err)
	})
	return name
}

// newStore returns a migrated Store in a fresh schema, on its own pool.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	return newStoreIn(t, newSchema(t), nil)
}

// newStoreIn returns a migrated Store on a new pool, with its tables in
// schema.
func newStoreIn(t testing.TB, schema string, mod func(*pgxpool.Config)) *pgstore.Store {
	t.Helper()
	pool := newPool(t, mod)
	s, err := pgstore.New(pool, &pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}
