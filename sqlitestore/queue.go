package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
)

// Stored delivery states. They are part of the schema, so they are
// spelled out rather than taken from webhook.State.
const (
	statePending   = 1
	stateDelivered = 2
	stateFailed    = 3
)

func toState(s webhook.State) (int, bool) {
	switch s {
	case webhook.StatePending:
		return statePending, true
	case webhook.StateDelivered:
		return stateDelivered, true
	case webhook.StateFailed:
		return stateFailed, true
	}
	return 0, false
}

func fromState(n int) webhook.State {
	switch n {
	case statePending:
		return webhook.StatePending
	case stateDelivered:
		return webhook.StateDelivered
	case stateFailed:
		return webhook.StateFailed
	}
	return webhook.State(0)
}

// nextPKsSQL reads, under the write lock, the highest payload pk and the
// pk after which deliveries are enqueued: the highest in use, or, if
// that is lower, the highest listed (see migration 6), so that the
// deliveries enqueued unlisted stay one range at the end of the table.
// An enqueue's payloads and deliveries take the next ones.
const nextPKsSQL = `SELECT (SELECT coalesce(max(pk), 0) FROM webhook_payloads),
	max((SELECT coalesce(max(pk), 0) FROM webhook_deliveries), (SELECT upto FROM webhook_listed WHERE id = 1))`

// insertPayloadsSQL inserts n payloads, each with its pk, body and the
// number of deliveries that share it; rows of NULLs (padding) are
// skipped.
func insertPayloadsSQL(n int) string {
	return `INSERT INTO webhook_payloads (pk, body, refs)
		SELECT * FROM (VALUES ` + values(n, 3) + `) WHERE column1 IS NOT NULL`
}

// enqueueSQL inserts n deliveries, unlisted, each with its pk, taking
// each webhook's pk and ordered flag from its ID: a delivery of a missing
// webhook is not inserted, nor one whose ID is taken. A delivery of an
// ordered webhook is inserted held; [promoteSQL] then makes the webhook's
// earliest one its head. A delivery given a lease expiry (column10) is
// inserted claimed, with its first lease until then, unless its webhook
// is ordered. column11 is the eventId's sequence number, NULL if the
// Store did not mint it (see eventids.go). Each row inserted returns its
// pk, webhook pk, ordered flag and lease (1 if claimed).
func enqueueSQL(n int) string {
	return `INSERT OR IGNORE INTO webhook_deliveries
		(pk, id, seq, hook_pk, payload_pk, user_id, type, server, created_at, state, due_at, run_at, lease, ordered, held, listed)
		SELECT v.column1, v.column2, v.column11, h.pk, v.column4, v.column5, v.column6, v.column7, v.column8, 1, v.column9,
			CASE WHEN h.ordered THEN ` + heldRunAt + ` ELSE coalesce(v.column10, v.column9) END,
			CASE WHEN h.ordered OR v.column10 IS NULL THEN 0 ELSE 1 END, h.ordered, h.ordered, 0
		FROM (VALUES ` + values(n, enqueueCols) + `) AS v JOIN webhook_hooks h ON h.id = v.column3
		RETURNING pk, hook_pk, ordered, lease`
}

// enqueueCols is the number of parameters per row of enqueueSQL.
const enqueueCols = 11

// heldRunAt is the run_at of a held delivery: never due.
const heldRunAt = `9223372036854775807`

// promoteSQL makes the earliest pending delivery of an ordered webhook
// (the parameter) its head, claimable from its due time, unless it is
// already. One entry of webhook_deliveries_ordered says which it is.
const promoteSQL = `UPDATE webhook_deliveries SET held = 0, run_at = due_at
	WHERE pk = (SELECT pk FROM webhook_deliveries WHERE hook_pk = ?1 AND state = 1 AND ordered = 1 ORDER BY pk LIMIT 1)
		AND held = 1`

// promote runs promoteSQL for each of the ordered webhooks hookPKs.
func promote(ctx context.Context, r runner, hookPKs []int64) error {
	for _, pk := range hookPKs {
		if _, err := r.exec(ctx, promoteSQL, pk); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue implements [webhook.Outbox]: the deliveries are inserted in one
// transaction, all or none. A delivery of a webhook that does not exist
// fails the whole call with an error wrapping [webhook.ErrNotFound]; an
// existing delivery ID, with one wrapping [webhook.ErrConflict].
// Deliveries that share their Body bytes (as those of one Emit do) share
// one stored copy. Enqueues made concurrently are merged into one
// statement.
func (s *Store) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	if len(ds) == 0 {
		return ctx.Err()
	}
	req := &writeReq{ctx: ctx, op: "enqueue", deliveries: ds, enqueues: true}
	req.fn = func(r runner) error { return s.enqueueAll(ctx, r, []*writeReq{req}) }
	return s.do(req)
}

// EnqueueEvent implements [webhook.EventEnqueuer]: as Enqueue of the
// event's deliveries, one per webhook, which share one stored body.
//
// An Emission with Cached set, of webhooks from [Store.MatchHooksCached],
// is enqueued only if those are still the current ones: otherwise
// nothing is, and the error wraps [webhook.ErrHooksChanged].
func (s *Store) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	_, err := s.EnqueueAndClaim(ctx, em, time.Time{}, 0, 0) // claims none
	return err
}

