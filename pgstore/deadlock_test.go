package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestSettleRunsADeadlockVictimAgain: a settle that PostgreSQL aborts to
// break a deadlock is run again, and its results are applied, rather than
// dropped (their deliveries would be attempted again once their leases
// lapsed). The deadlock is made on purpose: another transaction holds
// the second webhook's status row while the settle holds the first's,
// then asks for the first. The settle waited first and detects the cycle
// first (its deadlock_timeout is the shorter), so it is the one aborted.
func TestSettleRunsADeadlockVictimAgain(t *testing.T) {
	t.Parallel()
	for _, withClaim := range []bool{false, true} {
		name := "Settle"
		if withClaim {
			name = "SettleAndClaim"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			schema := newSchema(t)
			app := "fedihook-settle-" + schema
			s := newStoreIn(t, schema, func(c *pgxpool.Config) {
				c.ConnConfig.RuntimeParams["application_name"] = app
				c.ConnConfig.RuntimeParams["deadlock_timeout"] = "2s"
			})
			a, b := testHook("a1", "u"), testHook("b2", "u") // a1 sorts first
			require.NoError(t, s.CreateHook(ctx, a, 0))
			require.NoError(t, s.CreateHook(ctx, b, 0))
			da, db := testDelivery(a, t0, []byte(`{}`)), testDelivery(b, t0, []byte(`{}`))
			require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{da, db}))
			cs, err := s.Claim(ctx, t0, 10, time.Minute)
			require.NoError(t, err)
			require.Len(t, cs, 2)
			rs := make([]webhook.Result, len(cs))
			for i, c := range cs {
				rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: c.Hook.ID, Lease: c.Lease, State: webhook.StateDelivered,
					Attempt: webhook.Attempt{At: t0.Add(time.Second), Status: 204}}
			}

			other := newPool(t, nil)
			tx, err := other.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = tx.Exec(ctx, "SET LOCAL deadlock_timeout = '30s'")
			require.NoError(t, err)
			status := pgx.Identifier{schema, "fedihook_hook_status"}.Sanitize()
			_, err = tx.Exec(ctx, "SELECT FROM "+status+" WHERE hook_id = 'b2' FOR UPDATE")
			require.NoError(t, err)

			done := make(chan error, 1)
			go func() {
				var err error
				if withClaim {
					_, err = s.SettleAndClaim(ctx, rs, t0, 5, time.Minute)
				} else {
					err = s.Settle(ctx, rs)
				}
				done <- err
			}()
			// Once the settle waits for b2's row, it holds a1's.
			require.Eventually(t, func() bool {
				var n int
				err := other.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n)
				require.NoError(t, err)
				return n == 1
			}, 20*time.Second, 5*time.Millisecond, "the settle never waited for the row held")
			_, err = tx.Exec(ctx, "SELECT FROM "+status+" WHERE hook_id = 'a1' FOR UPDATE")
			require.NoError(t, err, "the settle, not this transaction, is the deadlock's victim")
			require.NoError(t, tx.Commit(ctx))

			require.NoError(t, <-done, "the aborted settle was run again")
			for _, d := range []*webhook.Delivery{da, db} {
				got, err := s.GetDelivery(ctx, d.ID)
				require.NoError(t, err)
				require.Equal(t, webhook.StateDelivered, got.State)
			}
		})
	}
}
