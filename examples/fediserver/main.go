// Command fediserver is a small fediverse-style HTTP server that emits
// Misskey-compatible webhooks with fedihook: users post notes and follow
// each other, everything is stored in SQLite, and each change enqueues
// its webhooks in the same database transaction (the transactional
// outbox), so a webhook exists if and only if the note or follow does, and
// survives a restart.
//
//	go run ./examples/fediserver -addr 127.0.0.1:3000 -allow-network 127.0.0.0/8
//
// Users alice (9alice), bob (9bob) and carol (9carol) exist from the
// start. Endpoints, all POST with JSON:
//
//	/api/i/webhooks/create       {"userId", "name", "url", "secret", "on": [...]}
//	/api/i/webhooks/list         {"userId"}
//	/api/notes/create            {"userId", "text", "replyId"?, "renoteId"?}  note, reply, renote, mention
//	/api/notes/reactions/create  {"userId", "noteId", "reaction"}            reaction
//	/api/following/create        {"followerId", "userId"}                    follow, followed
//	/api/following/delete        {"followerId", "userId"}                    unfollow
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "fediserver:", err)
		os.Exit(1)
	}
}

type allowList []webhook.AllowRule

func (a *allowList) String() string { return fmt.Sprint(*a) }
func (a *allowList) Set(s string) error {
	r, err := webhook.ParseAllowRule(s)
	if err != nil {
		return err
	}
	*a = append(*a, r)
	return nil
}

// run serves until ctx ends. ready, if not nil, receives the address
// listened on.
func run(ctx context.Context, args []string, ready chan<- string) error {
	fs := flag.NewFlagSet("fediserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "address to listen on")
	dbPath := fs.String("db", "fediserver.db", "SQLite database file")
	host := fs.String("host", "", "the server's host for X-Misskey-Host (default: the listen address)")
	var allow allowList
	fs.Var(&allow, "allow-network", "CIDR[:PORT] the private-network guard lets webhooks reach (repeatable), e.g. 127.0.0.0/8")
	if err := fs.Parse(args); err != nil {
		return err
	}

	dsn := "file:" + *dbPath + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		return fmt.Errorf("creating tables: %w", err)
	}
	store, err := sqlitestore.New(db, nil)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *host == "" {
		*host = ln.Addr().String()
	}
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: allow})
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := webhook.New(store, &webhook.Config{Host: *host, Transport: tr, Logger: logger,
		OnAttempt: func(r webhook.AttemptReport) {
			logger.Info("webhook attempt", "hook", r.Delivery.HookID, "type", r.Delivery.Type,
				"attempt", r.Attempt, "status", r.Status, "state", r.State, "err", r.Err)
		}})
	if err != nil {
		return err
	}
	// Not ctx: cancelling Start's context interrupts deliveries in flight,
	// and this server drains them through Shutdown below instead.
	if err := d.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	s := &server{db: db, store: store, d: d, host: *host}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("fediserver listening", "url", "http://"+ln.Addr().String(), "db", *dbPath,
		"allow", strings.Trim(allow.String(), "[]"))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if serveErr == nil {
		<-served
	}
	if err := d.Shutdown(shutCtx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
