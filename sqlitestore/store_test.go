package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
	"github.com/fedihook/webhook/storetest"
)

// TestConformance runs every tier of the suite, on each driver: the core
// contract and the optional abilities, the two-handle cases on two
// Stores, each on its own *sql.DB, over one database file (as two
// processes would), and the transactional outbox through InTx.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driverLabel(driver), func(t *testing.T) {
			t.Parallel()
			storetest.RunHarness(t, storetest.Harness{
				New: func(t *testing.T) webhook.Store {
					s, _ := newStoreWith(t, driver, nil)
					return s
				},
				Pair: func(t *testing.T) (a, b webhook.Store) {
					s, path := newStoreWith(t, driver, nil)
					return s, openStoreWith(t, driver, path, nil)
				},
				Begin: func(t *testing.T, s webhook.Store) (webhook.Outbox, func() error, func() error) {
					st := s.(*sqlitestore.Store)
					db, ok := dbOf.Load(st)
					require.True(t, ok)
					tx, err := db.(*sql.DB).BeginTx(context.Background(), nil)
					require.NoError(t, err)
					return st.InTx(tx), tx.Commit, tx.Rollback
				},
			})
		})
	}
}

func TestConformanceOperations(t *testing.T) {
	t.Parallel()
	storetest.RunOperations(t, func(t *testing.T) webhook.Store {
		s, _ := newStore(t, nil)
		return s
	})
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

var hookSeq struct {
	sync.Mutex
	n int
}

func createHook(t testing.TB, s webhook.HookStore, userID string, on ...webhook.Event) *webhook.Webhook {
	t.Helper()
	hookSeq.Lock()
	hookSeq.n++
	n := hookSeq.n
	hookSeq.Unlock()
	if len(on) == 0 {
		on = []webhook.Event{webhook.EventNote}
	}
	w := &webhook.Webhook{
		ID: fmt.Sprintf("h%07d", n), UserID: userID, Name: "hook", On: on,
		URL: "https://receiver.example/" + userID, Secret: "s3cret", Active: true,
	}
	require.NoError(t, s.CreateHook(context.Background(), w, 0))
	return w
}

func delivery(w *webhook.Webhook, due time.Time, body []byte) *webhook.Delivery {
	return &webhook.Delivery{
		ID: uuid.New(), HookID: w.ID, UserID: w.UserID, Type: w.On[0], Server: "https://example.tld",
		CreatedAt: t0, Body: body, State: webhook.StatePending, NextAttemptAt: due,
	}
}

func claimAll(t testing.TB, s webhook.Queue, now time.Time) []webhook.Claim {
	t.Helper()
	cs, err := s.Claim(context.Background(), now, 1000, time.Minute)
	require.NoError(t, err)
	return cs
}

func settleAll(t testing.TB, s webhook.Queue, cs []webhook.Claim, st webhook.State, at time.Time) {
	t.Helper()
	rs := make([]webhook.Result, len(cs))
	for i, c := range cs {
		rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, State: st,
			Attempt: webhook.Attempt{At: at, Status: 200}}
	}
	require.NoError(t, s.Settle(context.Background(), rs))
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	for _, tc := range []struct {
		cfg  *sqlitestore.Config
		want string
	}{
		{nil, ""},
		{&sqlitestore.Config{}, ""},
		{&sqlitestore.Config{Retention: time.Hour, PruneBatch: 10}, ""},
		{&sqlitestore.Config{Retention: -time.Second}, "sqlitestore: Config.Retention must be > 0, got -1s"},
		{&sqlitestore.Config{PruneBatch: -1}, "sqlitestore: Config.PruneBatch must be >= 1, got -1"},
	} {
		s, err := sqlitestore.New(db, tc.cfg)
		if tc.want == "" {
			require.NoError(t, err)
			require.NotNil(t, s)
			continue
		}
		require.EqualError(t, err, tc.want)
		require.ErrorIs(t, err, webhook.ErrInvalid)
	}
	_, err := sqlitestore.New(nil, nil)
	require.Error(t, err)
}