// staleErr returns the error of an enqueue that found its webhooks stale
// (see writeReq.check), nil for one that did not.
func staleErr(req *writeReq) error {
	if req.stale {
		return fmt.Errorf("sqlitestore: enqueue: %w", webhook.ErrHooksChanged)
	}
	return nil
}

// EnqueueAndClaim implements [webhook.EnqueueClaimer]. The deliveries it
// claims are inserted already leased (their first lease, until
// now+lease, with the lease value 1 that Claim would give them) by the
// enqueue's own statement, merged as every Enqueue is with the concurrent
// writes into one transaction and commit; only when it claims some does
// that transaction also look up their webhooks' FailingSince, through the
// Store's cache of webhooks. A delivery whose webhook turns out to be
// ordered in the database is enqueued unclaimed. Listening Dispatchers
// (see [Store.Listen]) are woken only when a delivery is left unclaimed:
// nobody else has anything to claim.
func (s *Store) EnqueueAndClaim(ctx context.Context, em *webhook.Emission, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if len(em.IDs) != len(em.Hooks) {
		return nil, invalidf("Emission has %d IDs for %d Hooks", len(em.IDs), len(em.Hooks))
	}
	if len(em.Hooks) == 0 {
		return nil, ctx.Err()
	}
	req := s.enqueueClaimReq(ctx, em, now, max, lease)
	if err := s.do(req); err != nil {
		return nil, err
	}
	if err := staleErr(req); err != nil || req.until == nil {
		return nil, err
	}
	return claimsOf(req, em), nil
}

// enqueueClaimReq returns the write of EnqueueAndClaim(ctx, em, now, max,
// lease): its until is nil when it claims nothing.
func (s *Store) enqueueClaimReq(ctx context.Context, em *webhook.Emission, now time.Time, max int, lease time.Duration) *writeReq {
	req := &writeReq{ctx: ctx, op: "enqueue", deliveries: em.Deliveries(), enqueues: true}
	if em.Cached {
		req.check = checkOf(em)
	}
	req.fn = func(r runner) error { return s.enqueueAll(ctx, r, []*writeReq{req}) }
	expiry := nanos(now.Add(lease))
	n := 0
	for i, h := range em.Hooks {
		if n < max && !h.Ordered {
			if req.until == nil {
				req.until = make([]int64, len(em.Hooks))
			}
			req.until[i] = expiry
			n++
		}
	}
	return req
}

// claimsOf returns the claims of req, the write of an EnqueueAndClaim of
// em, once it has committed.
func claimsOf(req *writeReq, em *webhook.Emission) []webhook.Claim {
	var cs []webhook.Claim
	for i, hookPK := range req.leased {
		if hookPK == 0 {
			continue
		}
		var failing *time.Time
		if cur := req.hooks[hookPK]; cur != nil {
			failing = cur.FailingSince
		} else {
			failing = em.Hooks[i].FailingSince
		}
		if cs == nil {
			cs = make([]webhook.Claim, 0, len(req.leased)-i)
		}
		cs = append(cs, em.Claim(i, 1, failing))
	}
	return cs
}

