package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
)

// Backoff between Listen's attempts to get a listening connection back.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
)

// Listen implements [webhook.Notifier]. It holds one connection of the
// pool, LISTENs on the store's [Store.Channel], and calls wake for each
// notification of deliveries: one per committed transaction that
// enqueued some, however many it enqueued. It also calls wake each time
// it has started listening, since deliveries may have been enqueued while
// it was not. The channel also carries the changes of webhooks, which
// keep the in-process view MatchHooks answers from while Listen is
// connected (see [Store.MatchHooks]).
//
// When the connection fails, Listen logs the error, releases the
// connection and tries again with a growing backoff (up to 10 s). It
// returns nil once ctx is done, having given the connection back to the
// pool, and an error only when the pool is closed. wake is called from
// Listen's goroutine and should return quickly.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	backoff := listenMinBackoff
	for {
		listening, err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, puddle.ErrClosedPool) {
			return fmt.Errorf("pgstore: listening: %w", err)
		}
		if listening {
			backoff = listenMinBackoff
		}
		s.log.WarnContext(ctx, "pgstore: listen connection lost; retrying",
			"channel", s.channel, "retry_in", backoff, "error", err)
		// Up to a fifth more, so that many listeners do not come back in
		// step.
		wait := backoff + rand.N(backoff/5+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen runs one listening session on one connection, until ctx is done
// or the connection fails. listening reports whether LISTEN succeeded.
func (s *Store) listen(ctx context.Context, wake func()) (listening bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer s.release(conn)
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false, err
	}
	s.hooks.listening(true)
	defer s.hooks.listening(false)
	wake()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if !s.hooks.notified(n.Payload) {
			wake()
		}
	}
}

// release gives a listening connection back to the pool, without its
// LISTEN; a connection that cannot say UNLISTEN is closed instead, and
// the pool replaces it.
func (s *Store) release(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !conn.Conn().IsClosed() {
		if _, err := conn.Exec(ctx, "UNLISTEN *"); err != nil {
			_ = conn.Conn().Close(ctx)
		}
	}
	conn.Release()
}
