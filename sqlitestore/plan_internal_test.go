package sqlitestore

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQueryPlans checks that the hot statements read through indexes:
// none scans a table, whatever its size.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newInternalStore(t)
	for name, q := range map[string]string{
		"claim":           claimSQL,
		"promote":         promoteSQL,
		"requeue last":    requeueLastSQL,
		"match":           matchHooksSQL,
		"enqueue":         enqueueSQL(4),
		"settle":          settleSQL(4),
		"hook status":     hookStatusSQL(4),
		"hooks by pk":     hooksByPKSQL(4),
		"get delivery":    getDeliverySQL,
		"attempts of":     attemptsOfSQL,
		"redeliver":       redeliverSQL,
		"list deliveries": listDeliveriesSQL,
		"hook deliveries": hookDeliveriesSQL,
		"unlisted":        unlistedSQL,
		"list":            listSQL,
		"listed upto":     listedUptoSQL,
		"next pks":        nextPKsSQL,
		"get hook":        getHookSQL,
		"list hooks":      listHooksSQL,
	} {
		args := make([]any, strings.Count(q, "?")) // all NULL
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		require.NoError(t, err, name)
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		if name == "promote" || name == "requeue last" {
			require.Contains(t, strings.Join(plan, "; "), "webhook_deliveries_ordered", "%s finds the webhook's pending deliveries in its index", name)
		}
		switch name {
		case "settle", "get delivery", "attempts of", "redeliver":
			require.Contains(t, strings.Join(plan, "; "), "USING INDEX webhook_deliveries_id", "%s finds deliveries by eventId in its index", name)
		}
		t.Logf("%s: %s", name, strings.Join(plan, "; "))
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN webhook_") || strings.HasPrefix(step, "SCAN h ") || strings.HasPrefix(step, "SCAN d ") {
				t.Errorf("%s scans a table: %s", name, strings.Join(plan, "; "))
			}
		}
	}
}
