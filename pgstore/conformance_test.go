package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
	"github.com/fedihook/webhook/storetest"
)

// TestConformance runs the shared suite with each store's tables in a
// schema of its own, named by Config.Schema.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store { return newStore(t) })
}

// TestConformanceShared runs the two-handle cases on two Stores, each on
// its own pool, with their tables in one schema, as two processes would.
func TestConformanceShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) (a, b webhook.Store) {
		schema := newSchema(t)
		return newStoreIn(t, schema, nil), newStoreIn(t, schema, nil)
	})
}

// TestOperations runs the operations suite: releases, FailingSince,
// ordered webhooks, history, redelivery and stats.
func TestOperations(t *testing.T) {
	t.Parallel()
	storetest.RunOperations(t, func(t *testing.T) webhook.Store { return newStore(t) })
}

// TestConformanceSearchPath runs the suite with unqualified table names,
// found through the search_path set on the pool.
func TestConformanceSearchPath(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store {
		schema := newSchema(t)
		pool := newPool(t, func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["search_path"] = schema })
		_, err := pool.Exec(context.Background(), `CREATE SCHEMA "`+schema+`"`)
		require.NoError(t, err)
		s, err := pgstore.New(pool, nil)
		require.NoError(t, err)
		require.NoError(t, s.Migrate(context.Background()))
		return s
	})
}
