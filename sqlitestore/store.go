package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fedihook/webhook"
)

// Defaults of [Config].
const (
	// DefaultRetention is how long finished deliveries are kept: 7 days,
	// as Misskey keeps its delivery jobs.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultPruneBatch is how many deliveries Prune deletes per
	// transaction.
	DefaultPruneBatch = 1000
)

// Config configures a [Store]. A nil *Config, and every zero field, means
// the documented default.
type Config struct {
	// Retention is how long a delivered or failed delivery is kept after
	// its last attempt before [Store.Prune] deletes it. Defaults to
	// DefaultRetention.
	Retention time.Duration
	// PruneBatch is how many deliveries [Store.Prune] deletes in one
	// transaction; the write lock is released between batches so that
	// deliveries keep flowing while a large backlog is pruned. Defaults to
	// DefaultPruneBatch.
	PruneBatch int
}

// A Store is a [webhook.Store] kept in a SQLite database. Its methods are
// safe for concurrent use, also by several Stores (in one process or
// several) over the same database file. Create it with [New] and call
// [Store.Migrate] before first use.
type Store struct {
	db         *sql.DB
	retention  time.Duration
	pruneBatch int
	// wsem serialises this Store's write transactions, so that its own
	// goroutines queue here instead of sleeping in SQLite's busy handler.
	wsem chan struct{}
}

var (
	_ webhook.Store  = (*Store)(nil)
	_ webhook.Outbox = (*TxOutbox)(nil)
)

// New returns a Store over db, which must be a SQLite database opened with
// any database/sql driver (see the package documentation for the DSN).
// The Store never closes db. New does not touch the database; call
// [Store.Migrate] to create or upgrade the schema. A nil cfg means
// defaults.
func New(db *sql.DB, cfg *Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: New: db is nil")
	}
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.Retention == 0:
		c.Retention = DefaultRetention
	case c.Retention < 0:
		return nil, invalidf("Config.Retention must be > 0, got %v", c.Retention)
	}
	switch {
	case c.PruneBatch == 0:
		c.PruneBatch = DefaultPruneBatch
	case c.PruneBatch < 0:
		return nil, invalidf("Config.PruneBatch must be >= 1, got %d", c.PruneBatch)
	}
	return &Store{
		db:         db,
		retention:  c.Retention,
		pruneBatch: c.PruneBatch,
		wsem:       make(chan struct{}, 1),
	}, nil
}

// invalidf returns a configuration error matching [webhook.ErrInvalid].
func invalidf(format string, args ...any) error {
	return &configError{msg: "sqlitestore: " + fmt.Sprintf(format, args...)}
}

type configError struct{ msg string }

func (e *configError) Error() string        { return e.msg }
func (e *configError) Is(target error) bool { return target == webhook.ErrInvalid }

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// lock takes the Store's write semaphore, or gives up when ctx is done.
func (s *Store) lock(ctx context.Context) error {
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlock() { <-s.wsem }

// write runs fn in a write transaction. It is begun with BEGIN IMMEDIATE
// on a dedicated connection, whatever the driver's default, so that the
// write lock is taken (waiting up to the connection's busy_timeout) before
// anything is read: a deferred transaction that reads and then writes can
// fail with SQLITE_BUSY at once when another connection wrote in between.
func (s *Store) write(ctx context.Context, op string, fn func(q querier) error) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: %s: begin: %w", op, err)
	}
	if err := fn(conn); err != nil {
		rollback(conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(conn)
		return fmt.Errorf("sqlitestore: %s: commit: %w", op, err)
	}
	return nil
}

// rollback ends the transaction on conn, even when the caller's context
// is done. If that fails, conn is discarded rather than given back to the
// pool in the middle of a transaction.
func rollback(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// nanos converts t to the stored form, unix nanoseconds; the zero time is
// 0. Times beyond what int64 nanoseconds hold (before 1678 or after 2262)
// are clamped.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// truncate shortens an ID quoted in an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func notFound(kind, id string) error {
	return fmt.Errorf("webhook: %s %q: %w", kind, truncate(id, webhook.MaxIDLength), webhook.ErrNotFound)
}

// inArgs returns "?,?,?" for n placeholders.
func inArgs(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
