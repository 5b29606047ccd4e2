// Command fediserver is a small fediverse-style HTTP server that emits
// Misskey-compatible webhooks with fedihook: users post notes and follow
// each other, everything is stored in SQLite, and each change enqueues
// its webhooks in the same database transaction (the transactional
// outbox), so a webhook exists if and only if the note or follow does, and
// survives a restart. It speaks Misskey's API: misskey-js and scripts
// written for Misskey manage its webhooks unchanged (misskeyapi), and
// receivers find meta and users/show when they call back.
//
//	go run ./examples/fediserver -addr 127.0.0.1:3000 -allow-network 127.0.0.0/8 \
//		-user alice:tok-alice -admin root:tok-root
//
// Users alice (9alice), bob (9bob) and carol (9carol) exist from the
// start; -user NAME:TOKEN and -admin NAME:TOKEN (repeatable) give a user
// (created as 9NAME if new) a sign-in token, which requests carry as
// Misskey's do: "i" in the JSON body or "Authorization: Bearer TOKEN".
// Endpoints, all POST with JSON, as Misskey's:
//
//	/api/i/webhooks/{create,list,show,update,delete,test}  the caller's webhooks
//	/api/admin/system-webhook/{create,list,show,update,delete,test}  (-admin only)
//	/api/notes/create            {i, text?, replyId?, renoteId?}  note, reply, renote, mention
//	/api/notes/reactions/create  {i, noteId, reaction}           reaction
//	/api/following/create        {i, userId}                     follow, followed
//	/api/following/delete        {i, userId}                     unfollow
//	/api/meta, /api/users/show   what receivers call back
//
// In a browser, /settings/webhooks is the page to manage, test and debug
// webhooks (the webui module): sign in at /login with one of the tokens.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskeyapi"
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

// misskeyVersion is the Misskey version meta reports: the one whose API
// (as misskey-js 2026.5.1 types it) the server follows.
const misskeyVersion = "2026.5.1"

// run serves until ctx ends. ready, if not nil, receives the address
// listened on.
func run(ctx context.Context, args []string, ready chan<- string) error {
	fs := flag.NewFlagSet("fediserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "address to listen on")
	dbPath := fs.String("db", "fediserver.db", "SQLite database file")
	host := fs.String("host", "", "the server's host for X-Misskey-Host (default: the listen address)")
	origin := fs.String("origin", "", `the server's origin, the payload's "server" that receivers call back (default: http:// and the listen address, or https:// and -host)`)
	maxHooks := fs.Int("max-webhooks", 3, "webhooks a user may have (Misskey's webhookLimit; 0: no limit)")
	var allow allowList
	fs.Var(&allow, "allow-network", "CIDR[:PORT] the private-network guard lets webhooks reach (repeatable), e.g. 127.0.0.0/8")
	signins := newSignIns()
	fs.Var(signInFlag{s: signins}, "user", "NAME:TOKEN: user NAME (ID 9NAME, created if new) signs in with TOKEN (repeatable)")
	fs.Var(signInFlag{s: signins, admin: true}, "admin", "NAME:TOKEN: as -user, and NAME is an administrator (system webhooks)")
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
	if err := signins.ensureUsers(ctx, db); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *origin == "" {
		if *host == "" {
			*origin = "http://" + ln.Addr().String()
		} else {
			*origin = "https://" + *host
		}
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
	d, err := webhook.New(store, &webhook.Config{Host: *host, Origin: *origin, Transport: tr, Logger: logger,
		MaxWebhooksPerUser: *maxHooks,
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
	s := &server{db: db, store: store, d: d, host: *host, sessions: newSessions(signins)}
	if s.settings, err = s.newSettings(); err != nil {
		return err
	}
	policies := misskeyapi.DefaultRolePolicies()
	policies.WebhookLimit = *maxHooks
	if *maxHooks == 0 {
		policies.WebhookLimit = math.MaxInt32
	}
	name := "fediserver"
	s.api, err = misskeyapi.New(d, &misskeyapi.Config{
		Authenticate: signins.Authenticate,
		Meta:         &misskeyapi.Meta{URI: *origin, Version: misskeyVersion, Name: &name, Policies: policies},
		LookupUser:   s.lookupUser,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("fediserver listening", "url", "http://"+ln.Addr().String(), "origin", *origin, "db", *dbPath,
		"allow", strings.Trim(allow.String(), "[]"), "users", signins.usernames())
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
