package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the store never closes it

	store, err := pgstore.New(pool, &pgstore.Config{Schema: "webhooks"})
	if err != nil {
		log.Fatal(err)
	}
	// Safe to run from every instance at start-up.
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld"})
	if err != nil {
		log.Fatal(err)
	}
	// Every instance may start a Dispatcher on the same database: they
	// share the deliveries, and each wakes when another emits.
	if err := d.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer d.Shutdown(ctx)

	// Now and then, for instance hourly, drop what is older than
	// Config.Retention.
	if _, err := store.Prune(ctx, time.Now()); err != nil {
		log.Print(err)
	}
}
