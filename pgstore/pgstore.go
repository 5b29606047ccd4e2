package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fedihook/webhook"
)

// DefaultRetention is how long finished deliveries are kept by default,
// as Misskey keeps its jobs.
const DefaultRetention = 7 * 24 * time.Hour

// channelPrefix names the NOTIFY channel; a schema's name is appended.
const channelPrefix = "fedihook"

// Config configures a Store. A nil *Config, and every zero field, means
// the documented default.
type Config struct {
	// Schema is the PostgreSQL schema holding the store's tables; Migrate
	// creates it if needed. It must be 1 to 54 ASCII letters, digits or
	// underscores. Defaults to "", which leaves table names unqualified,
	// so they resolve through the connection's search_path.
	Schema string
	// Retention is how long Prune keeps delivered and failed deliveries
	// after they finished. Defaults to DefaultRetention (7 days).
	Retention time.Duration
	// Logger receives Listen's connection errors. Defaults to a logger
	// that discards everything.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if len(c.Schema) > 54 {
		return invalidf("Config.Schema must be at most 54 bytes, got %d", len(c.Schema))
	}
	for i := 0; i < len(c.Schema); i++ {
		ch := c.Schema[i]
		if !(ch == '_' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			return invalidf("Config.Schema must hold only ASCII letters, digits and underscores, has byte 0x%02x at %d", ch, i)
		}
	}
	if c.Retention < 0 {
		return invalidf("Config.Retention must be >= 0, got %v", c.Retention)
	}
	return nil
}

// A Store is a [webhook.Store] and [webhook.Notifier] in a PostgreSQL
// database. Its methods are safe for concurrent use. Create it with
// [New] and call [Store.Migrate] before using it.
type Store struct {
	pool      *pgxpool.Pool
	schema    string // as configured; "" for the search_path
	channel   string
	retention time.Duration
	log       *slog.Logger
	sql       statements
	settles   batcher[webhook.Result]
	enqueues  batcher[enqueued]
	hooks     hookView
}

var (
	_ webhook.Store         = (*Store)(nil)
	_ webhook.Notifier      = (*Store)(nil)
	_ webhook.EventEnqueuer = (*Store)(nil)
	_ webhook.SettleClaimer = (*Store)(nil)
	_ webhook.EventEnqueuer = (*TxOutbox)(nil)
)

// New returns a Store using pool, which it never closes. A nil cfg means
// defaults. New does not touch the database; call [Store.Migrate] to
// create or upgrade the tables.
func New(pool *pgxpool.Pool, cfg *Config) (*Store, error) {
	if pool == nil {
		return nil, invalidf("New needs a pool, got nil")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.Retention = cmp.Or(c.Retention, DefaultRetention)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		pool:      pool,
		schema:    c.Schema,
		channel:   channelPrefix,
		retention: c.Retention,
		log:       c.Logger,
	}
	if c.Schema != "" {
		s.channel += "." + c.Schema
	}
	s.sql = newStatements(s.prefix())
	return s, nil
}

// Channel returns the name of the channel Enqueue notifies and Listen
// listens on: "fedihook", or "fedihook.SCHEMA" with [Config.Schema].
func (s *Store) Channel() string { return s.channel }

// Retention returns how long Prune keeps finished deliveries.
func (s *Store) Retention() time.Duration { return s.retention }

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// A configError is a validation error of New's arguments; it matches
// webhook.ErrInvalid.
type configError struct{ msg string }

func (e *configError) Error() string        { return "pgstore: " + e.msg }
func (e *configError) Is(target error) bool { return target == webhook.ErrInvalid }

func invalidf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

func notFound(kind, id string) error {
	return fmt.Errorf("webhook: %s %q: %w", kind, truncate(id, webhook.MaxIDLength), webhook.ErrNotFound)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// PostgreSQL error codes the store maps to webhook sentinels.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeDeadlockDetected    = "40P01"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// statements holds the store's SQL with the schema filled in.
type statements struct {
	createHook, getHook, listHooks, updateHook, deleteHook, userHooks string
	lockHook, deleteHookQueue, deleteHookDeliveries, disableHook      string
	listDeliveries, listAttempts, deliveryExists, redeliver           string
	recoverFailed, queueStats                                         string
	enqueue, enqueueTx, claim, claimAsync, settle, getDelivery, prune string
	migrationsTable, migrationVersions, recordMigration               string
}

func newStatements(prefix string) statements {
	r := strings.NewReplacer("${s}", prefix)
	return statements{
		createHook:           r.Replace(sqlCreateHook),
		getHook:              r.Replace(sqlGetHook),
		listHooks:            r.Replace(sqlListHooks),
		updateHook:           r.Replace(sqlUpdateHook),
		deleteHook:           r.Replace(sqlDeleteHook),
		disableHook:          r.Replace(sqlDisableHook),
		lockHook:             r.Replace(sqlLockHook),
		deleteHookQueue:      r.Replace(sqlDeleteHookQueue),
		deleteHookDeliveries: r.Replace(sqlDeleteHookDeliveries),
		listDeliveries:       r.Replace(sqlListDeliveries),
		listAttempts:         r.Replace(sqlListAttempts),
		deliveryExists:       r.Replace(sqlDeliveryExists),
		redeliver:            r.Replace(sqlRedeliver),
		recoverFailed:        r.Replace(sqlRecoverFailed),
		queueStats:           r.Replace(sqlQueueStats),
		userHooks:            r.Replace(sqlUserHooks),
		enqueue:              strings.ReplaceAll(r.Replace(sqlEnqueue), "${lockrows}", ""),
		enqueueTx:            strings.ReplaceAll(r.Replace(sqlEnqueue), "${lockrows}", "FOR KEY SHARE"),
		claim:                strings.ReplaceAll(r.Replace(sqlClaim), "${async}", ""),
		claimAsync:           strings.ReplaceAll(r.Replace(sqlClaim), "${async}", claimAsync),
		settle:               r.Replace(sqlSettle),
		getDelivery:          r.Replace(sqlGetDelivery),
		prune:                r.Replace(sqlPrune),
		migrationsTable:      r.Replace(sqlMigrationsTable),
		migrationVersions:    r.Replace(sqlMigrationVersions),
		recordMigration:      r.Replace(sqlRecordMigration),
	}
}
