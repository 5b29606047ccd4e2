package sqlitestore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/fedihook/webhook"
)

// TestMigrateUpgrade builds a database at schema version 1, as an older
// release left it, and checks that Migrate brings it to the latest
// version, keeping its data.
func TestMigrateUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "v1.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ms), 2)
	_, err = db.ExecContext(ctx, `CREATE TABLE webhook_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	require.NoError(t, err)
	for _, stmt := range ms[0].stmts {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_migrations VALUES (1, 'init', 0)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_hooks (id, user_id, name, events, url, secret, active)
		VALUES ('old', 'u', 'n', 'note,reply', 'https://r.example/', 's', 1)`)
	require.NoError(t, err)

	s, err := New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	var v int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT max(version) FROM webhook_migrations`).Scan(&v))
	require.Equal(t, len(ms), v)
	w, err := s.GetHook(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, "https://r.example/", w.URL)
	require.Len(t, w.On, 2)
	require.Empty(t, w.SigningSecret)
	require.False(t, w.Ordered, "webhooks from before version 4 are unordered")
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	got := splitStatements("-- a comment; with a semicolon\nCREATE TABLE a (\n\tx INTEGER -- trailing; comment\n);\n\nCREATE INDEX b ON a (x);\nSELECT 1")
	require.Equal(t, []string{"CREATE TABLE a (\nx INTEGER\n);", "CREATE INDEX b ON a (x);", "SELECT 1"}, got)

	got = splitStatements("CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n\tUPDATE b SET v = v + 1;\n\tUPDATE c SET v = 0;\nEND;\nDROP TABLE a;")
	require.Equal(t, []string{"CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\nUPDATE b SET v = v + 1;\nUPDATE c SET v = 0;\nEND;", "DROP TABLE a;"}, got)
}

// migrateFixture opens a new database through driver, loads
// testdata/NAME.sql into it (an older schema, populated), migrates it and
// checks that it is at the latest version.
func migrateFixture(t *testing.T, driver, name string) (*sql.DB, *Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open(driver, "file:"+filepath.Join(t.TempDir(), name+".db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	fixture, err := os.ReadFile("testdata/" + name + ".sql")
	require.NoError(t, err)
	for _, stmt := range splitStatements(string(fixture)) {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	s, err := New(db, &Config{Retention: time.Hour})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	ms, err := loadMigrations()
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT max(version) FROM webhook_migrations`).Scan(&v))
	require.Equal(t, len(ms), v)
	return db, s
}

// TestMigratePopulatedV4 migrates a populated database of schema version 4
// (testdata/v4.sql: the schema as that release left it, webhooks, pending,
// leased, held, delivered and failed deliveries, attempts) and checks
// that every webhook, delivery and attempt is still there and behaves:
// claims, ordering, leases, history and pruning.
func TestMigratePopulatedV4(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "sqlite3"} { // modernc, ncruces
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			testMigratePopulatedV4(t, driver)
		})
	}
}