// TestWriterPragmas checks that the connection the Store writes on gets
// Config.CheckpointPages and Config.CacheKiB, their defaults when unset,
// and is left alone when they are negative.
func TestWriterPragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name              string
		cfg               *sqlitestore.Config
		checkpoint, cache int
	}{
		{"defaults", nil, sqlitestore.DefaultCheckpointPages, -sqlitestore.DefaultCacheKiB},
		{"set", &sqlitestore.Config{CheckpointPages: 123, CacheKiB: 4567}, 123, -4567},
		{"left alone", &sqlitestore.Config{CheckpointPages: -1, CacheKiB: -1}, 1000, -2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, filepath.Join(t.TempDir(), "p.db"))
			// One connection: the one the Store wrote on is the one read.
			db.SetMaxOpenConns(1)
			s, err := sqlitestore.New(db, tc.cfg)
			require.NoError(t, err)
			require.NoError(t, s.Migrate(ctx))
			createHook(t, s, "u", webhook.EventNote)
			var checkpoint, cache int
			require.NoError(t, db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&checkpoint))
			require.NoError(t, db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache))
			require.Equal(t, tc.checkpoint, checkpoint)
			require.Equal(t, tc.cache, cache)
		})
	}
}

// TestWriterPragmasOncePerConnection checks that the pragmas run once on
// a connection, not each time the Store takes it to write again: a
// setting the application changed since stays.
func TestWriterPragmasOncePerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "p.db"))
	db.SetMaxOpenConns(1)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	createHook(t, s, "u", webhook.EventNote)
	_, err = db.ExecContext(ctx, "PRAGMA cache_size = -100")
	require.NoError(t, err)
	createHook(t, s, "v", webhook.EventNote)
	var cache int
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache))
	require.Equal(t, -100, cache)
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	w := createHook(t, s, "u")
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{delivery(w, t0, []byte(`{}`))}))

	versions := func() []int {
		rows, err := db.QueryContext(ctx, `SELECT version FROM webhook_migrations ORDER BY version`)
		require.NoError(t, err)
		defer rows.Close()
		var vs []int
		for rows.Next() {
			var v int
			require.NoError(t, rows.Scan(&v))
			vs = append(vs, v)
		}
		require.NoError(t, rows.Err())
		return vs
	}
	first := versions()
	require.NotEmpty(t, first)
	require.Equal(t, 1, first[0])

	// Again, and from a second Store on another handle, concurrently.
	other, err := sqlitestore.New(openDB(t, path), nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = s.Migrate(ctx) })
	wg.Go(func() { errs[1] = other.Migrate(ctx) })
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, first, versions(), "no version applied twice")

	// The data survived.
	got, err := other.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, w.URL, got.URL)
	require.Len(t, claimAll(t, other, t0), 1)

	// A database from the future is refused.
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_migrations (version, name, applied_at) VALUES (999, 'future', 0)`)
	require.NoError(t, err)
	require.ErrorContains(t, s.Migrate(ctx), "newer")
}

func TestOutboxCommitRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "o.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	_, err = db.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT)`)
	require.NoError(t, err)
	a := createHook(t, s, "alice", webhook.EventNote)
	b := createHook(t, s, "alice", webhook.EventNote, webhook.EventReply)
	createHook(t, s, "bob", webhook.EventNote)

	// emit writes a note and its deliveries in one transaction.
	emit := func(noteID string, commit bool) []uuid.UUID {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO notes VALUES (?, 'hi')`, noteID)
		require.NoError(t, err)
		var out webhook.Outbox = s.InTx(tx)
		hooks, err := out.MatchHooks(ctx, "alice", webhook.EventNote)
		require.NoError(t, err)
		require.Len(t, hooks, 2)
		body := []byte(`{"note":{"id":"` + noteID + `"}}`)
		var ds []*webhook.Delivery
		var ids []uuid.UUID
		for _, h := range hooks {
			d := delivery(h, t0, body)
			ds = append(ds, d)
			ids = append(ids, d.ID)
		}
		require.NoError(t, out.Enqueue(ctx, ds))
		if commit {
			require.NoError(t, tx.Commit())
		} else {
			require.NoError(t, tx.Rollback())
		}
		return ids
	}

	rolledBack := emit("n1", false)
	require.Empty(t, claimAll(t, s, t0.Add(time.Hour)), "a rolled-back emit enqueues nothing")
	for _, id := range rolledBack {
		_, err := s.GetDelivery(ctx, id)
		require.ErrorIs(t, err, webhook.ErrNotFound)
	}

	committed := emit("n2", true)
	cs := claimAll(t, s, t0.Add(time.Hour))
	require.Len(t, cs, 2)
	got := []uuid.UUID{cs[0].Delivery.ID, cs[1].Delivery.ID}
	require.ElementsMatch(t, committed, got)
	require.ElementsMatch(t, []string{a.ID, b.ID}, []string{cs[0].Hook.ID, cs[1].Hook.ID})
	require.Equal(t, `{"note":{"id":"n2"}}`, string(cs[0].Delivery.Body))
	var notes int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&notes))
	require.Equal(t, 1, notes)
}

func TestOutboxEnqueueAllOrNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "o.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	w := createHook(t, s, "u")

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	out := s.InTx(tx)
	kept := delivery(w, t0, []byte(`{"kept":1}`))
	require.NoError(t, out.Enqueue(ctx, []*webhook.Delivery{kept}))
	good := delivery(w, t0, []byte(`{}`))
	bad := delivery(&webhook.Webhook{ID: "missing", On: w.On}, t0, []byte(`{}`))
	require.ErrorIs(t, out.Enqueue(ctx, []*webhook.Delivery{good, bad}), webhook.ErrNotFound)
	require.ErrorIs(t, out.Enqueue(ctx, []*webhook.Delivery{delivery(w, t0, nil), kept}), webhook.ErrConflict)
	// The failed calls left nothing behind; the caller's transaction
	// carries on and commits what succeeded.
	require.NoError(t, tx.Commit())
	cs := claimAll(t, s, t0)
	require.Len(t, cs, 1)
	require.Equal(t, kept.ID, cs[0].Delivery.ID)
	var payloads int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_payloads`).Scan(&payloads))
	require.Equal(t, 1, payloads)
}

func TestEnqueueConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := createHook(t, s, "u")
	d := delivery(w, t0, []byte(`{}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{d}))
	fresh := delivery(w, t0, []byte(`{}`))
	require.ErrorIs(t, s.Enqueue(ctx, []*webhook.Delivery{fresh, d}), webhook.ErrConflict)
	_, err := s.GetDelivery(ctx, fresh.ID)
	require.ErrorIs(t, err, webhook.ErrNotFound, "all or none")
}

func TestBodyStoredOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	w1, w2, w3 := createHook(t, s, "u"), createHook(t, s, "u"), createHook(t, s, "u")
	shared := []byte(`{"note":{"id":"1"}}`)
	other := []byte(`{"note":{"id":"1"}}`) // equal, but not shared
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{
		delivery(w1, t0, shared), delivery(w2, t0, shared), delivery(w3, t0, other),
		delivery(w1, t0, shared[:5]), // same start, other length
		delivery(w2, t0, nil), delivery(w3, t0, []byte{}),
	}))
	count := func() int {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_payloads`).Scan(&n))
		return n
	}
	require.Equal(t, 5, count())
	bodies := map[string]int{}
	for _, c := range claimAll(t, s, t0) {
		bodies[string(c.Delivery.Body)]++
	}
	require.Equal(t, map[string]int{string(shared): 3, `{"not`: 1, "": 2}, bodies)

	// Deleting a webhook frees only the payloads nobody else uses.
	require.NoError(t, s.DeleteHook(ctx, w1.ID))
	require.Equal(t, 4, count())
	require.NoError(t, s.DeleteHook(ctx, w2.ID))
	require.Equal(t, 2, count())
}

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, &sqlitestore.Config{Retention: time.Hour, PruneBatch: 3})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	w := createHook(t, s, "u")

	body := []byte(`{}`)
	var delivered, failed, pending []*webhook.Delivery
	for range 5 {
		delivered = append(delivered, delivery(w, t0, body))
		failed = append(failed, delivery(w, t0, body))
		pending = append(pending, delivery(w, t0.Add(24*time.Hour), body))
	}
	recent := delivery(w, t0, []byte(`{"recent":1}`))
	enq := append(append(append([]*webhook.Delivery{}, delivered...), failed...), pending...)
	require.NoError(t, s.Enqueue(ctx, enq))
	cs := claimAll(t, s, t0)
	require.Len(t, cs, 10)
	rs := make([]webhook.Result, len(cs))
	isFailed := map[uuid.UUID]bool{}
	for _, d := range failed {
		isFailed[d.ID] = true
	}
	for i, c := range cs {
		rs[i] = webhook.Result{ID: c.Delivery.ID, HookID: w.ID, Lease: c.Lease, State: webhook.StateDelivered,
			Attempt: webhook.Attempt{At: t0, Status: 200}}
		if isFailed[c.Delivery.ID] {
			rs[i].State, rs[i].Attempt.Status, rs[i].Attempt.Error = webhook.StateFailed, 410, "status 410"
		}
	}
	require.NoError(t, s.Settle(ctx, rs))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{recent}))
	settleAll(t, s, claimAll(t, s, t0.Add(30*time.Minute)), webhook.StateDelivered, t0.Add(30*time.Minute))

	// Within the retention nothing goes; a failed delivery keeps its error.
	n, err := s.Prune(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	got, err := s.GetDelivery(ctx, failed[0].ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, got.State)
	require.Equal(t, "status 410", got.LastError)

	// Past it, delivered and failed go (in batches of 3), pending stay.
	n, err = s.Prune(ctx, t0.Add(time.Hour+time.Millisecond))
	require.NoError(t, err)
	require.EqualValues(t, 10, n)
	for _, d := range append(delivered, failed...) {
		_, err := s.GetDelivery(ctx, d.ID)
		require.ErrorIs(t, err, webhook.ErrNotFound)
	}
	for _, d := range append(pending, recent) {
		_, err := s.GetDelivery(ctx, d.ID)
		require.NoError(t, err)
	}
	// The shared payload is still used by the pending deliveries.
	var payloads int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_payloads`).Scan(&payloads))
	require.Equal(t, 2, payloads)

	n, err = s.Prune(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_payloads`).Scan(&payloads))
	require.Equal(t, 1, payloads)
}

