package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
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
	// DefaultCheckpointPages is the default Config.CheckpointPages:
	// 20,000 pages, 80 MiB of log with SQLite's default 4 KiB pages.
	// SQLite reuses the log file from its start after a checkpoint and
	// does not shrink it (unless PRAGMA journal_size_limit says so), so
	// the -wal file next to the database stays about that large.
	DefaultCheckpointPages = 20000
	// DefaultCacheKiB is the default Config.CacheKiB: 8 MiB, which
	// holds the delivery ID index of about 250,000 deliveries.
	DefaultCacheKiB = 8 << 10
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
	// CheckpointPages is the size of the write-ahead log, in pages, past
	// which the Store's writing connection checkpoints it after a commit
	// (SQLite's wal_autocheckpoint, 1000 unless set, for that connection).
	// A checkpoint copies each page changed since the last one once, and
	// the Store's writes change the same few pages (the queue's ends, the
	// webhooks' latest status) over and over: checkpointing less often
	// copies fewer pages per delivery, at the cost of a larger log file
	// and a longer pause for the writes that wait behind a checkpoint.
	// Defaults to DefaultCheckpointPages; a negative value leaves the
	// connection's own setting.
	CheckpointPages int
	// CacheKiB is the page cache of the Store's writing connection, in
	// KiB (SQLite's cache_size, 2,000 KiB unless set, for that
	// connection). A delivery whose eventId the Store did not mint (see
	// Store.MintEventIDs), such as those of older releases, has a random
	// place in the index of eventIds: once that index outgrows the
	// cache, most such deliveries read a page of it back from the file
	// (from the OS's cache, most often).
	// A larger cache is not free either: when a b-tree page splits,
	// SQLite renumbers pages through a page number far past the end of
	// the file, and the commit after it then scans the cache's whole
	// hash table, which grows with the pages cached: about a quarter of
	// a millisecond per commit at 32 MiB, about a tenth of the writing
	// connection's time under load. Defaults to DefaultCacheKiB; a
	// negative value leaves the connection's own setting. The Store sets
	// both once on each connection it writes on, and the connection keeps
	// them when the Store gives it back to the pool.
	CacheKiB int
}

// A Store is a [webhook.Store] kept in a SQLite database. Its methods are
// safe for concurrent use, also by several Stores (in one process or
// several) over the same database file. Create it with [New] and call
// [Store.Migrate] before first use.
type Store struct {
	db         *sql.DB
	retention  time.Duration
	pruneBatch int
	pragmas    []string // run on the writing connection when taken
	// tuned holds the driver connections that pragmas ran on; wsem's
	// holder uses it.
	tuned map[any]bool
	// wsem is held by the goroutine running this Store's write
	// transactions (writeLoop), so that its own goroutines queue here
	// instead of sleeping in SQLite's busy handler; mu guards pending,
	// the writes waiting for the next transaction, writing, set while
	// a writeLoop runs or is about to, and gather (see gatherWrites).
	wsem    chan struct{}
	wconn   *sql.Conn // the writing connection, while wsem's holder writes
	mu      sync.Mutex
	pending []*writeReq
	writing bool
	// gather, when positive, is how many pending writes the writeLoop
	// waits for; the write that brings pending to it signals gathered.
	gather     int
	gathered   chan struct{}
	gatherWait time.Duration // how long gatherWrites waits at most; tests change it

	// listeners are the wake functions of Listen, by registration.
	lmu       sync.Mutex
	listeners map[*func()]struct{}

	// hooks caches the webhooks that Emit and Claim read.
	hooks    hookCache
	versions versionReader

	// ids is what the Store knows of its database's eventIds, once
	// Migrate or a first read of them set it (see eventids.go).
	ids atomic.Pointer[eventIDs]

	// stmts holds the prepared hot statements by query, once ready.
	stmts  atomic.Pointer[map[string]*sql.Stmt]
	prepMu sync.Mutex
}

var (
	_ webhook.Store          = (*Store)(nil)
	_ webhook.Notifier       = (*Store)(nil)
	_ webhook.EventEnqueuer  = (*Store)(nil)
	_ webhook.EnqueueClaimer = (*Store)(nil)
	_ webhook.CachedMatcher  = (*Store)(nil)
	_ webhook.SettleClaimer  = (*Store)(nil)
	_ webhook.EventEnqueuer  = (*TxOutbox)(nil)
	_ webhook.EventIDMinter  = (*Store)(nil)
	_ webhook.EventIDMinter  = (*TxOutbox)(nil)
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
	if c.CheckpointPages == 0 {
		c.CheckpointPages = DefaultCheckpointPages
	}
	if c.CacheKiB == 0 {
		c.CacheKiB = DefaultCacheKiB
	}
	var pragmas []string
	if c.CheckpointPages > 0 {
		pragmas = append(pragmas, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", c.CheckpointPages))
	}
	if c.CacheKiB > 0 {
		pragmas = append(pragmas, fmt.Sprintf("PRAGMA cache_size = -%d", c.CacheKiB))
	}
	return &Store{
		db:         db,
		retention:  c.Retention,
		pruneBatch: c.PruneBatch,
		pragmas:    pragmas,
		wsem:       make(chan struct{}, 1),
		gathered:   make(chan struct{}, 1),
		gatherWait: gatherWait,
	}, nil
}

// invalidf returns a configuration error matching [webhook.ErrInvalid].
func invalidf(format string, args ...any) error {
	return &configError{msg: "sqlitestore: " + fmt.Sprintf(format, args...)}
}

type configError struct{ msg string }

func (e *configError) Error() string        { return e.msg }
func (e *configError) Is(target error) bool { return target == webhook.ErrInvalid }

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

// Listen implements [webhook.Notifier]: it calls wake whenever a write
// transaction of this Store that enqueued deliveries has committed
// (through [Store.Enqueue] or [Store.Tx]; not for deliveries that
// [Store.EnqueueAndClaim] claimed), until ctx is done, and then
// returns nil. It knows nothing of other processes, nor of transactions
// begun by the application ([Store.InTx]). wake must not block.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	key := &wake
	s.lmu.Lock()
	if s.listeners == nil {
		s.listeners = make(map[*func()]struct{})
	}
	s.listeners[key] = struct{}{}
	s.lmu.Unlock()
	// What was committed before the listener was registered woke no one.
	wake()
	<-ctx.Done()
	s.lmu.Lock()
	delete(s.listeners, key)
	s.lmu.Unlock()
	return nil
}

func (s *Store) wakeListeners() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for wake := range s.listeners {
		(*wake)()
	}
}
