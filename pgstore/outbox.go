package pgstore

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

// A TxOutbox is a [webhook.Outbox] bound to the caller's transaction:
// deliveries are enqueued inside it. They become claimable, and Listen-ers
// are notified, when the transaction commits; a rollback leaves no trace.
// Get one from [Store.InTx] (a pgx transaction) or [Store.InSQLTx] (a
// database/sql transaction on pgx's stdlib driver, as bun, sqlx and
// GoToSocial use) and pass it to [webhook.Dispatcher.EmitVia].
//
// A TxOutbox is only valid while its transaction is open, and is used
// from one goroutine at a time, as the transaction itself. A failed
// Enqueue aborts the transaction, as any failed statement does: roll it
// back.
type TxOutbox struct {
	tx    pgx.Tx  // or
	sqlTx *sql.Tx // one of the two
	s     *Store
}

// InTx returns an Outbox that writes through tx, a transaction (or
// savepoint) on the database of s's pool, whose tables s has migrated.
func (s *Store) InTx(tx pgx.Tx) *TxOutbox {
	return &TxOutbox{tx: tx, s: s}
}

// InSQLTx is InTx for a database/sql transaction. Its connection must use
// pgx's stdlib driver (github.com/jackc/pgx/v5/stdlib, registered as
// "pgx"), which takes the arrays Enqueue sends as they are; with another
// driver, Enqueue fails.
func (s *Store) InSQLTx(tx *sql.Tx) *TxOutbox {
	return &TxOutbox{sqlTx: tx, s: s}
}

// MatchHooks implements [webhook.Outbox]. With a pgx transaction it reads
// the webhooks as the transaction sees them, unless the store is
// listening and answers from its in-process view, as [Store.MatchHooks]
// does; with a database/sql transaction it is [Store.MatchHooks].
func (o *TxOutbox) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	if o.tx == nil {
		return o.s.MatchHooks(ctx, userID, e)
	}
	return o.s.hooks.match(ctx, userID, e, false, func(ctx context.Context) ([]*webhook.Webhook, error) {
		return queryHooks(ctx, o.tx, o.s.sql.userHooks, userID)
	})
}

// Enqueue implements [webhook.Outbox] as [Store.Enqueue] does, in the
// transaction.
func (o *TxOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	return o.enqueue(ctx, enqueued{ds: ds})
}

// EnqueueEvent implements [webhook.EventEnqueuer] as [Store.EnqueueEvent]
// does, in the transaction.
func (o *TxOutbox) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	return o.enqueue(ctx, enqueued{em: em})
}

func (o *TxOutbox) enqueue(ctx context.Context, e enqueued) error {
	if o.tx != nil {
		return enqueue(ctx, o.tx, o.s, []enqueued{e})
	}
	args, n := enqueueArgs([]enqueued{e}, o.s.channel)
	if n == 0 {
		return ctx.Err()
	}
	var v int64
	var notified, fsHooks, fsAt any
	err := o.sqlTx.QueryRowContext(ctx, o.s.sql.enqueueTx, args...).Scan(&v, &notified, &fsHooks, &fsAt)
	if err == nil {
		o.s.hooks.sawVersion(v)
	}
	return enqueueError(n, err)
}