// TestLeaseExpiryAfterCrash claims, drops the database handle as a
// crashed process would, and reopens: the delivery is claimable again once
// its lease has expired, and the dead claim's result is refused. (The
// storetest shared cases check the same with both handles open.)
func TestLeaseExpiryAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	db1, err := sql.Open("sqlite", dsn(path))
	require.NoError(t, err)
	s1, err := sqlitestore.New(db1, nil)
	require.NoError(t, err)
	require.NoError(t, s1.Migrate(ctx))
	w := createHook(t, s1, "u")
	d := delivery(w, t0, []byte(`{"crash":true}`))
	require.NoError(t, s1.Enqueue(ctx, []*webhook.Delivery{d}))
	first, err := s1.Claim(ctx, t0, 10, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.NoError(t, db1.Close()) // the "crash": the claim is never settled

	s2 := openStore(t, path, nil)
	cs, err := s2.Claim(ctx, t0.Add(30*time.Second-time.Millisecond), 10, 30*time.Second)
	require.NoError(t, err)
	require.Empty(t, cs, "the dead claim's lease still holds")
	second, err := s2.Claim(ctx, t0.Add(30*time.Second), 10, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, second, 1)
	require.Equal(t, d.ID, second[0].Delivery.ID)
	require.Equal(t, `{"crash":true}`, string(second[0].Delivery.Body))
	require.NotEqual(t, first[0].Lease, second[0].Lease)

	err = s2.Settle(ctx, []webhook.Result{{ID: d.ID, HookID: w.ID, Lease: first[0].Lease, State: webhook.StateDelivered}})
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
	settleAll(t, s2, second, webhook.StateDelivered, t0.Add(31*time.Second))
	got, err := s2.GetDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateDelivered, got.State)
	require.Equal(t, 1, got.Attempts)
	// Settling the same claim twice is refused too.
	err = s2.Settle(ctx, []webhook.Result{{ID: d.ID, HookID: w.ID, Lease: second[0].Lease, State: webhook.StateDelivered}})
	require.ErrorIs(t, err, webhook.ErrLeaseLost)
}