// enqueueAll runs the enqueues ws (writes with deliveries) as one: their
// deliveries are inserted together, those with a lease expiry in
// writeReq.until claimed. It sets each write's leased, hooks and enqueues
// (whether it left a delivery unclaimed, for the listeners to claim). A
// write whose webhooks came from the cache and are no longer current
// (writeReq.check) is left out, and marked stale.
func (s *Store) enqueueAll(ctx context.Context, r runner, ws []*writeReq) error {
	version, err := s.checkHooks(ctx, r, ws)
	if err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	if ws = slices.DeleteFunc(slices.Clone(ws), func(w *writeReq) bool { return w.stale }); len(ws) == 0 {
		return nil
	}
	ds := ws[0].deliveries
	until := ws[0].until
	if len(ws) > 1 {
		ds, until = nil, nil
		claims := slices.ContainsFunc(ws, func(w *writeReq) bool { return w.until != nil })
		for _, w := range ws {
			ds = append(ds, w.deliveries...)
			if claims {
				u := w.until
				if u == nil {
					u = make([]int64, len(w.deliveries))
				}
				until = append(until, u...)
			}
		}
	}
	leased, err := enqueueLeased(ctx, r, ds, until)
	if err != nil {
		return err
	}
	var (
		pks   []int64
		hooks map[int64]*webhook.Webhook
	)
	for _, pk := range leased {
		if pk != 0 && !slices.Contains(pks, pk) {
			pks = append(pks, pk)
		}
	}
	if len(pks) > 0 {
		// The claims carry their webhooks' current FailingSince.
		hooks = make(map[int64]*webhook.Webhook, len(pks))
		if version == 0 {
			err = s.hooksByPKTx(ctx, r, hooks, pks)
		} else {
			err = s.hooksByPKAt(ctx, r, version, hooks, pks)
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
	}
	for _, w := range ws {
		w.leased, w.hooks = nil, nil
		claimed := 0
		if leased != nil {
			w.leased, leased = leased[:len(w.deliveries)], leased[len(w.deliveries):]
			for _, pk := range w.leased {
				if pk != 0 {
					claimed++
				}
			}
			if claimed > 0 {
				w.hooks = hooks
			}
		}
		w.enqueues = claimed < len(w.deliveries)
	}
	return nil
}

// bodyKey identifies a Body's bytes by where they are, so that the
// deliveries of one Emit store their shared body once.
type bodyKey struct {
	p *byte
	n int
}

// enqueue inserts ds, none claimed.
func enqueue(ctx context.Context, r runner, ds []*webhook.Delivery) error {
	_, err := enqueueLeased(ctx, r, ds, nil)
	return err
}

// enqueueLeased inserts ds, claiming those whose until (unix ns, nil or
// parallel to ds) is not 0: leased until then, unless their webhook is
// ordered. leased[i] is the pk of the webhook of ds[i] if it was inserted
// claimed, else 0; leased is nil when until is.
func enqueueLeased(ctx context.Context, r runner, ds []*webhook.Delivery, until []int64) (leased []int64, err error) {
	ids, err := r.s.eventIDs(ctx, r)
	if err != nil {
		return nil, err
	}
	// The payloads first: one row per distinct body, counting the
	// deliveries that share it, all in a few statements.
	var next, nextDelivery int64
	if err := r.queryRow(ctx, nextPKsSQL).Scan(&next, &nextDelivery); err != nil {
		return nil, fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	type payload struct {
		pk   int64
		body []byte
		refs int
	}
	var (
		payloads = make([]payload, 0, 1)
		byKey    = make(map[bodyKey]int, 1)
		ppks     = make([]int64, len(ds))
	)
	for i, d := range ds {
		body := d.Body
		if body == nil {
			body = []byte{}
		}
		var key bodyKey
		if len(body) > 0 {
			key = bodyKey{&body[0], len(body)}
		}
		j, ok := byKey[key]
		if !ok || key.p == nil {
			next++
			j = len(payloads)
			payloads = append(payloads, payload{pk: next, body: body})
			byKey[key] = j
		}
		payloads[j].refs++
		ppks[i] = payloads[j].pk
	}
	args := make([]any, 0, enqueueCols*bucket(min(max(len(ds), len(payloads)), maxRows)))
	for start := 0; start < len(payloads); start += maxRows {
		chunk := payloads[start:min(start+maxRows, len(payloads))]
		args = args[:0]
		for _, p := range chunk {
			args = append(args, p.pk, p.body, p.refs)
		}
		b := bucket(len(chunk))
		if _, err := r.exec(ctx, insertPayloadsSQL(b), pad(args, b, 3)...); err != nil {
			return nil, fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
	}
	if until != nil {
		leased = make([]int64, len(ds))
	}
	for start := 0; start < len(ds); start += maxRows {
		chunk := ds[start:min(start+maxRows, len(ds))]
		args = args[:0]
		first := nextDelivery + 1
		for i, d := range chunk {
			nextDelivery++
			var u any
			if until != nil && until[start+i] != 0 {
				u = until[start+i]
			}
			args = append(args, nextDelivery, d.ID[:], d.HookID, ppks[start+i], d.UserID, string(d.Type), d.Server,
				nanos(d.CreatedAt), nanos(d.NextAttemptAt), u, ids.seq(d.ID))
		}
		b := bucket(len(chunk))
		var chunkLeased []int64
		if leased != nil {
			chunkLeased = leased[start : start+len(chunk)]
		}
		n, ordered, err := insertDeliveries(ctx, r, b, pad(args, b, enqueueCols), first, chunkLeased)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
		if n != len(chunk) {
			return nil, enqueueFailure(ctx, r, chunk)
		}
		if err := promote(ctx, r, ordered); err != nil {
			return nil, fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
	}
	return leased, nil
}

// insertDeliveries runs enqueueSQL(b) for deliveries whose pks start at
// first, and returns how many it inserted and the distinct ordered
// webhooks among theirs. leased, if not nil, receives for each delivery
// inserted claimed its webhook's pk, at its index.
func insertDeliveries(ctx context.Context, r runner, b int, args []any, first int64, leased []int64) (n int, ordered []int64, err error) {
	rows, err := r.query(ctx, enqueueSQL(b), args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pk, hookPK, lease int64
			ord               bool
		)
		if err := rows.Scan(&pk, &hookPK, &ord, &lease); err != nil {
			return 0, nil, err
		}
		n++
		if ord && !slices.Contains(ordered, hookPK) {
			ordered = append(ordered, hookPK)
		}
		if i := pk - first; lease != 0 && leased != nil && i >= 0 && i < int64(len(leased)) {
			leased[i] = hookPK
		}
	}
	return n, ordered, rows.Err()
}

// enqueueFailure explains why not every delivery of chunk was inserted:
// a webhook is missing, or an ID is taken.
func enqueueFailure(ctx context.Context, r runner, chunk []*webhook.Delivery) error {
	for _, d := range chunk {
		var exists bool
		if err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_hooks WHERE id = ?)`, d.HookID).Scan(&exists); err != nil {
			return fmt.Errorf("sqlitestore: enqueue: %w", err)
		}
		if !exists {
			return notFound("webhook", d.HookID)
		}
	}
	seen := make(map[uuid.UUID]bool, len(chunk))
	for _, d := range chunk {
		if seen[d.ID] {
			return fmt.Errorf("webhook: delivery %s is listed twice: %w", d.ID, webhook.ErrConflict)
		}
		seen[d.ID] = true
	}
	return fmt.Errorf("webhook: a delivery with one of the %d IDs exists: %w", len(chunk), webhook.ErrConflict)
}

// claimSQL leases the earliest claimable pending deliveries in one
// statement, under the database's write lock: two claims, from any
// connections, never take the same row. A claimed row's run_at moves to
// the lease's expiry, when it becomes claimable again unless it is
// settled first. The LIMIT is "? + 0", not "?": SQLite's planner reads
// a bare bound LIMIT and then re-prepares the statement whenever it is
// bound anew, which cost half of a claim's CPU under the Dispatcher.
const claimSQL = `UPDATE webhook_deliveries SET lease = abs(lease) + 1, run_at = ?
	WHERE pk IN (
		SELECT pk FROM webhook_deliveries
		WHERE state = 1 AND run_at <= ?
		ORDER BY run_at, due_at, pk LIMIT ? + 0)
	RETURNING pk, id, hook_pk, user_id, type, server, created_at, attempts, due_at, last_status, last_error,
		last_attempt_at, lease,
		(SELECT p.body FROM webhook_payloads p WHERE p.pk = webhook_deliveries.payload_pk)`

type claimRow struct {
	pk, hookPK int64
	claim      webhook.Claim
}

// Claim implements [webhook.Queue]. Its lease values count the claims of
// each delivery (1 for the first claim, 2 for the second, ...), so they
// are unique per delivery, not across deliveries. A delivery whose lease
// expired is claimable again from the lease's expiry on, and is ordered
// by that time.
func (s *Store) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if max <= 0 {
		return nil, ctx.Err()
	}
	var claims []webhook.Claim
	err := s.write(ctx, "claim", func(r runner) error {
		crs, err := claim(ctx, r, now, max, lease)
		if err != nil {
			return err
		}
		claims, err = s.claimed(ctx, r, crs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// SettleAndClaim implements [webhook.SettleClaimer]: the results and the
// claim are one write, in one transaction (shared, as every write of the
// Store, with the writes of the moment), the claim seeing the results.
func (s *Store) SettleAndClaim(ctx context.Context, rs []webhook.Result, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	for i := range rs {
		if _, ok := toState(rs[i].State); !ok {
			return nil, invalidf("Result.State must be pending, delivered or failed, got %v", rs[i].State)
		}
	}
	if len(rs) == 0 && max <= 0 {
		return nil, ctx.Err()
	}
	var (
		lost   []bool
		claims []webhook.Claim
	)
	err := s.write(ctx, "settle and claim", func(r runner) error {
		var err error
		if len(rs) > 0 {
			if lost, err = settle(ctx, r, rs); err != nil {
				return err
			}
		}
		if max > 0 {
			crs, err := claim(ctx, r, now, max, lease)
			if err != nil {
				return err
			}
			claims, err = s.claimed(ctx, r, crs)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claims, lostErrors(rs, lost)
}

// lostErrors reports the results whose lease was lost.
func lostErrors(rs []webhook.Result, lost []bool) error {
	var errs []error
	for i, l := range lost {
		if l {
			errs = append(errs, fmt.Errorf("webhook: delivery %s: %w", rs[i].ID, webhook.ErrLeaseLost))
		}
	}
	return errors.Join(errs...)
}

// claimed turns the rows of a claim into Claims, in due order, with their
// webhooks' current records, read in the claim's transaction r.
func (s *Store) claimed(ctx context.Context, r runner, crs []claimRow) ([]webhook.Claim, error) {
	if len(crs) == 0 {
		return nil, nil
	}
	// RETURNING gives rows in no particular order; the claim's is the due
	// order.
	slices.SortFunc(crs, func(a, b claimRow) int {
		return cmp.Or(a.claim.Delivery.NextAttemptAt.Compare(b.claim.Delivery.NextAttemptAt), cmp.Compare(a.pk, b.pk))
	})

	// The webhooks' current records. A webhook deleted since the claim
	// took its deliveries with it, so those claims are dropped; its pk is
	// never reused.
	var pks []int64
	seen := make(map[int64]bool, len(crs))
	for _, cr := range crs {
		if !seen[cr.hookPK] {
			seen[cr.hookPK] = true
			pks = append(pks, cr.hookPK)
		}
	}
	hooks := make(map[int64]*webhook.Webhook, len(pks))
	if err := s.hooksByPKTx(ctx, r, hooks, pks); err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	out := make([]webhook.Claim, 0, len(crs))
	for _, cr := range crs {
		if w := hooks[cr.hookPK]; w != nil {
			cr.claim.Hook = w
			cr.claim.Delivery.HookID = w.ID
			out = append(out, cr.claim)
		}
	}
	return out, nil
}

func hooksByPK(ctx context.Context, r runner, into map[int64]*webhook.Webhook, n int, pks []any) error {
	rows, err := r.query(ctx, hooksByPKSQL(n), pks...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		pk, w, err := scanHook(rows)
		if err != nil {
			return err
		}
		into[pk] = w
	}
	return rows.Err()
}

func claim(ctx context.Context, r runner, now time.Time, max int, lease time.Duration) ([]claimRow, error) {
	rows, err := r.query(ctx, claimSQL, nanos(now.Add(lease)), nanos(now), max)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	defer rows.Close()
	var crs []claimRow
	for rows.Next() {
		var (
			cr                      claimRow
			d                       = &cr.claim.Delivery
			id                      []byte
			typ                     string
			createdAt, dueAt, lease int64
			lastAt                  sql.NullInt64
		)
		if err := rows.Scan(&cr.pk, &id, &cr.hookPK, &d.UserID, &typ, &d.Server, &createdAt,
			&d.Attempts, &dueAt, &d.LastStatus, &d.LastError, &lastAt, &lease, &d.Body); err != nil {
			return nil, fmt.Errorf("sqlitestore: claim: %w", err)
		}
		if d.ID, err = uuid.FromBytes(id); err != nil {
			return nil, fmt.Errorf("sqlitestore: claim: delivery %d: %w", cr.pk, err)
		}
		d.Type = webhook.Event(typ)
		d.CreatedAt = fromNanos(createdAt)
		d.NextAttemptAt = fromNanos(dueAt)
		d.LastAttemptAt = fromNanos(lastAt.Int64)
		d.State = webhook.StatePending
		cr.claim.Lease = lease
		crs = append(crs, cr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	return crs, nil
}

// Settle implements [webhook.Queue], in one transaction and, for up to 64
// results, one UPDATE statement. Settles made concurrently are merged
// into one statement.
func (s *Store) Settle(ctx context.Context, rs []webhook.Result) error {
	if len(rs) == 0 {
		return ctx.Err()
	}
	for i := range rs {
		if _, ok := toState(rs[i].State); !ok {
			return invalidf("Result.State must be pending, delivered or failed, got %v", rs[i].State)
		}
	}
	req := &writeReq{ctx: ctx, op: "settle", results: rs}
	req.fn = func(r runner) error {
		var err error
		req.lost, err = settle(ctx, r, rs)
		return err
	}
	if err := s.do(req); err != nil {
		return err
	}
	return lostErrors(rs, req.lost)
}

// settleSQL applies n results to the deliveries they name, if the lease
// is still theirs. Per row: id, lease, state, due_at (NULL for a
// finished delivery), status, error, finished_at, whether it was an
// attempt (0 for a release) and the attempt's time.
func settleSQL(n int) string {
	return `UPDATE webhook_deliveries
		SET state = r.column3, attempts = attempts + r.column8,
			due_at = coalesce(r.column4, due_at), run_at = coalesce(r.column4, run_at), lease = -lease,
			last_status = CASE WHEN r.column8 THEN r.column5 ELSE last_status END,
			last_error = CASE WHEN r.column8 THEN r.column6 ELSE last_error END,
			finished_at = r.column7,
			last_attempt_at = CASE WHEN r.column8 THEN r.column9 ELSE last_attempt_at END
		FROM (VALUES ` + values(n, 9) + `) AS r
		WHERE coalesce(webhook_deliveries.seq, webhook_deliveries.id) = r.column1 AND webhook_deliveries.lease = r.column2 AND webhook_deliveries.lease > 0
		RETURNING pk, id, hook_pk, ordered AND state <> 1`
}

// hookStatusSQL sets the latest attempt of n webhooks and their failing
// streak. Per row: pk, latest_sent_at, latest_status, whether a delivery
// succeeded (then failing_since restarts from the next column), and the
// first failure (after that success, if any), or NULL.
func hookStatusSQL(n int) string {
	return `UPDATE webhook_hooks SET latest_sent_at = r.column2, latest_status = r.column3,
			failing_since = CASE WHEN r.column4 THEN r.column5 ELSE coalesce(failing_since, r.column5) END
		FROM (VALUES ` + values(n, 5) + `) AS r WHERE webhook_hooks.pk = r.column1`
}

// attemptsSQL records n attempts; rows of NULLs (padding) are skipped.
func attemptsSQL(n int) string {
	return `INSERT INTO webhook_attempts (delivery_pk, at, duration, status, error, response, retry)
		SELECT * FROM (VALUES ` + values(n, 7) + `) WHERE column1 IS NOT NULL`
}

// hookStatus is what a batch of results does to a webhook.
type hookStatus struct {
	at        int64
	status    int
	succeeded bool          // a delivery succeeded: the streak restarts
	failedAt  sql.NullInt64 // the streak's first failure since then, or in all
}

// settle applies rs in order; lost[i] reports that rs[i] was refused
// because its lease was lost. A result with Release set releases
// its claim: the delivery stays pending, due at NextAttemptAt, and no
// attempt is recorded.
func settle(ctx context.Context, r runner, rs []webhook.Result) (lost []bool, err error) {
	lost = make([]bool, len(rs))
	var (
		order    []int64
		hooks    = make(map[int64]*hookStatus)
		attempts []any
		seen     = make(map[uuid.UUID]bool, min(len(rs), maxRows))
		heads    []int64 // ordered webhooks whose head finished
	)
	for start := 0; start < len(rs); {
		// A chunk names each delivery once, so that two results for one
		// delivery are applied in order: the second then finds the lease
		// gone.
		clear(seen)
		end := start
		for end < len(rs) && end-start < maxRows && !seen[rs[end].ID] {
			seen[rs[end].ID] = true
			end++
		}
		applied, err := settleRows(ctx, r, rs[start:end], lost[start:end])
		if err != nil {
			return nil, err
		}
		for i, a := range applied {
			res := &rs[start+i]
			if a.headDone && !slices.Contains(heads, a.hookPK) {
				heads = append(heads, a.hookPK)
			}
			if a.hookPK == 0 || res.Release {
				continue // not applied, or a release
			}
			at := nanos(res.Attempt.At)
			h := hooks[a.hookPK]
			if h == nil {
				h = &hookStatus{}
				hooks[a.hookPK] = h
				order = append(order, a.hookPK)
			}
			h.at, h.status = at, cmp.Or(res.Attempt.Status, 1)
			switch {
			case res.State == webhook.StateDelivered:
				h.succeeded, h.failedAt = true, sql.NullInt64{}
			case !h.failedAt.Valid:
				h.failedAt = sql.NullInt64{Int64: at, Valid: true}
			}
			resp := res.Attempt.Response
			resp = resp[:min(len(resp), webhook.MaxResponseRecord)]
			if resp == nil {
				resp = []byte{}
			}
			attempts = append(attempts, a.pk, at, int64(res.Attempt.Duration), res.Attempt.Status,
				res.Attempt.Error, resp, res.State == webhook.StatePending)
		}
		start = end
	}
	// The next delivery of an ordered webhook whose head finished becomes
	// its head.
	if err := promote(ctx, r, heads); err != nil {
		return nil, fmt.Errorf("sqlitestore: settle: %w", err)
	}
	for start := 0; start < len(attempts); start += 7 * maxRows {
		chunk := attempts[start:min(start+7*maxRows, len(attempts))]
		b := bucket(len(chunk) / 7)
		if _, err := r.exec(ctx, attemptsSQL(b), pad(chunk, b, 7)...); err != nil {
			return nil, fmt.Errorf("sqlitestore: settle: %w", err)
		}
	}
	args := make([]any, 0, 5*bucket(min(len(order), maxRows)))
	for start := 0; start < len(order); start += maxRows {
		chunk := order[start:min(start+maxRows, len(order))]
		args = args[:0]
		for _, pk := range chunk {
			h := hooks[pk]
			args = append(args, pk, h.at, h.status, h.succeeded, h.failedAt)
		}
		b := bucket(len(chunk))
		if _, err := r.exec(ctx, hookStatusSQL(b), pad(args, b, 5)...); err != nil {
			return nil, fmt.Errorf("sqlitestore: settle: %w", err)
		}
	}
	return lost, nil
}

// settled says what became of one result: the pk of its delivery and of
// the delivery's webhook, or zeros when it was not applied, and whether it
// finished the head of an ordered webhook.
type settled struct {
	pk, hookPK int64
	headDone   bool
}

// settleRows applies rs, which name distinct deliveries, in one
// statement. A result not applied had lost its lease (then lost[i] is
// set), or its delivery is gone.
func settleRows(ctx context.Context, r runner, rs []webhook.Result, lost []bool) ([]settled, error) {
	ids, err := r.s.eventIDs(ctx, r)
	if err != nil {
		return nil, err
	}
	b := bucket(len(rs))
	args := make([]any, 0, 9*b)
	for i := range rs {
		res := &rs[i]
		st, _ := toState(res.State)
		var due, finished, at sql.NullInt64
		attempt := !res.Release
		switch {
		case !attempt: // a release
			st = statePending
			due = sql.NullInt64{Int64: nanos(res.NextAttemptAt), Valid: true}
		case st == statePending:
			due = sql.NullInt64{Int64: nanos(res.NextAttemptAt), Valid: true}
		default:
			finished = sql.NullInt64{Int64: nanos(res.Attempt.At), Valid: true}
		}
		if attempt {
			at = sql.NullInt64{Int64: nanos(res.Attempt.At), Valid: true}
		}
		args = append(args, ids.key(res.ID), res.Lease, st, due, res.Attempt.Status, res.Attempt.Error, finished, attempt, at)
	}
	rows, err := r.query(ctx, settleSQL(b), pad(args, b, 9)...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: settle: %w", err)
	}
	byID := make(map[uuid.UUID]settled, len(rs))
	for rows.Next() {
		var (
			id []byte
			st settled
		)
		if err := rows.Scan(&st.pk, &id, &st.hookPK, &st.headDone); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlitestore: settle: %w", err)
		}
		if u, err := uuid.FromBytes(id); err == nil {
			byID[u] = st
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: settle: %w", err)
	}
	applied := make([]settled, len(rs))
	var missed []any
	for i := range rs {
		if applied[i] = byID[rs[i].ID]; applied[i].pk == 0 {
			missed = append(missed, ids.key(rs[i].ID))
		}
	}
	if len(missed) == 0 {
		return applied, nil
	}
	// Not applied: lost if the delivery still exists, else skipped.
	rows, err = r.query(ctx, `SELECT id FROM webhook_deliveries WHERE coalesce(seq, id) IN (`+inArgs(len(missed))+`)`, missed...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: settle: %w", err)
	}
	defer rows.Close()
	exists := make(map[uuid.UUID]bool, len(missed))
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlitestore: settle: %w", err)
		}
		if u, err := uuid.FromBytes(id); err == nil {
			exists[u] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: settle: %w", err)
	}
	for i := range rs {
		if applied[i].pk == 0 && exists[rs[i].ID] {
			lost[i] = true
		}
	}
	return applied, nil
}

// deliveryColumns are read by scanDelivery; the query joins
// webhook_deliveries d, webhook_hooks h and webhook_payloads p.
const deliveryColumns = `h.id, d.id, d.user_id, d.type, d.server, d.created_at, d.state, d.attempts,
	d.due_at, d.last_status, d.last_error, d.last_attempt_at, p.body`

const getDeliverySQL = `SELECT ` + deliveryColumns + `
	FROM webhook_deliveries d
	JOIN webhook_hooks h ON h.pk = d.hook_pk
	JOIN webhook_payloads p ON p.pk = d.payload_pk
	WHERE coalesce(d.seq, d.id) = ?`

// scanDelivery reads a row of deliveryColumns.
func scanDelivery(sc interface{ Scan(...any) error }) (*webhook.Delivery, error) {
	var (
		d                = &webhook.Delivery{}
		id               []byte
		typ              string
		state            int
		createdAt, dueAt int64
		lastAt           sql.NullInt64
	)
	if err := sc.Scan(&d.HookID, &id, &d.UserID, &typ, &d.Server, &createdAt, &state, &d.Attempts,
		&dueAt, &d.LastStatus, &d.LastError, &lastAt, &d.Body); err != nil {
		return nil, err
	}
	var err error
	if d.ID, err = uuid.FromBytes(id); err != nil {
		return nil, err
	}
	d.Type = webhook.Event(typ)
	d.CreatedAt = fromNanos(createdAt)
	d.State = fromState(state)
	d.NextAttemptAt = fromNanos(dueAt)
	d.LastAttemptAt = fromNanos(lastAt.Int64)
	return d, nil
}

// GetDelivery implements [webhook.Queue].
func (s *Store) GetDelivery(ctx context.Context, id uuid.UUID) (*webhook.Delivery, error) {
	s.prepare(ctx)
	ids, err := s.eventIDs(ctx, runner{s: s})
	if err != nil {
		return nil, err
	}
	d, err := scanDelivery(runner{s: s}.queryRow(ctx, getDeliverySQL, ids.key(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("delivery", id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get delivery: %w", err)
	}
	return d, nil
}

// Prune deletes the deliveries that were delivered or failed longer than
// Config.Retention before now (by the time of their last attempt), their
// attempts, and the payloads no delivery uses any more. It works in batches of
// Config.PruneBatch deliveries, one transaction each, and returns how many
// deliveries it deleted, also when it fails part-way. Pending deliveries
// are never pruned. Call it now and then, say hourly, from one process.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	cutoff := nanos(now.Add(-s.retention))
	var total int64
	for {
		var n int64
		err := s.write(ctx, "prune", func(r runner) error {
			var err error
			n, err = deleteDeliveries(ctx, r, `DELETE FROM webhook_deliveries WHERE pk IN (
				SELECT pk FROM webhook_deliveries WHERE state <> 1 AND finished_at < ?
				ORDER BY finished_at LIMIT ?) RETURNING pk, payload_pk`, cutoff, s.pruneBatch)
			if err != nil {
				return fmt.Errorf("sqlitestore: prune: %w", err)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(s.pruneBatch) {
			return total, nil
		}
	}
}

// deleteDeliveries runs query, a DELETE of deliveries RETURNING their pk
// and payload_pk, then deletes their attempts and the payloads left
// unused. It returns how many deliveries were deleted.
func deleteDeliveries(ctx context.Context, r runner, query string, args ...any) (int64, error) {
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	var (
		pks  []any
		refs = make(map[int64]int64) // payload pk: deliveries deleted
	)
	for rows.Next() {
		var pk, ppk int64
		if err := rows.Scan(&pk, &ppk); err != nil {
			rows.Close()
			return 0, err
		}
		pks = append(pks, pk)
		refs[ppk]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	const chunk = 500
	for c := range slices.Chunk(pks, chunk) {
		if _, err := r.exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_pk IN (`+inArgs(len(c))+`)`, c...); err != nil {
			return 0, err
		}
	}
	// Each payload loses the deliveries deleted; one that none uses any
	// more goes.
	payloads := make([]any, 0, 2*len(refs))
	for ppk, n := range refs {
		payloads = append(payloads, ppk, n)
	}
	for c := range slices.Chunk(payloads, 2*chunk) {
		if _, err := r.exec(ctx, `UPDATE webhook_payloads SET refs = refs - r.column2
			FROM (VALUES `+values(len(c)/2, 2)+`) AS r WHERE webhook_payloads.pk = r.column1`, c...); err != nil {
			return 0, err
		}
		keys := make([]any, 0, len(c)/2)
		for i := 0; i < len(c); i += 2 {
			keys = append(keys, c[i])
		}
		if _, err := r.exec(ctx, `DELETE FROM webhook_payloads WHERE pk IN (`+inArgs(len(keys))+`) AND refs <= 0`, keys...); err != nil {
			return 0, err
		}
	}
	return int64(len(pks)), nil
}
