package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/fedihook/webhook/sqlitestore"
)

func TestMain(m *testing.M) {
	if op := os.Getenv(hookChildEnv); op != "" {
		// Re-executed by TestHooksChangedByAnotherProcess.
		if err := hookChild(op); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// dsn is the recommended DSN for modernc.org/sqlite: WAL, durable commits,
// a generous busy timeout, and immediate transactions.
func dsn(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + syncMode() + ")&_pragma=temp_store(MEMORY)&_txlock=immediate"
}

// openDB opens the database file at path; the test closes it.
func openDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}

// newStore returns a migrated store over a fresh database file, and the
// file's path.
func newStore(tb testing.TB, cfg *sqlitestore.Config) (*sqlitestore.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "webhooks.db")
	return openStore(tb, path, cfg), path
}

// openStore opens a migrated store over the database file at path.
func openStore(tb testing.TB, path string, cfg *sqlitestore.Config) *sqlitestore.Store {
	tb.Helper()
	db := openDB(tb, path)
	s, err := sqlitestore.New(db, cfg)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	dbOf.Store(s, db)
	tb.Cleanup(func() { dbOf.Delete(s) })
	return s
}

// dbOf maps the stores openStore made to their *sql.DB.
var dbOf sync.Map

func syncMode() string {
	if m := os.Getenv("SQLITESTORE_SYNC"); m != "" {
		return m
	}
	return "FULL"
}