// TestStoreNeverClosesDB checks that the handle stays usable.
func TestStoreNeverClosesDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "c.db"))
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	createHook(t, s, "u")
	_, err = s.Prune(ctx, t0)
	require.NoError(t, err)
	require.NoError(t, db.PingContext(ctx))
}

// TestContextCanceled checks that a canceled write leaves no transaction
// open on a pooled connection.
func TestContextCanceled(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, nil)
	w := createHook(t, s, "u")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.Enqueue(ctx, []*webhook.Delivery{delivery(w, t0, []byte(`{}`))}), context.Canceled)
	_, err := s.Claim(ctx, t0, 1, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	// The store still works.
	require.NoError(t, s.Enqueue(context.Background(), []*webhook.Delivery{delivery(w, t0, []byte(`{}`))}))
	require.Len(t, claimAll(t, s, t0), 1)
}

// TestSigningSecrets checks that the Standard Webhooks secrets round-trip
// through every read and are replaced by UpdateHook (the storetest suite
// does not cover them yet).
func TestSigningSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	w := &webhook.Webhook{ID: "signed", UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote},
		URL: "https://r.example/", Secret: "plain", Active: true, SigningSecret: webhook.NewSigningSecret(),
		PreviousSigningSecrets: []webhook.PreviousSecret{
			{Secret: webhook.NewSigningSecret(), Expires: t0.Add(time.Hour + 123*time.Nanosecond)},
			{Secret: webhook.NewSigningSecret(), Expires: t0.Add(2 * time.Hour)},
		}}
	require.NoError(t, s.CreateHook(ctx, w, 0))
	check := func(got *webhook.Webhook, want *webhook.Webhook) {
		t.Helper()
		require.Equal(t, want.SigningSecret, got.SigningSecret)
		require.Len(t, got.PreviousSigningSecrets, len(want.PreviousSigningSecrets))
		for i, p := range want.PreviousSigningSecrets {
			require.Equal(t, p.Secret, got.PreviousSigningSecrets[i].Secret)
			require.True(t, p.Expires.Equal(got.PreviousSigningSecrets[i].Expires))
		}
	}
	got, err := s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	check(got, w)
	m, err := s.MatchHooks(ctx, "u", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, m, 1)
	check(m[0], w)
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{delivery(w, t0, []byte(`{}`))}))
	cs := claimAll(t, s, t0)
	require.Len(t, cs, 1)
	check(cs[0].Hook, w)

	up := w.Clone()
	up.SigningSecret, up.PreviousSigningSecrets = "", nil
	require.NoError(t, s.UpdateHook(ctx, up))
	got, err = s.GetHook(ctx, w.ID)
	require.NoError(t, err)
	require.Empty(t, got.SigningSecret)
	require.Nil(t, got.PreviousSigningSecrets)
}

