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
	// enqueued, when set, is called after a successful Enqueue.
	enqueued func()
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
	if o.enqueued != nil {
		o.enqueued()
	}
	return nil
}

// EnqueueEvent implements [webhook.EventEnqueuer], as Enqueue does.
func (o *TxOutbox) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	return o.Enqueue(ctx, em.Deliveries())
}

// A Querier is what [Store.Tx] hands its function to read and write with:
// the methods of a *sql.Tx but Commit and Rollback, which are the Store's.
// It has the shape of sqlc's DBTX interface.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// txQuerier hides the *sql.Tx of a grouped transaction from fn.
type txQuerier struct{ tx *sql.Tx }

func (q txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.tx.ExecContext(ctx, query, args...)
}

func (q txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.QueryContext(ctx, query, args...)
}

func (q txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.tx.QueryRowContext(ctx, query, args...)
}

func (q txQuerier) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return q.tx.PrepareContext(ctx, query)
}

// Tx runs fn in a write transaction of the Store's database, with an
// Outbox bound to it, and commits when fn returns nil: what fn wrote,
// and the deliveries it enqueued, exist if and only if fn succeeded. fn's
// error is returned as is.
//
// When it commits deliveries, the Dispatchers of the process that listen
// (see [Store.Listen]) are woken.
//
// Tx is the faster way to emit in a transaction: fn runs as one of the
// Store's grouped writes, in a savepoint of a transaction shared with
// the Store's other writes of the moment, so that it never waits in
// SQLite's busy handler for them (as a transaction of the application's
// own does) and shares their commit. In return fn holds up those writes
// while it runs: keep it short, and do not call the Store's own methods
// (nor a Dispatcher's Emit, which calls them) inside it: they would wait
// for fn to end. Use the Outbox and q instead.
func (s *Store) Tx(ctx context.Context, fn func(q Querier, o *TxOutbox) error) error {
	var fnErr error
	req := &writeReq{ctx: ctx, op: "transaction", once: true}
	req.fn = func(r runner) error {
		fnErr = fn(txQuerier{r.tx}, &TxOutbox{r: r, enqueued: func() { req.enqueues = true }})
		return fnErr
	}
	err := s.do(req)
	if fnErr != nil {
		return fnErr
	}
	return err
}
