package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"
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

// dsn is the recommended DSN, which both drivers read: WAL, durable
// commits, a generous busy timeout, the undo logs of savepoints in
// memory, and immediate transactions.
func dsn(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + syncMode() + ")&_pragma=temp_store(MEMORY)&_txlock=immediate"
}

// The pure-Go drivers the tests run on: modernc.org/sqlite (SQLite
// translated to Go) and github.com/ncruces/go-sqlite3 (SQLite compiled to
// WebAssembly, run by wazero; GoToSocial's default), by their database/sql
// names.
const (
	modernc = "sqlite"
	ncruces = "sqlite3"
)

// drivers lists both, for the tests that run on each.
var drivers = []string{modernc, ncruces}

// driverLabel names a driver in subtests.
func driverLabel(driver string) string {
	if driver == ncruces {
		return "ncruces"
	}
	return "modernc"
}

// defaultDriver is the driver of the tests that run on one:
// $SQLITESTORE_DRIVER ("modernc" or "ncruces"), modernc if unset.
func defaultDriver() string {
	if os.Getenv("SQLITESTORE_DRIVER") == "ncruces" {
		return ncruces
	}
	return modernc
}

// openDB opens the database file at path with the default driver; the
// test closes it.
func openDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	return openDBWith(tb, defaultDriver(), path)
}

// openDBWith opens the database file at path with driver; the test
// closes it.
func openDBWith(tb testing.TB, driver, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn(path))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}

// newStore returns a migrated store over a fresh database file, and the
// file's path.
func newStore(tb testing.TB, cfg *sqlitestore.Config) (*sqlitestore.Store, string) {
	tb.Helper()
	return newStoreWith(tb, defaultDriver(), cfg)
}

// newStoreWith is newStore with driver.
func newStoreWith(tb testing.TB, driver string, cfg *sqlitestore.Config) (*sqlitestore.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "webhooks.db")
	return openStoreWith(tb, driver, path, cfg), path
}

// openStore opens a migrated store over the database file at path.
func openStore(tb testing.TB, path string, cfg *sqlitestore.Config) *sqlitestore.Store {
	tb.Helper()
	return openStoreWith(tb, defaultDriver(), path, cfg)
}

// openStoreWith is openStore with driver.
func openStoreWith(tb testing.TB, driver, path string, cfg *sqlitestore.Config) *sqlitestore.Store {
	tb.Helper()
	db := openDBWith(tb, driver, path)
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
