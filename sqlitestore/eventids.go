package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore/internal/eventid"
)

// The eventIds of what a Store enqueues are made by the Store (it is a
// [webhook.EventIDMinter]), so that they come in an order its index
// knows: each is the image of a sequence number under a permutation
// keyed by the database's secret (package eventid), and the delivery
// keeps that number in its seq column. A random eventId took each new
// delivery to a random page of the index, and SQLite writes every page a
// commit touches whole; see migrations/0007_event_ids.sql.
//
// A sequence number is instance<<counterBits | n: each Migrate takes the
// next instance, a range of its own that no other Store, in this process
// or another, mints from, and its Store counts n up from 1. The index
// entries of a Store's deliveries are then added at the end of its range.

const (
	// counterBits is the width of n: 2^40, about 10^12, eventIds per
	// Store.
	counterBits = 40
	// maxInstance is the last instance with a range: seq stays within
	// eventid.MaxSeq.
	maxInstance = eventid.MaxSeq >> counterBits
)

// eventIDs is what a Store knows of its database's eventIds.
type eventIDs struct {
	perm *eventid.Perm
	// base is instance<<counterBits, or 0 when this Store has no range
	// (Migrate has not run on it): then it mints random eventIds, which
	// are indexed by their bytes, as those of older releases are.
	base uint64
	n    atomic.Uint64
}

// MintEventIDs implements [webhook.EventIDMinter]: it fills ids with the
// next eventIds of this Store's range, version 4 UUIDs that look random
// to anyone without the database's key. A Store that has not run
// [Store.Migrate], or whose range is spent (after 2^40 eventIds), mints
// random version 4 UUIDs instead; they work the same, at the cost of a
// write to a random page of the index for each.
func (s *Store) MintEventIDs(ids []uuid.UUID) {
	e := s.ids.Load()
	for i := range ids {
		if e != nil && e.base != 0 {
			if n := e.n.Add(1); n < 1<<counterBits {
				ids[i] = e.perm.UUID(e.base | n)
				continue
			}
		}
		ids[i] = uuid.New()
	}
}

// MintEventIDs implements [webhook.EventIDMinter], as [Store.MintEventIDs]
// does: minting writes nothing, in the transaction or out of it.
func (o *TxOutbox) MintEventIDs(ids []uuid.UUID) { o.r.s.MintEventIDs(ids) }

// eventIDs returns what the Store knows of the database's eventIds,
// reading its key through r the first time if Migrate has not run on
// this Store.
func (s *Store) eventIDs(ctx context.Context, r runner) (*eventIDs, error) {
	if e := s.ids.Load(); e != nil {
		return e, nil
	}
	var key []byte
	err := r.queryRow(ctx, `SELECT key FROM webhook_event_ids WHERE id = 1`).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: the database has no eventId key: run Migrate: %w", webhook.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: reading the eventId key: %w", err)
	}
	perm, err := eventid.New(key)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: the database's eventId key: %w", err)
	}
	s.ids.CompareAndSwap(nil, &eventIDs{perm: perm})
	return s.ids.Load(), nil
}

// seq returns the seq column of the delivery whose eventId is u: its
// sequence number if the database's key made it, else NULL.
func (e *eventIDs) seq(u uuid.UUID) any {
	if n, ok := e.perm.Seq(u); ok {
		return int64(n)
	}
	return nil
}

// key returns u's entry in webhook_deliveries_id, coalesce(seq, id): its
// sequence number if the database's key made it, else its bytes.
func (e *eventIDs) key(u uuid.UUID) any {
	if n := e.seq(u); n != nil {
		return n
	}
	return u[:]
}

// takeRange makes the database's eventId key if it has none yet, and
// takes the next instance for this Store, in Migrate's transaction q. It
// returns what the Store is to keep once that commits.
func takeRange(ctx context.Context, q *sql.Conn) (*eventIDs, error) {
	key := make([]byte, eventid.KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	if _, err := q.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_event_ids (id, key, instances) VALUES (1, ?, 0)`, key); err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: making the eventId key: %w", err)
	}
	var instance uint64
	err := q.QueryRowContext(ctx, `UPDATE webhook_event_ids SET instances = instances + 1 WHERE id = 1
		RETURNING key, instances`).Scan(&key, &instance)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: taking a range of eventIds: %w", err)
	}
	perm, err := eventid.New(key)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate: the database's eventId key: %w", err)
	}
	e := &eventIDs{perm: perm}
	if instance <= maxInstance {
		e.base = instance << counterBits
	}
	return e, nil
}
