package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/fedihook/webhook"
)

// A TxOutbox is a [webhook.Outbox] bound to the caller's transaction:
// webhooks are matched, and deliveries enqueued, inside it. The deliveries
// become claimable, and Listen-ers are notified, when the transaction
// commits; a rollback leaves no trace. Get one from [Store.InTx] and pass
// it to [webhook.Dispatcher.EmitVia].
//
// A TxOutbox is only valid while its transaction is open, and is used
// from one goroutine at a time, as the transaction itself. A failed
// Enqueue aborts the transaction, as any failed statement does: roll it
// back.
type TxOutbox struct {
	tx pgx.Tx
	s  *Store
}

// InTx returns an Outbox that writes through tx, a transaction (or
// savepoint) on the database of s's pool, whose tables s has migrated.
func (s *Store) InTx(tx pgx.Tx) *TxOutbox {
	return &TxOutbox{tx: tx, s: s}
}

// MatchHooks implements [webhook.Outbox], reading the webhooks as the
// transaction sees them.
func (o *TxOutbox) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	return matchHooks(ctx, o.tx, &o.s.sql, userID, e)
}

// Enqueue implements [webhook.Outbox] as [Store.Enqueue] does, in the
// transaction.
func (o *TxOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	return enqueue(ctx, o.tx, o.s, ds)
}
