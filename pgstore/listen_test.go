package pgstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

// wakeTimeout bounds every wait for a wake; it is a failure bound, not a
// synchronisation.
const wakeTimeout = 10 * time.Second

// startListen runs s.Listen in a goroutine the test owns, and returns the
// channel its wakes arrive on and a function that stops it and returns
// Listen's error.
func startListen(t *testing.T, s *pgstore.Store) (<-chan struct{}, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wakes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wakeTimeout):
			t.Error("Listen did not return after its context was cancelled")
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return wakes, stop
}

func waitWake(t *testing.T, wakes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-wakes:
	case <-time.After(wakeTimeout):
		t.Fatalf("no wake within %v: %s", wakeTimeout, what)
	}
}

// TestListenWakes: an Enqueue through another pool (another process's)
// wakes the listener.
func TestListenWakes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	listener := newStoreIn(t, schema, nil)
	emitter := newStoreIn(t, schema, nil)
	w := testHook("h1", "u")
	require.NoError(t, emitter.CreateHook(ctx, w, 0))

	wakes, stop := startListen(t, listener)
	waitWake(t, wakes, "the wake when Listen starts listening")
	for i := range 3 {
		fanOut(t, emitter, w, 1+i)
		waitWake(t, wakes, "after an Enqueue from another pool")
	}

	require.NoError(t, stop())
}

// TestListenStops: Listen returns nil soon after its context is
// cancelled, and gives its connection back to the pool. (goleak, in
// TestMain, checks that it left no goroutine behind.)
func TestListenStops(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	s, err := pgstore.New(pool, &pgstore.Config{Schema: newSchema(t)})
	require.NoError(t, err)
	wakes, stop := startListen(t, s)
	waitWake(t, wakes, "the wake when Listen starts listening")
	require.EqualValues(t, 1, pool.Stat().AcquiredConns(), "Listen holds one connection")
	require.NoError(t, stop())
	require.Zero(t, pool.Stat().AcquiredConns(), "Listen released its connection")

	// The connection went back without its LISTEN: a notification on
	// the channel does not reach it.
	conn, err := pool.Acquire(context.Background())
	require.NoError(t, err)
	defer conn.Release()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_listening_channels()").Scan(&n))
	require.Zero(t, n)
}

// TestListenReconnects: when its connection is killed, Listen gets
// another one, wakes (deliveries may have been enqueued meanwhile), and
// goes on waking for new deliveries.
func TestListenReconnects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	listener := newStoreIn(t, schema, nil)
	emitter := newStoreIn(t, schema, nil)
	w := testHook("h1", "u")
	require.NoError(t, emitter.CreateHook(ctx, w, 0))
	wakes, stop := startListen(t, listener)
	waitWake(t, wakes, "the wake when Listen starts listening")

	admin := newPool(t, nil)
	var killed int
	require.NoError(t, admin.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN ' || $1`, pgx.Identifier{listener.Channel()}.Sanitize()).Scan(&killed))
	require.Equal(t, 1, killed, "the listening backend was found")
	waitWake(t, wakes, "the wake after listening again")
	fanOut(t, emitter, w, 1)
	waitWake(t, wakes, "after an Enqueue, once reconnected")
	require.NoError(t, stop())
}

// TestListenClosedPool: with its pool closed, Listen cannot recover and
// says so.
func TestListenClosedPool(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	s, err := pgstore.New(pool, nil)
	require.NoError(t, err)
	pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wakeTimeout)
	defer cancel()
	err = s.Listen(ctx, func() { t.Error("woken with a closed pool") })
	require.ErrorContains(t, err, "pgstore: listening")
	require.NoError(t, ctx.Err(), "Listen returned at once")
}

// TestEnqueueAndClaimNotifiesOnlyWhatIsLeft: an event whose deliveries
// were all claimed as they were enqueued notifies nobody (nobody else has
// anything to claim); one with a delivery left to claim does.
func TestEnqueueAndClaimNotifiesOnlyWhatIsLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, b := testHook("h1", "u"), testHook("h2", "u")
	require.NoError(t, s.CreateHook(ctx, a, 0))
	require.NoError(t, s.CreateHook(ctx, b, 0))
	var notified atomic.Int32
	cfg, err := pgx.ParseConfig(dsn(t))
	require.NoError(t, err)
	cfg.OnNotification = func(*pgconn.PgConn, *pgconn.Notification) { notified.Add(1) }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.Channel()}.Sanitize())
	require.NoError(t, err)

	now := time.Now()
	emission := func() *webhook.Emission {
		return &webhook.Emission{Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: now, NextAttemptAt: now,
			Body: []byte(`{}`), Hooks: []*webhook.Webhook{a, b}, IDs: []uuid.UUID{uuid.New(), uuid.New()}}
	}
	cs, err := s.EnqueueAndClaim(ctx, emission(), now, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	cs, err = s.EnqueueAndClaim(ctx, emission(), now, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	// Notifications come in commit order: the first to arrive would be
	// the whole event's, had it sent one, and the second would be read
	// with it or by the next statement.
	wctx, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	require.NoError(t, conn.PgConn().WaitForNotification(wctx))
	_, err = conn.Exec(ctx, "SELECT 1")
	require.NoError(t, err)
	require.EqualValues(t, 1, notified.Load(), "one notification: the event with a delivery left")
}