func testMigratePopulatedV4(t *testing.T, driver string) {
	ctx := context.Background()
	db, s := migrateFixture(t, driver, "v4")

	T := time.Unix(0, 1741064767891000000).UTC()
	// Webhooks.
	alice, err := s.ListHooks(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, alice, 2)
	h1 := alice[0]
	require.Equal(t, "h1", h1.ID)
	require.Equal(t, []webhook.Event{webhook.EventNote, webhook.EventReply}, h1.On)
	require.Equal(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h1.SigningSecret)
	require.NotNil(t, h1.FailingSince)
	require.True(t, h1.FailingSince.Equal(T))
	require.Equal(t, 500, *h1.LatestStatus)
	require.True(t, alice[1].Ordered)
	bob, err := s.ListHooks(ctx, "bob")
	require.NoError(t, err)
	require.Len(t, bob, 1)
	require.False(t, bob[0].Active)
	match := func(user string, e webhook.Event) []string {
		hooks, err := s.MatchHooks(ctx, user, e)
		require.NoError(t, err)
		var ids []string
		for _, h := range hooks {
			ids = append(ids, h.ID)
		}
		return ids
	}
	require.Equal(t, []string{"h1", "h2"}, match("alice", webhook.EventNote))
	require.Equal(t, []string{"h1"}, match("alice", webhook.EventReply))
	require.Empty(t, match("bob", webhook.EventNote))

	// Deliveries, as they were.
	id := func(b byte) uuid.UUID {
		u := uuid.UUID{}
		for i := range u {
			u[i] = b<<4 | b
		}
		u[6], u[8] = 0x40|b, 0x80|b
		return u
	}
	requireFixtureDeliveries(t, s, id, []fixtureDelivery{
		{1, "h1", webhook.StatePending, 1, 500, `{"note":{"id":"n1"}}`},
		{2, "h2", webhook.StatePending, 0, 0, `{"note":{"id":"n1"}}`},
		{3, "h1", webhook.StateDelivered, 1, 204, `{"note":{"id":"n2"}}`},
		{4, "h1", webhook.StateFailed, 1, 410, `{"note":{"id":"n3"}}`},
		{5, "h2", webhook.StatePending, 0, 0, `{"note":{"id":"n4"}}`},
		{6, "h1", webhook.StatePending, 2, 503, `{"note":{"id":"n5"}}`},
	})
	attempts, err := s.ListAttempts(ctx, id(6))
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, 503, attempts[1].Status)
	attempts, err = s.ListAttempts(ctx, id(4))
	require.NoError(t, err)
	require.Equal(t, "gone", string(attempts[0].Response))
	page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: "h1"})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 4)
	require.Equal(t, id(6), page.Deliveries[0].ID, "newest first")

	// The queue: at T only d2, the ordered head, is claimable (d1 is due
	// at T+60s, d6 is leased until T+30s, d5 is held behind d2).
	claims, err := s.Claim(ctx, T, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	require.Equal(t, id(2), claims[0].Delivery.ID)
	require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: id(2), HookID: "h2", Lease: claims[0].Lease,
		State: webhook.StateDelivered, Attempt: webhook.Attempt{At: T, Status: 204}}}))
	claims, err = s.Claim(ctx, T, 10, time.Hour)
	require.NoError(t, err)
	require.Len(t, claims, 1, "d5 is the head now")
	require.Equal(t, id(5), claims[0].Delivery.ID)
	// The lease of d6, taken before the migration, still holds it; after
	// its expiry it is claimed with a newer lease.
	claims, err = s.Claim(ctx, T.Add(61*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 2)
	require.ElementsMatch(t, []uuid.UUID{id(1), id(6)}, []uuid.UUID{claims[0].Delivery.ID, claims[1].Delivery.ID})
	for _, c := range claims {
		if c.Delivery.ID == id(6) {
			require.Greater(t, c.Lease, int64(3))
		}
	}

	// Pruning: d2 (delivered at T), d3 and d4 go with their attempts and
	// the payloads nobody else uses; d1's payload, shared with d2, stays.
	n, err := s.Prune(ctx, T.Add(time.Hour+time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	var payloads []int64
	rows, err := db.QueryContext(ctx, `SELECT pk FROM webhook_payloads ORDER BY pk`)
	require.NoError(t, err)
	for rows.Next() {
		var pk int64
		require.NoError(t, rows.Scan(&pk))
		payloads = append(payloads, pk)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{1, 4, 5}, payloads)
	d, err := s.GetDelivery(ctx, id(1))
	require.NoError(t, err)
	require.JSONEq(t, `{"note":{"id":"n1"}}`, string(d.Body))
	var left int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_attempts`).Scan(&left))
	require.Equal(t, 3, left, "the attempts of d1 and d6")
}

// TestMigratePopulatedV5 migrates a database populated by the release
// of schema version 5 (testdata/v5.sql: its schema as SQLite keeps it,
// and webhooks, deliveries and attempts written by that release's code)
// and checks that every webhook, pending delivery and attempt is still
// there and behaves: listing (now from the bulk-listed index and the
// unlisted range), claims, leases, ordering, deletion and pruning.
func TestMigratePopulatedV5(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "sqlite3"} { // modernc, ncruces
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			testMigratePopulatedV5(t, driver)
		})
	}
}

func testMigratePopulatedV5(t *testing.T, driver string) {
	ctx := context.Background()
	db, s := migrateFixture(t, driver, "v5")

	T := time.Unix(0, 1741064767891000000).UTC()
	// Webhooks.
	alice, err := s.ListHooks(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, alice, 2)
	h1 := alice[0]
	require.Equal(t, "h1", h1.ID)
	require.Equal(t, []webhook.Event{webhook.EventNote, webhook.EventReply}, h1.On)
	require.Equal(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h1.SigningSecret)
	require.NotNil(t, h1.FailingSince)
	require.True(t, h1.FailingSince.Equal(T))
	require.True(t, alice[1].Ordered)
	bob, err := s.ListHooks(ctx, "bob")
	require.NoError(t, err)
	require.Len(t, bob, 1)
	require.False(t, bob[0].Active)
	hooks, err := s.MatchHooks(ctx, "alice", webhook.EventReply)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, "h1", hooks[0].ID)

	// Deliveries, as they were.
	id := func(b byte) uuid.UUID {
		u := uuid.UUID{}
		for i := range u {
			u[i] = b<<4 | (b & 0xf)
		}
		u[0] = b
		u[6], u[8] = 0x40|(b&0xf), 0x80|(b&0xf)
		return u
	}
	requireFixtureDeliveries(t, s, id, []fixtureDelivery{
		{1, "h1", webhook.StatePending, 1, 500, `{"note":{"id":"n1"}}`},
		{2, "h2", webhook.StatePending, 0, 0, `{"note":{"id":"n1"}}`},
		{3, "h1", webhook.StateDelivered, 1, 204, `{"note":{"id":"n2"}}`},
		{4, "h1", webhook.StateFailed, 1, 410, `{"note":{"id":"n3"}}`},
		{5, "h2", webhook.StatePending, 0, 0, `{"note":{"id":"n4"}}`},
		{6, "h1", webhook.StatePending, 2, 503, `{"note":{"id":"n5"}}`},
		{0x20, "h1", webhook.StatePending, 0, 0, `{"note":{"id":"m0"}}`},
		{0x33, "h1", webhook.StatePending, 0, 0, `{"note":{"id":"m19"}}`},
	})
	attempts, err := s.ListAttempts(ctx, id(6))
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, "busy", string(attempts[1].Response))
	attempts, err = s.ListAttempts(ctx, id(4))
	require.NoError(t, err)
	require.Equal(t, "gone", string(attempts[0].Response))

	// The listing: h1's 24, newest first, in pages, also after a new
	// delivery is enqueued unlisted.
	list := func(hook string, state webhook.State) []uuid.UUID {
		var ids []uuid.UUID
		q := webhook.DeliveryQuery{HookID: hook, State: state, Limit: 5}
		for {
			page, err := s.ListDeliveries(ctx, q)
			require.NoError(t, err)
			for _, d := range page.Deliveries {
				ids = append(ids, d.ID)
			}
			if page.Next == "" {
				return ids
			}
			q.Cursor = page.Next
		}
	}
	var want []uuid.UUID
	for n := byte(0x33); n >= 0x20; n-- {
		want = append(want, id(n))
	}
	want = append(want, id(6), id(4), id(3), id(1))
	require.Equal(t, want, list("h1", 0))
	require.Equal(t, []uuid.UUID{id(4)}, list("h1", webhook.StateFailed))
	require.Equal(t, []uuid.UUID{id(5), id(2)}, list("h2", 0))
	d7 := &webhook.Delivery{ID: id(7), HookID: "h1", UserID: "alice", Type: webhook.EventNote, Server: "https://example.tld",
		CreatedAt: T.Add(time.Second), Body: []byte(`{}`), State: webhook.StatePending, NextAttemptAt: T.Add(time.Hour)}
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d7}))
	require.Equal(t, append([]uuid.UUID{id(7)}, want...), list("h1", 0))

	// The queue: at T, d2 (the ordered head) and d32..d51 are claimable;
	// d1 is due at T+60s, d6 is leased until T+30s, d5 is held behind d2.
	claims, err := s.Claim(ctx, T, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 21)
	var rs []webhook.Result
	for _, c := range claims {
		rs = append(rs, webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
			State: webhook.StateDelivered, Attempt: webhook.Attempt{At: T, Status: 204}})
	}
	require.NoError(t, s.Settle(ctx, rs))
	claims, err = s.Claim(ctx, T, 10, time.Hour)
	require.NoError(t, err)
	require.Len(t, claims, 1, "d5 is the head now")
	require.Equal(t, id(5), claims[0].Delivery.ID)
	// The lease of d6, taken before the migration, still holds it; after
	// its expiry it is claimed with a newer lease, and settles.
	claims, err = s.Claim(ctx, T.Add(61*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 2)
	require.ElementsMatch(t, []uuid.UUID{id(1), id(6)}, []uuid.UUID{claims[0].Delivery.ID, claims[1].Delivery.ID})
	rs = rs[:0]
	for _, c := range claims {
		rs = append(rs, webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease,
			State: webhook.StateDelivered, Attempt: webhook.Attempt{At: T.Add(61 * time.Second), Status: 204}})
	}
	require.NoError(t, s.Settle(ctx, rs))
	attempts, err = s.ListAttempts(ctx, id(6))
	require.NoError(t, err)
	require.Len(t, attempts, 3)
	require.Equal(t, 204, attempts[2].Status)

	// Deleting h2 takes d2 and d5; pruning takes what finished an hour
	// before, with its attempts and unused payloads.
	require.NoError(t, s.DeleteHook(ctx, "h2"))
	_, err = s.GetDelivery(ctx, id(5))
	require.ErrorIs(t, err, webhook.ErrNotFound)
	n, err := s.Prune(ctx, T.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(24), n, "d1, d3, d4, d6 and d32..d51")
	require.Equal(t, []uuid.UUID{id(7)}, list("h1", 0))
	var payloads, left int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_payloads`).Scan(&payloads))
	require.Equal(t, 1, payloads, "d7's")
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_attempts`).Scan(&left))
	require.Zero(t, left)

	// Version 7 rebuilt webhook_deliveries: the rows from before have no
	// seq, and are found by their eventIds (above); what is enqueued now
	// has minted eventIds, with a seq, and is found by them too.
	var ok string
	require.NoError(t, db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok))
	require.Equal(t, "ok", ok)
	var withSeq int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE seq IS NOT NULL`).Scan(&withSeq))
	require.Zero(t, withSeq)
	minted := make([]uuid.UUID, 2)
	s.MintEventIDs(minted)
	for _, m := range minted {
		require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{{ID: m, HookID: "h1", UserID: "alice", Type: webhook.EventNote,
			Server: "https://s.example", CreatedAt: T, NextAttemptAt: T, Body: []byte(`{}`)}}))
		d, err := s.GetDelivery(ctx, m)
		require.NoError(t, err)
		require.Equal(t, m, d.ID)
	}
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE seq IS NOT NULL`).Scan(&withSeq))
	require.Equal(t, 2, withSeq)
	listed := list("h1", 0)
	require.Len(t, listed, 3)
	require.Equal(t, id(7), listed[0], "d7 is the newest")
	require.ElementsMatch(t, minted, listed[1:])
}

// A fixtureDelivery is what a migrated fixture's delivery n must read as.
type fixtureDelivery struct {
	n        byte
	hook     string
	state    webhook.State
	attempts int
	status   int
	body     string
}

// requireFixtureDeliveries checks each delivery of want, by its ID id(n).
func requireFixtureDeliveries(t *testing.T, s *Store, id func(byte) uuid.UUID, want []fixtureDelivery) {
	t.Helper()
	for _, c := range want {
		d, err := s.GetDelivery(context.Background(), id(c.n))
		require.NoError(t, err, "d%d", c.n)
		require.Equal(t, c.hook, d.HookID, "d%d", c.n)
		require.Equal(t, c.state, d.State, "d%d", c.n)
		require.Equal(t, c.attempts, d.Attempts, "d%d", c.n)
		require.Equal(t, c.status, d.LastStatus, "d%d", c.n)
		require.JSONEq(t, c.body, string(d.Body), "d%d", c.n)
	}
}
