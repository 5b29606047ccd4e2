package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fedihook/webhook"
)

// A TxOutbox is a [webhook.Outbox] bound to the caller's own transaction:
// the deliveries it enqueues exist if and only if that transaction
// commits. Get one from [Store.InTx] and pass it to the Dispatcher's
// EmitVia. It is valid only as long as its transaction.
type TxOutbox struct {
	tx *sql.Tx
}

// InTx returns an Outbox that matches webhooks and enqueues deliveries in
// tx, which must be a transaction on the database of s. The caller
// commits or rolls back tx; InTx never does.
//
// Open the database with _txlock=immediate (see the package
// documentation) or begin tx with a write: a deferred transaction that
// reads and then writes fails with SQLITE_BUSY, without waiting, when
// another connection wrote in between.
func (s *Store) InTx(tx *sql.Tx) *TxOutbox {
	return &TxOutbox{tx: tx}
}

// MatchHooks implements [webhook.Outbox], reading in the transaction.
func (o *TxOutbox) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	return matchHooks(ctx, o.tx, userID, e)
}

// Enqueue implements [webhook.Outbox], inserting in the transaction. It
// behaves as [Store.Enqueue]: all or none, inside a savepoint, so that
// after an error the transaction is as it was before the call and the
// caller may still commit its own work.
func (o *TxOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	if len(ds) == 0 {
		return ctx.Err()
	}
	if _, err := o.tx.ExecContext(ctx, `SAVEPOINT webhook_enqueue`); err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	if err := enqueue(ctx, o.tx, ds); err != nil {
		// Undo this call's inserts, even when ctx is done; if that fails
		// too, the caller's rollback of the whole transaction will.
		if _, rerr := o.tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO webhook_enqueue`); rerr == nil {
			_, _ = o.tx.ExecContext(context.WithoutCancel(ctx), `RELEASE webhook_enqueue`)
		}
		return err
	}
	if _, err := o.tx.ExecContext(ctx, `RELEASE webhook_enqueue`); err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	return nil
}
