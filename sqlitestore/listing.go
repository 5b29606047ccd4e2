package sqlitestore

import (
	"context"
	"fmt"
)

// Deliveries are enqueued unlisted, outside webhook_deliveries_hook, and
// listed in bulk (see migration 6): each webhook has its own place in
// that index, so that listing them one transaction at a time wrote a page
// of it for nearly every delivery, and listing them a thousand at a time
// writes a busy webhook's page once for many of its deliveries. The
// unlisted ones are the deliveries above webhook_listed.upto with listed
// = 0, a range at the end of the table that ListDeliveries and DeleteHook
// read besides the index.

// listBatch is how many deliveries may wait unlisted before a write
// transaction of the Store lists them.
const listBatch = 1024

// unlistedSQL counts the deliveries that may be unlisted: those above
// upto.
const unlistedSQL = `SELECT (SELECT coalesce(max(pk), 0) FROM webhook_deliveries) - upto FROM webhook_listed WHERE id = 1`

// listSQL lists the unlisted deliveries, and listedUptoSQL then records
// that every delivery is listed.
const (
	listSQL = `UPDATE webhook_deliveries SET listed = 1
		WHERE pk > (SELECT upto FROM webhook_listed WHERE id = 1) AND listed = 0`
	listedUptoSQL = `UPDATE webhook_listed
		SET upto = max(upto, (SELECT coalesce(max(pk), 0) FROM webhook_deliveries)) WHERE id = 1`
)

// hookDeliveriesSQL selects the pks of the deliveries of the webhook whose
// pk is ?1, listed or not, from the index and the unlisted range.
const hookDeliveriesSQL = `SELECT pk FROM webhook_deliveries WHERE hook_pk = ?1 AND listed = 1
	UNION ALL
	SELECT pk FROM webhook_deliveries
	WHERE pk > (SELECT upto FROM webhook_listed WHERE id = 1) AND listed = 0 AND hook_pk = ?1`

// listIfDue lists the unlisted deliveries, in the Store's write
// transaction r, once listBatch or more wait.
func listIfDue(ctx context.Context, r runner) error {
	var n int64
	if err := r.queryRow(ctx, unlistedSQL).Scan(&n); err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	if n < listBatch {
		return nil
	}
	return listAll(ctx, r)
}

// listAll lists the unlisted deliveries in the write transaction r.
func listAll(ctx context.Context, r runner) error {
	if _, err := r.exec(ctx, listSQL); err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	if _, err := r.exec(ctx, listedUptoSQL); err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	return nil
}
