// Command crashchild is the process that sqlitestore's crash test kills:
// it emits notes through a Store's transactional outbox and delivers their
// webhooks, until its standard input is closed. The test builds it without
// the race detector, which would slow SQLite down too much for the test's
// scale, and runs it again after each SIGKILL.
//
//	crashchild -db FILE -events N -users U
//
// Note k (0 <= k < N), with ID "note%05d", belongs to "user%03d" of k mod
// U; the notes table of FILE says which were emitted before, and only the
// others are.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
)

func main() {
	path := flag.String("db", "", "the SQLite database `file`")
	events := flag.Int("events", 0, "how many notes to emit in all")
	users := flag.Int("users", 1, "how many users the notes are spread over")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("crashchild: ")
	if *path == "" || *events <= 0 || *users <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*path, *events, *users); err != nil {
		log.Fatal(err)
	}
}

func run(path string, events, users int) error {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlitestore.New(db, nil)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	allow, err := webhook.ParseAllowRule("127.0.0.1/32")
	if err != nil {
		return err
	}
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{
		AllowNetworks: []webhook.AllowRule{allow}, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	var failures atomic.Int64
	d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr,
		Workers: 64, Lease: 2 * time.Second, PollInterval: 100 * time.Millisecond,
		OnAttempt: func(a webhook.AttemptReport) {
			if a.Err != nil && failures.Add(1) <= 20 {
				log.Printf("attempt %d of %s failed: %v", a.Attempt, a.Delivery.ID, a.Err)
			}
		}})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}

	done, err := emitted(ctx, db)
	if err != nil {
		return err
	}
	log.Printf("%d notes were emitted before", len(done))

	// Four emitters, as concurrent requests of a server would be.
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, 4)
	)
	for range 4 {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= events {
					return
				}
				id := fmt.Sprintf("note%05d", k)
				if done[id] {
					continue
				}
				if err := post(ctx, store, d, id, fmt.Sprintf("user%03d", k%users)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	log.Print("all notes emitted")

	// Deliver until the parent has everything and closes stdin.
	_, _ = io.Copy(io.Discard, os.Stdin)
	return d.Shutdown(ctx)
}

// emitted returns the IDs of the notes in the database.
func emitted(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM notes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		done[id] = true
	}
	return done, rows.Err()
}

// post inserts a note and emits its webhooks in one transaction. The
// Store wakes the Dispatcher when it commits.
func post(ctx context.Context, store *sqlitestore.Store, d *webhook.Dispatcher, id, userID string) error {
	body := map[string]any{"note": map[string]any{"id": id, "userId": userID, "text": "note " + id}}
	return store.Tx(ctx, func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO notes (id, user_id) VALUES (?, ?)`, id, userID); err != nil {
			return err
		}
		return d.EmitVia(ctx, o, userID, webhook.EventNote, body)
	})
}
