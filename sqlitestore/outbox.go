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
	r runner
}

// InTx returns an Outbox that matches webhooks and enqueues deliveries in
// tx, which must be a transaction of the *sql.DB the Store was created
// with. The caller commits or rolls back tx; InTx never does.
//
// Open the database with _txlock=immediate (see the package
// documentation), or write before the Emit: in a deferred transaction
// that has read, the first write fails at once with SQLITE_BUSY, without
// waiting, if another connection wrote since the read.
func (s *Store) InTx(tx *sql.Tx) *TxOutbox {
	return &TxOutbox{r: runner{s: s, tx: tx}}
}

// MatchHooks implements [webhook.Outbox], reading in the transaction.
func (o *TxOutbox) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	return matchHooks(ctx, o.r, userID, e)
}

// Enqueue implements [webhook.Outbox], inserting in the transaction. It
// behaves as [Store.Enqueue]: all or none, inside a savepoint, so that
// after an error the transaction is as it was before the call and the
// caller may still commit its own work.
func (o *TxOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	if len(ds) == 0 {
		return ctx.Err()
	}
	if _, err := o.r.exec(ctx, `SAVEPOINT webhook_enqueue`); err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	if err := enqueue(ctx, o.r, ds); err != nil {
		// Undo this call's inserts, even when ctx is done; if that fails
		// too, the caller's rollback of the whole transaction will.
		bg := context.WithoutCancel(ctx)
		if _, rerr := o.r.exec(bg, `ROLLBACK TO webhook_enqueue`); rerr == nil {
			_, _ = o.r.exec(bg, `RELEASE webhook_enqueue`)
		}
		return err
	}
	if _, err := o.r.exec(ctx, `RELEASE webhook_enqueue`); err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	return nil
}
