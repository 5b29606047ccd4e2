package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestMigrateUpgrade builds a database at schema version 1, as an older
// release left it, and checks that Migrate brings it to the latest
// version, keeping its data.
func TestMigrateUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "v1.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ms), 2)
	_, err = db.ExecContext(ctx, `CREATE TABLE webhook_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	require.NoError(t, err)
	for _, stmt := range ms[0].stmts {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_migrations VALUES (1, 'init', 0)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_hooks (id, user_id, name, events, url, secret, active)
		VALUES ('old', 'u', 'n', 'note,reply', 'https://r.example/', 's', 1)`)
	require.NoError(t, err)

	s, err := New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	var v int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT max(version) FROM webhook_migrations`).Scan(&v))
	require.Equal(t, len(ms), v)
	w, err := s.GetHook(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, "https://r.example/", w.URL)
	require.Len(t, w.On, 2)
	require.Empty(t, w.SigningSecret)
	require.False(t, w.Ordered, "webhooks from before version 4 are unordered")
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	got := splitStatements("-- a comment; with a semicolon\nCREATE TABLE a (\n\tx INTEGER -- trailing; comment\n);\n\nCREATE INDEX b ON a (x);\nSELECT 1")
	require.Equal(t, []string{"CREATE TABLE a (\nx INTEGER\n);", "CREATE INDEX b ON a (x);", "SELECT 1"}, got)
}