// TestTx runs application transactions through Store.Tx, concurrently
// with the Store's own writes: those whose function fails leave nothing,
// the others commit their rows and their deliveries together.
func TestTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tx.db")
	db := openDB(t, path)
	s, err := sqlitestore.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	_, err = db.ExecContext(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY)`)
	require.NoError(t, err)
	w := createHook(t, s, "u")

	const n = 60
	errBoom := errors.New("boom")
	ids := make([]uuid.UUID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
				if _, err := q.ExecContext(ctx, `INSERT INTO notes (id) VALUES (?)`, i); err != nil {
					return err
				}
				hooks, err := o.MatchHooks(ctx, "u", webhook.EventNote)
				if err != nil {
					return err
				}
				d := delivery(hooks[0], t0, []byte(fmt.Sprintf(`{"n":%d}`, i)))
				ids[i] = d.ID
				if err := o.Enqueue(ctx, []*webhook.Delivery{d}); err != nil {
					return err
				}
				if i%3 == 0 {
					return errBoom
				}
				return nil
			})
		})
		// The Store's own writes, meanwhile.
		wg.Go(func() {
			if err := s.Enqueue(ctx, []*webhook.Delivery{delivery(w, t0.Add(time.Hour), []byte(`{}`))}); err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%3 == 0 {
			require.ErrorIs(t, err, errBoom)
			continue
		}
		require.NoError(t, err)
	}
	var notes int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&notes))
	require.Equal(t, n-n/3, notes)
	for i, id := range ids {
		_, err := s.GetDelivery(ctx, id)
		if i%3 == 0 {
			require.ErrorIs(t, err, webhook.ErrNotFound, "rolled back with its transaction")
		} else {
			require.NoError(t, err)
		}
	}
	require.Len(t, claimAll(t, s, t0), n-n/3)
}

// TestListen checks that committed Enqueues and Store.Tx transactions that
// enqueued wake the listeners, and that failed ones do not.
func TestListen(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, nil)
	w := createHook(t, s, "u")
	var wakes atomic.Int64
	registered := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan error, 1)
	go func() {
		listening <- s.Listen(ctx, func() {
			wakes.Add(1)
			once.Do(func() { close(registered) })
		})
	}()
	enqueue := func() error {
		return s.Enqueue(context.Background(), []*webhook.Delivery{delivery(w, t0, []byte(`{}`))})
	}
	// Listen wakes once as soon as it is registered, for what it missed.
	<-registered
	wakes.Store(0)

	require.NoError(t, enqueue())
	require.EqualValues(t, 1, wakes.Load())
	bad := delivery(&webhook.Webhook{ID: "missing", On: w.On}, t0, []byte(`{}`))
	require.Error(t, s.Enqueue(context.Background(), []*webhook.Delivery{bad}))
	require.EqualValues(t, 1, wakes.Load(), "a failed Enqueue wakes nobody")
	require.NoError(t, s.Tx(context.Background(), func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
		return o.Enqueue(context.Background(), []*webhook.Delivery{delivery(w, t0, []byte(`{}`))})
	}))
	require.EqualValues(t, 2, wakes.Load())
	require.Error(t, s.Tx(context.Background(), func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error {
		if err := o.Enqueue(context.Background(), []*webhook.Delivery{delivery(w, t0, []byte(`{}`))}); err != nil {
			return err
		}
		return errors.New("changed my mind")
	}))
	require.NoError(t, s.Tx(context.Background(), func(q sqlitestore.Querier, o *sqlitestore.TxOutbox) error { return nil }))
	require.EqualValues(t, 2, wakes.Load(), "a rolled-back Tx, or one that enqueued nothing, wakes nobody")

	// An EnqueueAndClaim wakes the listeners only when it leaves a
	// delivery for them to claim.
	w2 := createHook(t, s, "u")
	emission := func() *webhook.Emission {
		return &webhook.Emission{Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0, NextAttemptAt: t0,
			Body: []byte(`{}`), Hooks: []*webhook.Webhook{w, w2}, IDs: []uuid.UUID{uuid.New(), uuid.New()}}
	}
	cs, err := s.EnqueueAndClaim(context.Background(), emission(), t0, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.EqualValues(t, 2, wakes.Load(), "every delivery claimed: nobody to wake")
	cs, err = s.EnqueueAndClaim(context.Background(), emission(), t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.EqualValues(t, 3, wakes.Load(), "a delivery left to claim")

	cancel()
	require.NoError(t, <-listening)
}
